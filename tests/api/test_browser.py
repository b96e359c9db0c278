"""End to end in a real browser: uvicorn on 127.0.0.1, Debian's Chromium headless (driven by Playwright
through ``executable_path``, never a downloaded browser), sign in with a reader key, and check that the
overview shows the numbers of the API's own report documents; sign in with an admin key, triage
exposures on their pages, and check that the overview's numbers and the exports change accordingly. The
screenshots are kept in the test's tmp folder (paths printed). Skipped, with the reason, where Chromium
or Playwright is missing (``.ci/run`` installs Debian's ``chromium``).
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.main import create_app
from api.routes.dashboard import exposure_link
from core.display import days_text, percent_text
from core.settings import Settings
from pipeline.api_keys import create_key
from pipeline.demo import load_demo
from store.db import Database

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2024-06-15T00:00:00Z"
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


@contextmanager
def serve(db: Database, url: str, max_sbom_bytes: int = 1_000_000) -> Iterator[str]:
    """A real uvicorn on a free loopback port serving ``db`` (opened from ``url``); yields the base URL."""
    app = create_app(Settings(database_url=url, max_sbom_bytes=max_sbom_bytes), db=db)
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


def serve_demo(tmp_path: Path, role: str) -> Iterator[tuple[str, str]]:
    """The demo organization served by :func:`serve`; yields (base URL, a key of ``role``)."""
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    db = Database.open(url)
    db.upgrade()
    load_demo(db, "demo", ROOT / "sbom_samples" / "demo-fleet", ROOT / "sbom_samples" / "advisories" / "demo")
    key = create_key(db, org="demo", role=role, name=f"browser {role}").token
    try:
        with serve(db, url) as base:
            yield base, key
    finally:
        db.dispose()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The demo served with a reader key."""
    yield from serve_demo(tmp_path, "reader")


@pytest.fixture
def admin_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The demo served with an admin key (triage writes)."""
    yield from serve_demo(tmp_path, "admin")


def test_overview_in_chromium_shows_the_api_report(server: tuple[str, str], tmp_path: Path) -> None:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    base, key = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/dashboard/login")
            page.fill("#api_key", key)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/dashboard/")
            page.goto(f"{base}/dashboard/?as_of={AS_OF}")
            shown = {
                metric: page.inner_text(f'[data-metric="{metric}"]')
                for metric in ("open_fixable", "kev_open", "half_life", "within_30", "past_due")
            }
            tiers = {
                cell.get_attribute("data-tier"): cell.inner_text()
                for cell in page.query_selector_all("[data-tier]")
            }
            assert page.query_selector("svg.chart") is not None
            shot = tmp_path / "overview.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000

    headers = {"X-Api-Key": key}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as api:
        exposures = api.get("/api/v1/exposures", params={"as_of": AS_OF}).json()
        report = api.get("/api/v1/reports/deploy-time", params={"as_of": AS_OF}).json()
    fixable = [e for e in exposures if e["fixed_versions"]]
    ttd = report["time_to_deploy"]
    half_life = days_text(ttd["km_median_days"])
    assert shown == {
        "open_fixable": str(len(fixable)),
        "kev_open": str(sum(1 for e in fixable if e["kev"])),
        "half_life": half_life,
        "within_30": percent_text(ttd["within_days"]["30"]),
        "past_due": str(sum(1 for e in fixable if e["sla_status"] == "breached")),
    }
    assert tiers == {k: str(v) for k, v in Counter(e["sla_tier"] or "none" for e in fixable).items()}
    assert len(fixable) > 0


def _cards(page: Any) -> dict[str, str]:
    return {
        m: page.inner_text(f'[data-metric="{m}"]')
        for m in ("open_fixable", "past_due", "excluded", "risk_accepted")
    }


def _api_numbers(api: httpx.Client) -> dict[str, str]:
    """What the overview cards must say, from the API's own documents."""
    exposures = api.get("/api/v1/exposures").json()
    excluded = api.get("/api/v1/exposures", params={"status": "excluded"}).json()
    return {
        "open_fixable": str(sum(1 for e in exposures if e["fixed_versions"])),
        "past_due": str(sum(1 for e in exposures if e["fixed_versions"] and e["sla_status"] == "breached")),
        "excluded": str(sum(1 for e in excluded if e["resolved_at"] is None)),
        "risk_accepted": str(sum(1 for e in exposures if e["sla_status"] == "risk_accepted")),
    }


