"""API tables (API keys, upload jobs): filled in by the REST API work."""

from __future__ import annotations
