"""Packagist's Composer v2 metadata: ``GET /p2/{vendor}/{package}.json`` →
``{"packages": {"vendor/package": [versions]}}``, newest first and minified (``"minified":
"composer/2.0"``: each entry holds only what differs from the entries before it, ``"__unset"`` removes
an inherited key). The release time is the ``time`` of the version, written with or without a leading
``v`` (Packagist keeps the tag's spelling, advisories mostly drop the ``v``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.registries.interface import ReleaseTimeSource, segment, timestamp

_UNSET = "__unset"


def expand(entries: list[Any]) -> list[dict[str, Any]]:
    """The full version entries of a minified list (a plain list passes through unchanged)."""
    out: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise ValueError("a version entry is not an object")
        current = dict(current)
        for key, value in entry.items():
            if value == _UNSET:
                current.pop(key, None)
            else:
                current[key] = value
        out.append(current)
    return out


class Packagist(ReleaseTimeSource):
    ecosystem = "Packagist"
    name = "packagist"
    default_url = "https://repo.packagist.org"

    def accepts(self, name: str, version: str) -> bool:
        vendor, _, package = name.partition("/")
        return super().accepts(name, version) and bool(vendor) and bool(package)

    def url(self, base: str, name: str, version: str) -> str:
        vendor, _, package = name.lower().partition("/")
        return f"{base}/p2/{segment(vendor)}/{segment(package)}.json"

    def parse(self, document: Any, name: str, version: str) -> tuple[bool, datetime | None]:
        packages = document["packages"]
        entries = packages.get(name.lower(), packages.get(name, []))
        if not isinstance(entries, list):
            raise ValueError("packages[name] is not a list")
        if document.get("minified") == "composer/2.0":
            entries = expand(entries)
        wanted = version.removeprefix("v")
        for entry in entries:
            if not isinstance(entry, dict):
                raise ValueError("a version entry is not an object")
            stated = entry.get("version")
            if isinstance(stated, str) and stated.removeprefix("v") == wanted:
                time = entry.get("time")
                return True, timestamp(time, "time") if time is not None else None
        return False, None


SOURCE = Packagist()
