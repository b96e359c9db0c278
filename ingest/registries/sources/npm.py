"""The npm registry's packument: ``GET /{package}`` (a scoped name as ``@scope%2fname``); the release
time is ``time[version]``. A version missing from ``time`` is one the registry does not know."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.registries.interface import ReleaseTimeSource, segment, timestamp


class Npm(ReleaseTimeSource):
    ecosystem = "npm"
    name = "npm"
    default_url = "https://registry.npmjs.org"

    def url(self, base: str, name: str, version: str) -> str:
        # The registry takes the scope's "@" literally and the slash after it encoded.
        path = "@" + segment(name[1:]) if name.startswith("@") else segment(name)
        return f"{base}/{path}"

    def parse(self, document: Any, name: str, version: str) -> tuple[bool, datetime | None]:
        times = document["time"]
        if not isinstance(times, dict):
            raise ValueError("time is not an object")
        if version not in times:
            return False, None
        return True, timestamp(times[version], f"time[{version!r}]")


SOURCE = Npm()
