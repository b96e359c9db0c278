"""Triage in the dashboard on SQLite and PostgreSQL: the exposure page shows the deciding analysis and
its history and (to admins) a CSRF-protected form; a decision changes the overview's counts; refusals
show the reason and write nothing; readers and forged forms cannot write."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.routes.dashboard import exposure_link
from core.settings import Settings
from core.time import utcnow
from pipeline.api_keys import create_key
from pipeline.demo import load_demo
from pipeline.triage import list_analyses
from store.db import Database
from tests.api.test_dashboard import csrf, sign_in

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def site(db: Database) -> Iterator[tuple[TestClient, dict[str, str], Database]]:
    load_demo(db, "demo", ROOT / "sbom_samples" / "demo-fleet", ROOT / "sbom_samples" / "advisories" / "demo")
    keys = {
        "admin": create_key(db, org="demo", role="admin", name="sec-lead").token,
        "reader": create_key(db, org="demo", role="reader").token,
    }
    app = create_app(Settings(database_url="unused://", max_sbom_bytes=1_000_000), db=db, start_worker=False)
    with TestClient(app, base_url="http://testserver") as client:
        yield client, keys, db


def metric(html: str, key: str) -> str:
    found = re.search(rf'data-metric="{key}">([^<]*)<', html)
    assert found is not None, key
    return found.group(1)


def breached(client: TestClient, key: str) -> dict[str, Any]:
    rows = client.get("/api/v1/exposures", headers={"X-Api-Key": key}).json()
    return next(r for r in rows if r["sla_status"] == "breached")


def decide(client: TestClient, page: str, row: dict[str, Any], **fields: str) -> Any:
    data = {k: row[k] for k in ("system", "package", "version", "vulnerability", "first_seen")}
    return client.post(
        "/dashboard/exposure/triage",
        data={"csrf_token": csrf(page), **data, **fields},
        follow_redirects=False,
    )


def test_an_admin_triages_an_exposure_and_the_overview_follows(
    site: tuple[TestClient, dict[str, str], Database],
) -> None:
    client, keys, db = site
    initial = list_analyses(db, "demo")  # the demo fleet's VEX statement
    sign_in(client, keys["admin"])
    before = client.get("/dashboard/").text
    row = breached(client, keys["admin"])
    page = client.get(exposure_link(row))
    assert page.status_code == 200
    assert 'data-form="triage"' in page.text
    assert "No analysis yet" in page.text

    refused = decide(client, page.text, row, state="accepted_risk", scope="system+version")
    assert refused.status_code == 400
    assert "accepted_risk needs an expiry" in unescape(refused.text)
    assert list_analyses(db, "demo") == initial

    done = decide(
        client,
        page.text,
        row,
        state="not_affected",
        justification="vulnerable_code_not_in_execute_path",
        comment="only used by the build",
        scope="system+version",
    )
    assert done.status_code == 303, done.text
    shown = client.get(done.headers["location"]).text
    assert re.search(r'data-field="analysis_state">not_affected<', shown)
    assert "(new) → not_affected" in unescape(shown)
    assert "sec-lead (admin, dashboard)" in unescape(shown)
    after = client.get("/dashboard/").text
    assert int(metric(after, "excluded")) == int(metric(before, "excluded")) + 1
    assert int(metric(after, "past_due")) == int(metric(before, "past_due")) - 1
    (record,) = [r for r in list_analyses(db, "demo") if r not in initial]
    assert (record["scope"], record["system"], record["comment"]) == (
        "system+version",
        row["system"],
        "only used by the build",
    )

    other = breached(client, keys["admin"])
    page = client.get(exposure_link(other)).text
    until = (utcnow() + timedelta(days=60)).date().isoformat()
    accepted = decide(client, page, other, state="accepted_risk", expires=until, scope="version")
    assert accepted.status_code == 303, accepted.text
    later = client.get("/dashboard/").text
    assert int(metric(later, "risk_accepted")) >= 1
    assert int(metric(later, "past_due")) < int(metric(after, "past_due"))


def test_readers_and_forged_forms_cannot_triage(site: tuple[TestClient, dict[str, str], Database]) -> None:
    client, keys, db = site
    initial = list_analyses(db, "demo")
    sign_in(client, keys["reader"])
    row = breached(client, keys["reader"])
    page = client.get(exposure_link(row)).text
    assert 'data-form="triage"' not in page
    refused = decide(client, page, row, state="in_triage")
    assert refused.status_code == 403
    client.cookies.clear()
    sign_in(client, keys["admin"])
    page = client.get(exposure_link(row)).text
    forged = client.post(
        "/dashboard/exposure/triage",
        data={
            "csrf_token": "forged",
            **{k: row[k] for k in ("system", "package", "version", "vulnerability")},
        },
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert list_analyses(db, "demo") == initial
    assert 'name="csrf_token"' in page
