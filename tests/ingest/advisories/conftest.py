"""Network is off in the advisory tests: all traffic goes through ``httpx.MockTransport``."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture(autouse=True)
def _no_real_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that reaches httpx's real transport: all traffic must go through MockTransport."""

    def refuse(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        pytest.fail(f"real network used for {request.method} {request.url}")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)
