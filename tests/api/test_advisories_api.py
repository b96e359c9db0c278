"""``GET /api/v1/advisories/{id}`` answers the CLI's ``advisories show ID --json`` document, for any org."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app as cli_app
from ingest.advisories.osv_files import OsvDirectory
from pipeline.advisories.importing import import_advisories
from pipeline.advisories.sources import open_path
from pipeline.advisories.tables import import_table
from tests.api.conftest import World

ROOT = Path(__file__).resolve().parents[2]
AKRITES = ROOT / "sbom_samples" / "advisories" / "akrites"
DEMO_OSV = ROOT / "sbom_samples" / "advisories" / "demo" / "osv"
KEV = {
    "title": "t",
    "catalogVersion": "2099.01.01",
    "dateReleased": "2024-01-09T00:00:00Z",
    "count": 1,
    "vulnerabilities": [
        {
            "cveID": "CVE-2023-45803",  # a test entry: this CVE is not actually in KEV
            "vendorProject": "urllib3",
            "product": "urllib3",
            "vulnerabilityName": "test entry",
            "dateAdded": "2024-01-05",
            "shortDescription": "test",
            "requiredAction": "update",
            "dueDate": "2024-01-26",
            "knownRansomwareCampaignUse": "Known",
            "notes": "",
        }
    ],
}


def cli_show(world: World, identifier: str) -> object:
    url = world.db.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli_app, ["--db", url, "advisories", "show", identifier, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_advisory_by_alias_equals_the_cli_and_is_the_same_for_every_org(world: World) -> None:
    import_advisories(world.db, OsvDirectory(DEMO_OSV).records(), source="osv", origin="demo")
    import_table(world.db, "kev", json.dumps(KEV).encode(), origin="kev.json")
    r = world.client.get("/api/v1/advisories/GHSA-g4mx-q9vg-27p4", headers=world.auth("acme-reader"))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc == cli_show(world, "GHSA-g4mx-q9vg-27p4")
    assert doc["groups"] == [
        {"group": "CVE-2023-45803", "ids": ["CVE-2023-45803", "GHSA-g4mx-q9vg-27p4", "PYSEC-2023-212"]}
    ]
    assert [(k["cve"], k["date_added"], k["known_ransomware"]) for k in doc["kev"]] == [
        ("CVE-2023-45803", "2024-01-05T00:00:00Z", True)
    ]
    (record,) = doc["advisories"]
    assert (record["source"], record["id"], record["published"]) == (
        "osv",
        "PYSEC-2023-212",
        "2023-10-17T20:15:00Z",
    )
    assert record["details"].startswith("urllib3 is a user-friendly HTTP client library for Python.")
    (affected,) = record["affected"]
    assert affected["package_key"] == ["PyPI", "urllib3"]
    events = [{"introduced": "2.0.0"}, {"fixed": "2.0.7"}, {"introduced": "0"}, {"fixed": "1.26.18"}]
    assert {"type": "ECOSYSTEM", "events": events} in affected["ranges"]
    # Global data: another organization's key reads the very same document.
    other = world.client.get("/api/v1/advisories/GHSA-g4mx-q9vg-27p4", headers=world.auth("globex-admin"))
    assert other.json() == doc
    assert "shop" not in other.text
    assert "acme" not in other.text


def test_exploited_record_with_its_fix_and_unknown_ids(world: World) -> None:
    import_advisories(world.db, open_path(AKRITES, "akrites"), source="akrites", origin="akrites")
    r = world.client.get("/api/v1/advisories/AKRITES-SAMPLE-2026-0004", headers=world.auth("acme-reader"))
    assert r.status_code == 200, r.text
    (record,) = r.json()["advisories"]
    assert (record["exploited"], record["fix_available_at"], record["fix_available_source"]) == (
        True,
        "2026-04-09T08:00:00Z",
        "akrites",
    )
    assert r.json() == cli_show(world, "AKRITES-SAMPLE-2026-0004")
    missing = world.client.get("/api/v1/advisories/CVE-1999-0001", headers=world.auth("acme-reader"))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["detail"] == "CVE-1999-0001: no stored advisory has this id or alias"
    assert world.client.get("/api/v1/advisories/CVE-1999-0001").status_code == 401


def test_sources_list_the_registry_as_the_cli_does(world: World) -> None:
    r = world.client.get("/api/v1/advisories/sources", headers=world.auth("acme-reader"))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert [(s["name"], s["yields"], s["fetchable"]) for s in doc] == [
        ("osv", "records", True),
        ("akrites", "records", True),
        ("csaf", "records", True),
        ("kev", "table", True),
        ("epss", "table", True),
    ]
    assert [s["name"] for s in doc if s["url_required"]] == ["akrites", "csaf"]
    url = world.db.url.render_as_string(hide_password=False)
    cli = CliRunner().invoke(cli_app, ["--db", url, "advisories", "sources", "--json"])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout) == doc
    assert world.client.get("/api/v1/advisories/sources").status_code == 401
