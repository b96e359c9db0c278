"""The Go module proxy protocol: ``GET /{module}/@v/{version}.info`` → ``{"Version", "Time"}``.

Module paths and versions are case-encoded as the protocol requires (every upper-case letter becomes
``!`` and its lower-case form: ``github.com/BurntSushi/toml`` → ``github.com/!burnt!sushi/toml``), and
OSV's Go versions (``1.2.3``) get the ``v`` the proxy names them with. The proxy answers 404 or 410 for
what it does not know. ``stdlib`` and ``toolchain`` (Go itself, in the Go vulnerability database) are
no modules of the proxy and are never asked about.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.registries.interface import ReleaseTimeSource, timestamp

_NOT_MODULES = frozenset({"stdlib", "toolchain"})


def escape(text: str) -> str:
    """The proxy's case encoding of a module path or version."""
    return "".join("!" + c.lower() if "A" <= c <= "Z" else c for c in text)


class GoProxy(ReleaseTimeSource):
    ecosystem = "Go"
    name = "go"
    default_url = "https://proxy.golang.org"
    not_found_statuses = (404, 410)

    def accepts(self, name: str, version: str) -> bool:
        return super().accepts(name, version) and name not in _NOT_MODULES

    def url(self, base: str, name: str, version: str) -> str:
        tagged = version if version.startswith("v") else "v" + version
        return f"{base}/{escape(name)}/@v/{escape(tagged)}.info"

    def parse(self, document: Any, name: str, version: str) -> tuple[bool, datetime | None]:
        return True, timestamp(document["Time"], "Time")


SOURCE = GoProxy()
