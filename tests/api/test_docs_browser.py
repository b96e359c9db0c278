"""The API documentation works on an air-gapped network: Chromium loads ``/docs`` (Swagger UI) from a
real uvicorn on 127.0.0.1 with every request to any other host aborted, and every operation of the
OpenAPI document renders. ``/redoc`` is not served (its page would reach out to its vendor's CDN).
Skipped, with the reason, where Chromium or Playwright is missing (`.ci/run` installs Debian's `chromium`).
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from api.main import create_app
from core.settings import Settings
from store.db import Database

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no Chromium installed (Debian package chromium; .ci/run installs it)")
    pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) is not installed")
    return path


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    """A real uvicorn on a free loopback port serving an empty, migrated database."""
    url = f"sqlite:///{tmp_path / 'docs.db'}"
    db = Database.open(url)
    db.upgrade()
    app = create_app(Settings(database_url=url, max_sbom_bytes=1_000_000), db=db, start_worker=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):  # bounded wait for start-up
        if uv.started:
            break
        threading.Event().wait(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(30)
        sock.close()
        db.dispose()


def test_docs_pages_reference_no_other_host(base_url: str) -> None:
    """Without a browser: the pages name only this server's own paths for scripts and styles."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        assert "cdn." not in page.text
        assert "/static-offline-docs/swagger-ui-bundle.js" in page.text
        assert client.get("/redoc").status_code == 404
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
            answer = client.get(f"/static-offline-docs/{asset}")
            assert answer.status_code == 200, asset
            assert len(answer.content) > 100_000, asset


def _offline_page(browser: Any, blocked: list[str]) -> Any:
    """A page whose every request to a host other than 127.0.0.1 is aborted and recorded."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    def route(r: Any) -> None:
        if urlsplit(r.request.url).hostname == "127.0.0.1" or r.request.url.startswith("data:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return page


def test_docs_render_offline_in_chromium(base_url: str, tmp_path: Path) -> None:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with httpx.Client(base_url=base_url, timeout=30) as client:
        document = client.get("/openapi.json").json()
    operations = {
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    blocked: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = _offline_page(browser, blocked)
            page.goto(f"{base_url}/docs")
            page.wait_for_selector(".opblock", timeout=30_000)
            rendered = page.query_selector_all(".opblock")
            summary_paths = {
                element.inner_text().strip() for element in page.query_selector_all(".opblock-summary-path")
            }
            shot = tmp_path / "docs.png"
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    print(f"screenshot: {shot}")
    # Every operation of the document is drawn, and nothing left this machine (a blocked request
    # would be a CDN the page still depends on).
    assert len(rendered) == len(operations) > 50
    assert "/api/v1/systems" in {p.replace("\u200b", "") for p in summary_paths}
    assert blocked == []