def _statuses(document: dict[str, Any], vulnerability: str) -> set[str]:
    """The OpenVEX statuses stated about one vulnerability (its name or an alias)."""
    return {
        s["status"]
        for s in document["statements"]
        if vulnerability in (s["vulnerability"]["name"], *s["vulnerability"].get("aliases", []))
    }


def test_triage_in_chromium_changes_the_overview_and_the_exports(
    admin_server: tuple[str, str], tmp_path: Path
) -> None:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    base, key = admin_server
    with httpx.Client(base_url=base, headers={"X-Api-Key": key}, timeout=60) as api:
        open_rows = api.get("/api/v1/exposures").json()
        breached = [e for e in open_rows if e["sla_status"] == "breached"]
        assert len(breached) >= 2, "the demo fleet has open exposures past their deadline"
        first, second = breached[0], breached[1]
        vex_before = api.get("/api/v1/exports/openvex").json()
        assert "affected" in _statuses(vex_before, first["vulnerability"])
        until = (datetime.now(UTC) + timedelta(days=90)).date().isoformat()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"{base}/dashboard/login")
                page.fill("#api_key", key)
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/dashboard/")
                before = _cards(page)
                assert before == _api_numbers(api)

                # Not affected: this version on this system.
                page.goto(base + exposure_link(first))
                page.select_option("#state", "not_affected")
                page.select_option("#justification", "vulnerable_code_not_in_execute_path")
                page.select_option("#scope", "system+version")
                page.fill("#comment", "reviewed in the browser test")
                page.click("form.triage button[type=submit]")
                page.wait_for_selector('[data-table="analysis-history"]')
                assert page.inner_text('[data-field="analysis_state"]') == "not_affected"
                shot = tmp_path / "exposure.png"
                page.screenshot(path=str(shot), full_page=True)

                # Accepted risk on another exposure, until a date in the future.
                page.goto(base + exposure_link(second))
                page.select_option("#state", "accepted_risk")
                page.fill("#expires", until)
                page.fill("#comment", "replaced next quarter")
                page.click("form.triage button[type=submit]")
                page.wait_for_selector('[data-field="analysis_expires"]')

                page.goto(f"{base}/dashboard/")
                after = _cards(page)
            finally:
                browser.close()
        print(f"screenshot: {shot}")
        assert after == _api_numbers(api)
        assert int(after["excluded"]) == int(before["excluded"]) + 1
        assert int(after["risk_accepted"]) == int(before["risk_accepted"]) + 1
        assert int(after["past_due"]) == int(before["past_due"]) - 2
        # The exports say the same: not_affected with the justification; the accepted risk's terms.
        vex_after = api.get("/api/v1/exports/openvex").json()
        stated = [
            s
            for s in vex_after["statements"]
            if first["vulnerability"] in (s["vulnerability"]["name"], *s["vulnerability"].get("aliases", []))
            and s["status"] == "not_affected"
        ]
        assert stated
        assert stated[0]["justification"] == "vulnerable_code_not_in_execute_path"
        csaf = api.get("/api/v1/exports/csaf-vex").json()
        mitigations = [
            r["details"]
            for v in csaf["vulnerabilities"]
            for r in v.get("remediations", [])
            if r["category"] == "mitigation"
        ]
        assert any(m.startswith(f"Risk accepted until {until}") for m in mitigations), mitigations
