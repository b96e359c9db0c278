"""crates.io: ``GET /api/v1/crates/{crate}/{version}``; the release time is ``version.created_at``.
crates.io requires a User-Agent that says who is asking; the client's ``patchgap/<version>`` does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.registries.interface import ReleaseTimeSource, segment, timestamp


class Crates(ReleaseTimeSource):
    ecosystem = "crates.io"
    name = "crates"
    default_url = "https://crates.io"

    def url(self, base: str, name: str, version: str) -> str:
        return f"{base}/api/v1/crates/{segment(name)}/{segment(version)}"

    def parse(self, document: Any, name: str, version: str) -> tuple[bool, datetime | None]:
        return True, timestamp(document["version"]["created_at"], "version.created_at")


SOURCE = Crates()
