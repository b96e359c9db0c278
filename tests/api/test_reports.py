"""Report, VEX and SLA routes answer exactly the CLI's JSON for the same organization and moment.

Uses the bundled demo fleet (5 systems, weekly SBOMs, real advisories, one VEX document).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from cli.main import app as cli_app
from core.settings import Settings
from pipeline.api_keys import create_key
from pipeline.demo import load_demo
from store.db import Database

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2024-06-15T00:00:00Z"


@pytest.fixture
def demo(db: Database, db_url: str) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    load_demo(db, "demo", ROOT / "sbom_samples" / "demo-fleet", ROOT / "sbom_samples" / "advisories" / "demo")
    keys = {
        "reader": create_key(db, org="demo", role="reader").token,
        "admin": create_key(db, org="demo", role="admin").token,
    }
    app = create_app(Settings(database_url=db_url, max_sbom_bytes=1_000_000), db=db, start_worker=False)
    with TestClient(app) as client:
        yield client, keys, db_url


def cli_json(db_url: str, *args: str) -> object:
    result = CliRunner().invoke(cli_app, ["--db", db_url, *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def walk(client: TestClient, params: dict[str, Any], headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every page of ``GET /api/v1/exposures``, following the ``Link: rel="next"`` headers."""
    response = client.get("/api/v1/exposures", params=params, headers=headers)
    rows: list[dict[str, Any]] = []
    while True:
        assert response.status_code == 200, response.text
        rows.extend(response.json())
        assert int(response.headers["X-Total-Count"]) >= len(rows)
        link = response.headers.get("Link")
        if link is None:
            assert int(response.headers["X-Total-Count"]) == len(rows)
            return rows
        url = link.removeprefix("<").split(">;")[0]
        assert link.endswith('rel="next"')
        response = client.get(url, headers=headers)


def test_reports_equal_the_cli_json(demo: tuple[TestClient, dict[str, str], str]) -> None:
    """Sorted by system, the pages walked in order are the CLI's rows in its order."""
    client, keys, url = demo
    h = {"X-Api-Key": keys["reader"]}
    for status in ("open", "resolved", "all", "excluded"):
        api = walk(client, {"status": status, "as_of": AS_OF, "sort": "system", "limit": 7}, h)
        cli = cli_json(
            url,
            "report",
            "exposures",
            "--org",
            "demo",
            "--status",
            status,
            "--as-of",
            AS_OF,
            "--format",
            "json",
        )
        assert api == cli, status
    assert len(walk(client, {"status": "all", "as_of": AS_OF}, h)) > 5
    api = client.get("/api/v1/reports/deploy-time", params={"as_of": AS_OF}, headers=h).json()
    assert api == cli_json(
        url, "report", "deploy-time", "--org", "demo", "--as-of", AS_OF, "--format", "json"
    )
    assert client.get("/api/v1/vex", headers=h).json() == cli_json(
        url, "vex", "list", "--org", "demo", "--format", "json"
    )
    assert client.get("/api/v1/sla", headers=h).json() == cli_json(
        url, "sla", "show", "--org", "demo", "--json"
    )


def test_exposure_filters_select_subsets_of_the_report(demo: tuple[TestClient, dict[str, str], str]) -> None:
    client, keys, _ = demo
    h = {"X-Api-Key": keys["reader"]}
    everything = walk(client, {"status": "all", "sort": "system", "limit": 1000}, h)
    for field, param, value in [
        ("system", "system", everything[0]["system"]),
        ("severity", "severity", "high"),
        ("sla_tier", "tier", "critical"),
        ("kev", "kev", False),
    ]:
        got = walk(
            client,
            {
                "status": "all",
                "sort": "system",
                param: str(value).lower() if isinstance(value, bool) else value,
            },
            h,
        )
        assert got == [r for r in everything if r[field] == value], field


def test_sla_set_and_vex_create_change_the_reports(demo: tuple[TestClient, dict[str, str], str]) -> None:
    client, keys, url = demo
    admin = {"X-Api-Key": keys["admin"]}
    policy = {
        "tiers": [
            {
                "name": "everything",
                "days": 1,
                "exploited": None,
                "internet_exposed": None,
                "min_cvss": None,
                "min_epss": None,
            }
        ]
    }
    assert client.put("/api/v1/sla", json=policy, headers=admin).json() == policy
    assert cli_json(url, "sla", "show", "--org", "demo", "--json") == policy
    assert client.put("/api/v1/sla", content=b'{"tiers": []}', headers=admin).status_code == 400
    open_rows = client.get("/api/v1/exposures", headers=admin).json()
    assert {r["sla_tier"] for r in open_rows} == {"everything"}
    target = open_rows[0]
    r = client.post(
        "/api/v1/vex",
        json={
            "vulnerability": target["vulnerability"],
            "purl": f"{target['package']}@{target['version']}",
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["statements"] == 1
    excluded = client.get("/api/v1/exposures", params={"status": "excluded"}, headers=admin).json()
    assert (target["system"], target["vulnerability"]) in {
        (e["system"], e["vulnerability"]) for e in excluded
    }
