"""NuGet's package metadata (registration) resource: the registration leaf
``GET {RegistrationsBaseUrl}/{id-lower}/{version-lower}.json`` states ``published`` (a leaf inside a
registration page holds it in ``catalogEntry.published``; both are read). The default hive is
nuget.org's ``registration5-gz-semver2`` (gzipped, SemVer 2.0.0 packages included). nuget.org dates
an unlisted version 1900-01-01: no release time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.registries.interface import ReleaseTimeSource, segment, timestamp


class NuGet(ReleaseTimeSource):
    ecosystem = "NuGet"
    name = "nuget"
    default_url = "https://api.nuget.org/v3/registration5-gz-semver2"

    def url(self, base: str, name: str, version: str) -> str:
        return f"{base}/{segment(name.lower())}/{segment(version.lower())}.json"

    def parse(self, document: Any, name: str, version: str) -> tuple[bool, datetime | None]:
        entry = document.get("catalogEntry")
        if isinstance(entry, dict) and "published" in entry:
            return True, timestamp(entry["published"], "catalogEntry.published")
        return True, timestamp(document["published"], "published")


SOURCE = NuGet()
