"""PyPI's JSON API: ``GET /pypi/{project}/{version}/json``; the release time is the earliest
``upload_time_iso_8601`` of the version's files (``urls``). A version without files has no time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.registries.interface import ReleaseTimeSource, segment, timestamp


class PyPI(ReleaseTimeSource):
    ecosystem = "PyPI"
    name = "pypi"
    default_url = "https://pypi.org"

    def url(self, base: str, name: str, version: str) -> str:
        return f"{base}/pypi/{segment(name)}/{segment(version)}/json"

    def parse(self, document: Any, name: str, version: str) -> tuple[bool, datetime | None]:
        files = document["urls"]
        if not isinstance(files, list):
            raise ValueError("urls is not a list")
        times = [timestamp(f["upload_time_iso_8601"], "urls[].upload_time_iso_8601") for f in files]
        return True, min(times) if times else None


SOURCE = PyPI()
