"""The dashboard in Chromium on a generated fleet of 1,000 systems (the report benchmark's generator,
``bench.report.build_fleet``, with owners on every tenth system): every page is visited, its server
time (``Server-Timing``) recorded and its screenshot saved; the overview's numbers are compared with
the API's documents; filters, sorting, paging, the component search, an SBOM upload and downloads are
driven through the pages as a user would.

Artifacts (screenshots, ``server-times.json``, downloaded files) go to ``$PATCHGAP_ARTIFACTS`` when
set, else to a folder under pytest's temporary directory; the path is printed. Times are recorded,
never asserted (``.venv/bin/python -m bench.dashboard --recorded <folder>/server-times.json`` prints
them). Building the fleet takes about a minute on this machine, once per module. Skipped, with the
reason, where Chromium or Playwright is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bench.dashboard import AS_OF, make_fleet
from bench.report import ORG
from core.display import days_text, percent_text
from core.time import parse_rfc3339, rfc3339
from pipeline.api_keys import create_key
from pipeline.lists.components import ComponentQuery, component_summary
from pipeline.lists.exposures import rebuild_lists
from store.db import Database
from tests.api.test_browser import CHROMIUM_ARGS, chromium_path, serve
from tests.conftest import cyclonedx_json

SYSTEMS = 1000
NAVIGATION_TIMEOUT_MS = 600_000


@dataclass
class Fleet:
    base: str
    keys: dict[str, str]
    db: Database
    artifacts: Path
    times: list[dict[str, Any]] = field(default_factory=list)
    # The API's open exposure rows at AS_OF, read once (29,533 rows; the fleet's reads do not change them).
    open_rows: list[dict[str, Any]] = field(default_factory=list)

    def open_exposures(self) -> list[dict[str, Any]]:
        if not self.open_rows:
            with httpx.Client(
                base_url=self.base, headers={"X-Api-Key": self.keys["reader"]}, timeout=600
            ) as api:
                self.open_rows = api_rows(api, "/api/v1/exposures", as_of=AS_OF)
        return self.open_rows


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    chromium_path()  # skip before building anything when there is no browser
    folder = tmp_path_factory.mktemp("fleet")
    given = os.environ.get("PATCHGAP_ARTIFACTS")
    artifacts = Path(given) if given else tmp_path_factory.mktemp("dashboard-artifacts")
    artifacts.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'fleet.db'}"
    db = Database.open(url)
    db.upgrade()
    make_fleet(db, SYSTEMS)
    # The stored lists computed once, as a server's sync job leaves them: the recorded server times
    # are then the pages' own, not the fleet's one-time computation of every list row.
    rebuild_lists(db, ORG)
    keys = {
        role: create_key(db, org=ORG, role=role, name=f"browser {role}").token
        for role in ("reader", "uploader")
    }
    state = Fleet("", keys, db, artifacts)
    try:
        with serve(db, url) as base:
            state.base = base
            yield state
    finally:
        (artifacts / "server-times.json").write_text(json.dumps(state.times, indent=1))
        print(f"dashboard artifacts: {artifacts}")
        db.dispose()


def server_ms(response: Any) -> float:
    found = re.search(r"dur=([0-9.]+)", response.headers.get("server-timing", ""))
    assert found is not None, f"no Server-Timing on {response.url}"
    return float(found.group(1))


class Visitor:
    """A signed-in browser page that records each page's server time and screenshot."""

    def __init__(self, fleet: Fleet, page: Any) -> None:
        self.fleet = fleet
        self.page = page

    def record(self, name: str, response: Any) -> None:
        assert response is not None
        self.fleet.times.append(
            {
                "page": name,
                "url": response.url.removeprefix(self.fleet.base),
                "status": response.status,
                "server_ms": server_ms(response),
            }
        )
        self.page.screenshot(path=str(self.fleet.artifacts / f"{name}.png"), full_page=True)

    def goto(self, name: str, path: str) -> Any:
        response = self.page.goto(self.fleet.base + path)
        self.record(name, response)
        return response

    def click(self, name: str, selector: str) -> Any:
        with self.page.expect_navigation() as navigation:
            self.page.click(selector)
        self.record(name, navigation.value)
        return navigation.value


