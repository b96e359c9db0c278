"""Paged lists (keyset pagination, ``core.paging``): what the API, the dashboard and the CLI page through."""
