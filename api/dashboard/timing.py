"""``Server-Timing`` on every dashboard answer: how long the server took until the answer's head was sent.

The dashboard's pages are rendered whole before their head is sent, so this duration is the page's
server time (reading, computing, rendering), without the network or the browser. Browsers show it in
their developer tools; the browser tests record it for every page they load (``bench/dashboard.py``
prints what they recorded). A pure ASGI middleware, so streaming answers are not buffered.
"""

from __future__ import annotations

import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ServerTiming"]


class ServerTiming:
    """Add ``Server-Timing: app;dur=<milliseconds>`` to answers under ``prefix``."""

    def __init__(self, app: ASGIApp, prefix: str = "/dashboard") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                MutableHeaders(scope=message).append("Server-Timing", f"app;dur={elapsed:.1f}")
            await send(message)

        await self.app(scope, receive, timed)