def signed_in(browser: Any, fleet: Fleet, role: str) -> Any:
    """A browser page with a session of a ``role`` key. The sign-in form is posted outside the browser
    (``test_browser.py`` drives the form itself), so that no visit of the overview, seconds long on this
    fleet, runs beside the pages each test times."""
    with httpx.Client(base_url=fleet.base, timeout=600) as client:
        form = client.get("/dashboard/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        r = client.post("/dashboard/login", data={"api_key": fleet.keys[role], "csrf_token": token.group(1)})
        assert r.status_code == 303, r.text
        session = r.cookies["patchgap_session"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    # Pages of the whole fleet take seconds on a loaded machine (bench/RESULTS.md): wait, never fail on
    # time (the server times are recorded, not asserted).
    context.set_default_timeout(NAVIGATION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    cookie = {"name": "patchgap_session", "value": session, "domain": "127.0.0.1", "path": "/dashboard"}
    context.add_cookies([{**cookie, "httpOnly": True, "sameSite": "Strict"}])
    return context.new_page()


def api_rows(api: httpx.Client, path: str, **params: str) -> list[dict[str, Any]]:
    """Every row of an API list, following ``Link: rel=next`` where the list is paged."""
    rows: list[dict[str, Any]] = []
    url: str | None = path
    query: dict[str, str] | None = params
    while url is not None:
        r = api.get(url, params=query)
        assert r.status_code == 200, r.text[:300]
        rows.extend(r.json())
        following = r.links.get("next")
        url, query = (following["url"], None) if following else (None, None)
    return rows


def rows_of(page: Any, table: str) -> list[str]:
    return [row.inner_text() for row in page.query_selector_all(f'[data-table="{table}"] tr')][1:]


@pytest.fixture(scope="module")
def browser(fleet: Fleet) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_overview_numbers_equal_the_apis_and_nothing_grows_with_the_fleet(fleet: Fleet, browser: Any) -> None:
    visitor = Visitor(fleet, signed_in(browser, fleet, "reader"))
    page = visitor.page
    for name, period in (("overview", 30), ("overview-90-days", 90)):
        visitor.goto(name, f"/dashboard/?as_of={AS_OF}&period={period}")
        shown = {
            m.get_attribute("data-metric"): m.inner_text() for m in page.query_selector_all("[data-metric]")
        }
        changes = {
            c.get_attribute("data-change"): c.inner_text() for c in page.query_selector_all("[data-change]")
        }
        headers = {"X-Api-Key": fleet.keys["reader"]}
        with httpx.Client(base_url=fleet.base, headers=headers, timeout=600) as api:
            open_rows = fleet.open_exposures()
            excluded = api_rows(api, "/api/v1/exposures", as_of=AS_OF, status="excluded")
            report = api.get("/api/v1/reports/deploy-time", params={"as_of": AS_OF}).json()
            earlier = rfc3339(parse_rfc3339(AS_OF) - timedelta(days=period))
            before = api.get("/api/v1/reports/deploy-time", params={"as_of": earlier}).json()
            plan = api.get("/api/v1/plan", params={"as_of": AS_OF, "limit": "1"}).json()
        fixable = [e for e in open_rows if e["fixed_versions"]]
        ttd, previous = report["time_to_deploy"], before["time_to_deploy"]
        assert shown == {
            "open_fixable": str(len(fixable)),
            "kev_open": str(sum(1 for e in fixable if e["kev"])),
            "past_due": str(sum(1 for e in fixable if e["sla_status"] == "breached")),
            "excluded": str(sum(1 for e in excluded if e["resolved_at"] is None)),
            "risk_accepted": str(sum(1 for e in open_rows if e["sla_status"] == "risk_accepted")),
            "half_life": days_text(ttd["km_median_days"]),
            "within_30": percent_text(ttd["within_days"]["30"]),
            "stale": str(len(report["stale_systems"])),
            "total_actions": str(plan["total_actions"]),
        }
        assert f"vs {days_text(previous['km_median_days'])} {period} days earlier" in changes["half_life"]
        assert (
            f"vs {percent_text(previous['within_days']['30'])} {period} days earlier" in changes["within_30"]
        )
        assert len(fixable) > 1000  # a fleet, not a demo
        # Bounded: five actions, ten systems, ten stale ones, each with a link to its whole list.
        assert 1 <= len(rows_of(page, "top-actions")) <= 5
        assert 1 <= len(rows_of(page, "worst")) <= 10
        assert 1 <= len(rows_of(page, "stale")) <= 10
        for link in ("plan-all", "systems-all", "stale-all"):
            href = page.get_attribute(f'[data-link="{link}"]', "href")
            assert href is not None
            assert parse_qs(urlsplit(href).query)["as_of"] == [AS_OF]
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height < 4000, f"the overview is {height} px tall"
    # The whole plan, one page of 50 actions at the same moment, and its next page.
    visitor.click("fix-first", '[data-link="plan-all"]')
    assert len(page.query_selector_all("details.action")) == 50
    visitor.click("fix-first-page-2", '[data-link="next"]')
    query = parse_qs(urlsplit(page.url).query)
    assert query["as_of"] == [AS_OF]
    assert query["period"] == ["90"]
    assert "cursor" in query  # keyset pages: the next page starts after the 50th action
    first = page.text_content("details.action summary strong")
    assert first is not None
    assert first.startswith("#51 ")


def test_exposures_filter_sort_and_page_in_the_browser(fleet: Fleet, browser: Any) -> None:
    visitor = Visitor(fleet, signed_in(browser, fleet, "reader"))
    page = visitor.page
    visitor.goto("exposures", f"/dashboard/exposures?as_of={AS_OF}")
    first = rows_of(page, "exposures")
    assert len(first) == 50
    # Filter with the form: staging systems, exploited.
    page.fill('[data-form="exposure-filters"] input[name="environment"]', "staging")
    page.select_option('[data-form="exposure-filters"] select[name="kev"]', "yes")
    with page.expect_navigation() as navigation:
        page.click('[data-form="exposure-filters"] button[type=submit]')
    visitor.record("exposures-filtered", navigation.value)
    assert parse_qs(urlsplit(page.url).query)["as_of"] == [AS_OF]
    wanted = [e for e in fleet.open_exposures() if e["environment"] == "staging" and e["kev"]]
    assert wanted
    # The list counts its rows only where an index counts them (status and system filters); with
    # these filters the page shows no total, and its rows are the first 50 of the wanted ones.
    total = page.query_selector('[data-field="total"]')
    if total is not None:
        assert int(total.inner_text()) == len(wanted)
    filtered = rows_of(page, "exposures")
    assert len(filtered) == min(50, len(wanted))
    assert all("staging" in row and "KEV" in row for row in filtered)
    # Paging keeps the filters: next, then previous back to the same rows.
    if len(wanted) > 50:
        visitor.click("exposures-filtered-page-2", '[data-link="next"]')
        assert rows_of(page, "exposures") != filtered
        assert all("staging" in row for row in rows_of(page, "exposures"))
        visitor.click("exposures-filtered-page-1", '[data-link="previous"]')
        assert rows_of(page, "exposures") == filtered
    # A sortable header: by severity (CVSS), then the other way.
    visitor.click("exposures-by-cvss", '[data-sort="severity"]')
    visitor.click("exposures-by-cvss-desc", '[data-sort="severity"]')
    scores = [
        float(s.inner_text())
        for s in page.query_selector_all('[data-table="exposures"] td:nth-child(4) .muted')
    ]
    assert scores == sorted(scores, reverse=True)
    assert scores
    # Each row leads to its exposure, whose page shows the timeline of its snapshots.
    visitor.click("exposure", '[data-link="exposure"]')
    assert page.query_selector('[data-section="timeline"] [data-state="affected"]') is not None
    assert parse_qs(urlsplit(page.url).query)["as_of"] == [AS_OF]
    visitor.click("snapshot", '[data-section="timeline"] [data-state="affected"] a')
    # A bad parameter is a page, not JSON.
    response = visitor.goto("bad-parameter", "/dashboard/exposures?sort=colour")
    assert response.status == 400
    assert page.inner_text('[data-field="error"]').startswith("sort: ")


def test_systems_and_component_search_in_the_browser(fleet: Fleet, browser: Any) -> None:
    visitor = Visitor(fleet, signed_in(browser, fleet, "reader"))
    page = visitor.page
    visitor.goto("systems", f"/dashboard/systems?as_of={AS_OF}")
    assert int(page.inner_text('[data-field="total"]')) == SYSTEMS
    assert len(rows_of(page, "systems")) == 50
    page.select_option('[data-form="system-filters"] select[name="stale"]', "yes")
    with page.expect_navigation() as navigation:
        page.click('[data-form="system-filters"] button[type=submit]')
    visitor.record("systems-stale", navigation.value)
    stale = page.query_selector_all('[data-table="systems"] [data-flag="stale"]')
    assert len(stale) == len(rows_of(page, "systems")) == int(page.inner_text('[data-field="total"]')) > 0
    visitor.click("systems-by-open-exposures", '[data-sort="open exposures"]')
    visitor.click("system", '[data-link="system"]')
    # Component search: where do we run vuln-1, and which versions below 1.0.3?
    visitor.goto("components", f"/dashboard/components?as_of={AS_OF}")
    page.fill('[data-form="component-search"] input[name="q"]', "vuln-1")
    page.fill('[data-form="component-search"] input[name="version"]', "<1.0.3")
    with page.expect_navigation() as navigation:
        page.click('[data-form="component-search"] button[type=submit]')
    visitor.record("component-search", navigation.value)
    expected = component_summary(fleet.db, ORG, ComponentQuery.of("vuln-1", version="<1.0.3"))
    assert expected
    shown = {
        row.get_attribute("data-version"): int(row.query_selector('[data-field="systems"]').inner_text())
        for row in page.query_selector_all('[data-table="versions"] tr[data-version]')
    }
    assert shown == {v.version: v.systems for v in expected}
    assert set(shown) <= {"1.0.0", "1.0.1", "1.0.2"}
    assert int(page.inner_text('[data-field="total"]')) == sum(v.systems for v in expected)
    visitor.click("component-search-one-version", '[data-link="version"]')
    assert len(page.query_selector_all('[data-table="versions"] tr[data-version]')) == 1


def test_downloads_in_the_browser_are_the_apis_bytes(fleet: Fleet, browser: Any) -> None:
    visitor = Visitor(fleet, signed_in(browser, fleet, "reader"))
    page = visitor.page
    visitor.goto("downloads", f"/dashboard/downloads?as_of={AS_OF}&system=system-0003")
    headers = {"X-Api-Key": fleet.keys["reader"]}
    # One system's VEX and the organization's CISO report (HTML): each file as the API answers it.
    for name, command in (("openvex.openvex.json", "openvex"), ("report-html.html", "report-html")):
        link = page.query_selector(f'[data-download="{name}"]')
        assert link is not None, name
        with page.expect_download() as download:
            link.click()
        saved = fleet.artifacts / download.value.suggested_filename
        download.value.save_as(str(saved))
        query = urlsplit(link.get_attribute("href") or "").query
        with httpx.Client(base_url=fleet.base, headers=headers, timeout=600) as api:
            expected = api.get(f"/api/v1/exports/{command}?{query}")
        assert expected.status_code == 200, expected.text[:300]
        assert expected.headers["content-disposition"].endswith(f'"{download.value.suggested_filename}"')
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == expected.headers["x-content-sha256"]


def test_an_sbom_uploaded_in_the_browser_becomes_a_snapshot(
    fleet: Fleet, browser: Any, tmp_path: Path
) -> None:
    visitor = Visitor(fleet, signed_in(browser, fleet, "uploader"))
    page = visitor.page
    headers = {"X-Api-Key": fleet.keys["uploader"]}
    with httpx.Client(base_url=fleet.base, headers=headers, timeout=600) as api:
        before = api.get("/api/v1/systems/system-0002/snapshots").json()
    visitor.goto("system-upload-form", "/dashboard/systems/system-0002")
    sbom = tmp_path / "system-0002.cdx.json"
    sbom.write_bytes(
        cyclonedx_json(
            [("vuln-1", "1.0.9", "pkg:npm/vuln-1@1.0.9"), ("lib-7", "1.0.0", "pkg:npm/lib-7@1.0.0")],
            timestamp="2025-01-06T03:00:00Z",
        )
    )
    page.click('summary:has-text("Upload an SBOM")')
    page.set_input_files("#bom", str(sbom))
    page.fill("#release", "browser-upload")
    visitor.click("system-uploaded", '[data-form="upload"] button[type=submit]')
    assert "snapshot" in page.inner_text('[data-field="upload_notice"]')
    with httpx.Client(base_url=fleet.base, headers=headers, timeout=600) as api:
        after = api.get("/api/v1/systems/system-0002/snapshots").json()
    assert len(after) == len(before) + 1
    newest = max(after, key=lambda s: s["id"])
    assert (newest["release_label"], newest["component_count"]) == ("browser-upload", 2)
    # A file that is no SBOM: the reason on the page, nothing stored.
    bad = tmp_path / "notes.txt"
    bad.write_text("not an SBOM")
    page.click('summary:has-text("Upload an SBOM")')
    page.set_input_files("#bom", str(bad))
    visitor.click("system-upload-refused", '[data-form="upload"] button[type=submit]')
    assert "notes.txt" in page.inner_text('[data-field="upload_error"]')
    with httpx.Client(base_url=fleet.base, headers=headers, timeout=600) as api:
        assert len(api.get("/api/v1/systems/system-0002/snapshots").json()) == len(after)
