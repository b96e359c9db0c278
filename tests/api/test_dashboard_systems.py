"""The system page's forms in the dashboard, on SQLite and PostgreSQL: an admin changes owner, tags and
criticality, decommissions and recommissions; refusals show the reason and write nothing; readers and
forged forms cannot write; another organization's system is not found."""

from __future__ import annotations

from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import Settings
from pipeline.api_keys import create_key
from pipeline.systems import create_system, get_system
from store.db import Database
from tests.api.conftest import sbom
from tests.api.test_dashboard import csrf, sign_in


@pytest.fixture
def site(db: Database) -> Iterator[tuple[TestClient, dict[str, str], Database]]:
    keys = {
        "admin": create_key(db, org="acme", role="admin").token,
        "reader": create_key(db, org="acme", role="reader").token,
        "other": create_key(db, org="globex", role="admin").token,
    }
    create_system(db, "globex", "mill", {})
    app = create_app(Settings(database_url="unused://", max_sbom_bytes=1_000_000), db=db, start_worker=False)
    with TestClient(app, base_url="http://testserver") as client:
        r = client.post("/api/v1/systems", json={"name": "shop web"}, headers={"X-Api-Key": keys["admin"]})
        assert r.status_code == 201
        r = client.post(
            "/api/v1/systems/shop%20web/sboms", content=sbom(), headers={"X-Api-Key": keys["admin"]}
        )
        assert r.status_code == 201
        yield client, keys, db


PAGE = "/dashboard/systems/shop%20web"


def test_an_admin_edits_decommissions_and_recommissions(
    site: tuple[TestClient, dict[str, str], Database],
) -> None:
    client, keys, db = site
    sign_in(client, keys["admin"])
    page = client.get(PAGE).text
    assert 'data-form="system"' in page
    fields = {
        "owner": "shop@example.com",
        "tags": "pci, team:shop",
        "criticality": "critical",
        "environment": "prod",
    }
    r = client.post(f"{PAGE}/edit", data={"csrf_token": csrf(page), **fields}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, PAGE)
    row = get_system(db, "acme", "shop web")
    assert (row.owner, row.tags, row.criticality, row.internet_exposed) == (
        "shop@example.com",
        ("pci", "team:shop"),
        "critical",
        False,
    )
    shown = client.get(PAGE).text
    assert 'data-field="tags">pci, team:shop<' in shown
    # A refused change: the reason on the page, the form as sent, nothing written.
    r = client.post(f"{PAGE}/edit", data={"csrf_token": csrf(page), **fields, "tags": "Not-Lower"})
    assert r.status_code == 400
    assert "tag 'Not-Lower'" in unescape(r.text)
    assert get_system(db, "acme", "shop web").tags == ("pci", "team:shop")

    r = client.post(f"{PAGE}/decommission", data={"csrf_token": csrf(page), "at": "2023-01-01"})
    assert r.status_code == 400
    assert "before its last snapshot" in unescape(r.text)
    r = client.post(
        f"{PAGE}/decommission", data={"csrf_token": csrf(page), "at": "2024-02-01"}, follow_redirects=False
    )
    assert r.status_code == 303
    shown = client.get(PAGE).text
    assert 'data-field="decommissioned"' in shown
    assert 'data-form="recommission"' in shown
    r = client.post(f"{PAGE}/recommission", data={"csrf_token": csrf(page)}, follow_redirects=False)
    assert r.status_code == 303
    assert get_system(db, "acme", "shop web").decommissioned_at is None


def test_readers_forged_forms_and_other_organizations_cannot_write(
    site: tuple[TestClient, dict[str, str], Database],
) -> None:
    client, keys, db = site
    sign_in(client, keys["reader"])
    page = client.get(PAGE).text
    assert 'data-form="system"' not in page
    r = client.post(f"{PAGE}/edit", data={"csrf_token": csrf(page), "owner": "x"})
    assert r.status_code == 403
    r = client.post(f"{PAGE}/decommission", data={"csrf_token": csrf(page)})
    assert r.status_code == 403
    sign_in(client, keys["admin"])
    page = client.get(PAGE).text
    assert client.post(f"{PAGE}/edit", data={"csrf_token": "forged", "owner": "x"}).status_code == 403
    assert get_system(db, "acme", "shop web").owner is None
    r = client.post("/dashboard/systems/mill/decommission", data={"csrf_token": csrf(page)})
    assert r.status_code == 404
    assert get_system(db, "globex", "mill").decommissioned_at is None
