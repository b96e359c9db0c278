"""RubyGems.org: ``GET /api/v1/versions/{gem}.json`` lists every version (one entry per platform) with
its ``created_at``; the release time is the earliest entry whose ``number`` is the version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.registries.interface import ReleaseTimeSource, segment, timestamp


class RubyGems(ReleaseTimeSource):
    ecosystem = "RubyGems"
    name = "rubygems"
    default_url = "https://rubygems.org"

    def url(self, base: str, name: str, version: str) -> str:
        return f"{base}/api/v1/versions/{segment(name)}.json"

    def parse(self, document: Any, name: str, version: str) -> tuple[bool, datetime | None]:
        if not isinstance(document, list):
            raise ValueError("the answer is not a list of versions")
        chosen = [entry for entry in document if entry.get("number") == version]
        times = [timestamp(entry["created_at"], "created_at") for entry in chosen]
        return (True, min(times)) if times else (False, None)


SOURCE = RubyGems()
