"""Paged lists: keyset pages of an organization's exposures, systems and components (``core.paging``)."""
