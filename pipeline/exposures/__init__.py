"""Exposure use-cases: building stored exposure intervals (``build``) and reporting them (``reports``)."""
