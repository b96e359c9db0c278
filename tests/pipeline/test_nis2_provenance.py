"""The NIS2 evidence pack's ``sources/advisories.csv`` after real imports, on both databases: the demo
fleet's OSV records (imported from a directory), its EPSS file, a KEV catalog in CISA's format, an
Akrites record and registry release times each appear with their counts, versions, fetch times and
hashes of the data kept — and the hashes follow the data."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import httpx

from ingest.advisories.http import HttpClient, RetryPolicy
from pipeline.advisories.enrich import enrich
from pipeline.advisories.importing import import_advisories
from pipeline.advisories.sources import open_path
from pipeline.advisories.tables import import_table
from pipeline.demo import load_demo
from pipeline.exports import export
from store.db import Database
from tests.pipeline.test_events import _kev

ROOT = Path(__file__).resolve().parents[2]
FLEET = ROOT / "sbom_samples" / "demo-fleet"
ADVISORIES = ROOT / "sbom_samples" / "advisories" / "demo"
AKRITES = ROOT / "sbom_samples" / "advisories" / "akrites"
START, END = datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 9, 2, tzinfo=UTC)


def _sources(db: Database) -> dict[str, dict[str, str]]:
    return {r["source"]: r for r in _rows(db)}


def _rows(db: Database) -> list[dict[str, str]]:
    pack = export(db, "demo", "nis2-evidence", start=START, as_of=END)
    with zipfile.ZipFile(io.BytesIO(pack.content)) as archive:
        text = archive.read("sources/advisories.csv").decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [
        "source",
        "origin",
        "version",
        "modified",
        "fetched_at",
        "sha256",
        "records",
        "records_used",
    ]
    return rows


def test_every_source_the_figures_rest_on_is_listed(db: Database) -> None:
    load_demo(db, "demo", FLEET, ADVISORIES)
    kev = _kev("CVE-2023-45803", "CVE-2099-0001", version="2024.08.30")
    import_table(db, "kev", kev, origin="known_exploited_vulnerabilities.json")
    import_advisories(db, open_path(AKRITES, "akrites"), source="akrites", origin=str(AKRITES))

    def npm(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"name": "x", "time": {"3.0.5": "2022-10-17T18:28:54.372Z"}})

    with HttpClient(transport=httpx.MockTransport(npm), retry=RetryPolicy(attempts=1)) as http:
        enrich(db, http, ecosystems=["npm"], now=END)

    sources = _sources(db)
    osv = sources["osv"]
    osv_files = sorted((ADVISORIES / "osv").glob("*.*"))  # .json and .yaml records
    assert osv["origin"] == str(ADVISORIES / "osv")
    assert int(osv["records"]) == len(osv_files)
    assert 0 < int(osv["records_used"]) < len(osv_files)  # the period's exposures name some of them
    assert len(osv["sha256"]) == 64
    newest_json = max(json.loads(p.read_text())["modified"] for p in osv_files if p.suffix == ".json")
    assert osv["modified"] >= newest_json[:19]  # the newest record's (RFC 3339, UTC)
    assert osv["fetched_at"]

    assert sources["kev"]["records"] == "2"
    assert sources["kev"]["records_used"] == "1"  # CVE-2023-45803, open on billing-api
    assert sources["kev"]["version"] == "2024.08.30"
    assert sources["kev"]["sha256"] == hashlib.sha256(kev).hexdigest()
    epss_file = (ADVISORIES / "epss" / "epss-demo.csv").read_bytes()
    epss_entries = sum(1 for line in epss_file.decode().splitlines() if line.startswith("CVE-"))
    assert int(sources["epss"]["records"]) == epss_entries > 0
    assert sources["epss"]["version"]
    assert sources["epss"]["sha256"] == hashlib.sha256(epss_file).hexdigest()

    assert sources["akrites"]["records"] == "4"
    assert sources["akrites"]["records_used"] == "0"  # sample records: no demo-fleet package
    assert sources["registry:npm"]["records"] != "0"
    assert len(sources["registry:npm"]["sha256"]) == 64


def test_the_hash_follows_the_records(db: Database, tmp_path: Path) -> None:
    load_demo(db, "demo", FLEET, ADVISORIES)
    before = _sources(db)["osv"]
    folder = tmp_path / "osv"
    folder.mkdir()
    path = sorted((ADVISORIES / "osv").glob("*.json"))[0]
    record = json.loads(path.read_text())
    record["modified"] = "2024-12-01T00:00:00Z"
    record["summary"] = "changed"
    (folder / path.name).write_text(json.dumps(record))
    import_advisories(db, open_path(folder, "osv"), source="osv", origin=str(folder))
    # The demo's own OSV row (the new folder has a row of its own; the rows' order follows the paths).
    after = next(r for r in _rows(db) if r["source"] == "osv" and r["origin"] == before["origin"])
    assert after["sha256"] != before["sha256"]
    assert int(after["records"]) == int(before["records"]) - 1  # one record now comes from elsewhere
