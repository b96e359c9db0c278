"""``GET /api/v1/exposures`` pages (``Link: rel="next"``, ``X-Total-Count``) and ``/exposures/export``
streams the same rows; bad paging input is a problem document naming the parameter.

Uses the bundled demo fleet (5 systems, weekly SBOMs, real advisories, one VEX document).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import Settings
from pipeline.api_keys import create_key
from pipeline.demo import load_demo
from store.db import Database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(db: Database, db_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    load_demo(db, "demo", ROOT / "sbom_samples" / "demo-fleet", ROOT / "sbom_samples" / "advisories" / "demo")
    headers = {"X-Api-Key": create_key(db, org="demo", role="reader").token}
    app = create_app(Settings(database_url=db_url, max_sbom_bytes=1_000_000), db=db, start_worker=False)
    with TestClient(app) as c:
        yield c, headers


def pages(c: TestClient, h: dict[str, str], params: dict[str, Any]) -> list[list[dict[str, Any]]]:
    response = c.get("/api/v1/exposures", params=params, headers=h)
    out = []
    while True:
        assert response.status_code == 200, response.text
        out.append(response.json())
        link = response.headers.get("Link")
        if link is None:
            return out
        assert link.startswith("<http")
        assert link.endswith('>; rel="next"')
        response = c.get(link[1 : link.index(">")], headers=h)


def test_pages_and_export_are_the_same_rows(client: tuple[TestClient, dict[str, str]]) -> None:
    c, h = client
    for params in (
        {"status": "all"},
        {"status": "all", "sort": "cvss", "order": "desc"},
        {"status": "resolved", "sort": "first_seen"},
        {"status": "all", "package": "pkg:npm/", "sort": "package", "order": "desc"},
    ):
        everything = c.get("/api/v1/exposures/export", params=params, headers=h)
        assert everything.status_code == 200
        assert everything.headers["content-type"] == "application/json"
        rows = everything.json()
        assert len(rows) > 3, params
        walked = pages(c, h, {**params, "limit": 3})
        assert [r for page in walked for r in page] == rows, params
        assert all(len(page) == 3 for page in walked[:-1])
        assert 1 <= len(walked[-1]) <= 3
        first = c.get("/api/v1/exposures", params={**params, "limit": 3}, headers=h)
        assert int(first.headers["X-Total-Count"]) == len(rows)
        # One page holding everything: no next link.
        single = c.get("/api/v1/exposures", params={**params, "limit": 1000}, headers=h)
        assert single.json() == rows
        assert "Link" not in single.headers
    nothing = c.get("/api/v1/exposures/export", params={"system": "no-such-system"}, headers=h)
    assert nothing.status_code == 200
    assert nothing.json() == []


def test_bad_paging_input_is_a_problem_naming_it(client: tuple[TestClient, dict[str, str]]) -> None:
    c, h = client
    bad = c.get("/api/v1/exposures", params={"cursor": "not-a-cursor"}, headers=h)
    assert bad.status_code == 400
    assert bad.json()["detail"].startswith("cursor:")
    first = c.get("/api/v1/exposures", params={"status": "all", "limit": 1}, headers=h)
    cursor = first.headers["Link"].split("cursor=")[1].split(">")[0]
    other = c.get("/api/v1/exposures", params={"status": "all", "sort": "epss", "cursor": cursor}, headers=h)
    assert other.status_code == 400
    assert "cursor" in other.json()["detail"]
    for params, name in (({"sort": "nonsense"}, "sort"), ({"limit": 0}, "limit"), ({"order": "up"}, "order")):
        refused = c.get("/api/v1/exposures", params=params, headers=h)
        assert refused.status_code == 422, params
        assert name in refused.text, params
    refused = c.get("/api/v1/exposures/export", params={"sort": "nonsense"}, headers=h)
    assert refused.status_code == 422
