"""Maven Central's search API (the one search.maven.org answers): ``GET /solrsearch/select?q=g:"G" AND
a:"A" AND v:"V"&core=gav&wt=json``; the release time is the matching document's ``timestamp``
(milliseconds since 1970, when the version reached Central). ``numFound`` 0 means Central does not know
the version. Package keys are ``group:artifact``. A mirror must offer the same search API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from ingest.registries.interface import ReleaseTimeSource


class MavenCentral(ReleaseTimeSource):
    ecosystem = "Maven"
    name = "maven"
    default_url = "https://search.maven.org"

    def accepts(self, name: str, version: str) -> bool:
        group, _, artifact = name.partition(":")
        return super().accepts(name, version) and bool(group) and bool(artifact)

    def url(self, base: str, name: str, version: str) -> str:
        group, _, artifact = name.partition(":")
        query = f'g:"{group}" AND a:"{artifact}" AND v:"{version}"'
        return f"{base}/solrsearch/select?" + urlencode({"q": query, "core": "gav", "rows": 20, "wt": "json"})

    def parse(self, document: Any, name: str, version: str) -> tuple[bool, datetime | None]:
        group, _, artifact = name.partition(":")
        docs = document["response"]["docs"]
        if not isinstance(docs, list):
            raise ValueError("response.docs is not a list")
        for doc in docs:
            if doc.get("g") == group and doc.get("a") == artifact and doc.get("v") == version:
                millis = doc["timestamp"]
                if isinstance(millis, bool) or not isinstance(millis, int):
                    raise ValueError("timestamp is not a whole number of milliseconds")
                return True, datetime.fromtimestamp(millis / 1000, UTC)
        return False, None


SOURCE = MavenCentral()
