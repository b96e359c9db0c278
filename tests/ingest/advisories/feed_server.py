"""Serving advisory feeds to tests through ``httpx.MockTransport``: a router that records requests.

KEV and EPSS bodies come from the real samples in ``../shared/data/feeds`` where present (tests that need
them skip without it). Every :class:`Server` fails the test on a URL it does not serve, so the tests also
pin which requests each fetch makes. ``conftest.py`` beside this file refuses httpx's real transport.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.advisories.http import HttpClient, RetryPolicy

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
FEEDS = SHARED / "feeds"
CSAF_EXAMPLES = SHARED / "schemas" / "csaf" / "examples"

Handler = Callable[[httpx.Request], httpx.Response]


class Server:
    """Routes by exact URL; records every request; fails the test on an unknown URL."""

    def __init__(self, routes: dict[str, Handler]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        handler = self.routes.get(str(request.url))
        if handler is None:
            pytest.fail(f"unexpected request: {request.method} {request.url}")
        return handler(request)

    def http(self) -> HttpClient:
        return HttpClient(transport=httpx.MockTransport(self), retry=RetryPolicy(attempts=1))

    def urls(self) -> list[str]:
        return [str(r.url) for r in self.requests]


def conditional(body: bytes, etag: str, headers: dict[str, str] | None = None) -> Handler:
    """Serves ``body`` with an ETag and answers 304 when the client already has it."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("If-None-Match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        return httpx.Response(200, content=body, headers={"ETag": etag, **(headers or {})})

    return handler


def needs_shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: real samples live in ../shared/data")
    return path


def serve_json(obj: Any) -> Handler:
    return lambda r: httpx.Response(200, json=obj)


def serve_bytes(body: bytes) -> Handler:
    return lambda r: httpx.Response(200, content=body)
