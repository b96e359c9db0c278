"""An exposure names every affected version a system runs at its last affected snapshot, each with its
own fixed versions and upgrade, never one already deployed and clean (issue 13's defect), on SQLite and
PostgreSQL, with the real advisories bundled in sbom_samples (minimist GHSA-xvch-5gv4-984h: < 0.2.4 and
1.0.0 to < 1.2.6; ws GHSA-3h5v-q93c-6h6q: fixed in 5.2.4, 6.2.3, 7.5.10, 8.17.1)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from pipeline.advisories.importing import import_advisories
from pipeline.advisories.sources import open_path
from pipeline.exposures.reports import exposures_report
from pipeline.ingest import ingest_sbom
from pipeline.match import match_new
from store.db import Database
from tests.conftest import cyclonedx_json

OSV = Path(__file__).resolve().parents[2] / "sbom_samples" / "advisories" / "demo" / "osv"


def _advisories(db: Database, tmp_path: Path, *ids: str) -> None:
    folder = tmp_path / "osv"
    folder.mkdir()
    for advisory in ids:
        shutil.copy(OSV / f"{advisory}.json", folder)
    import_advisories(db, open_path(folder, "osv"), source="osv", origin="test")


def _snapshot(db: Database, when: str, *versions: tuple[str, str]) -> None:
    components = [(name, v, f"pkg:npm/{name}@{v}") for name, v in versions]
    data = cyclonedx_json(components, timestamp=when)
    ingest_sbom(db, org="acme", system="web", data=data, source=when, max_bytes=10_000_000)
    match_new(db)


def _open(db: Database, package: str) -> list[dict[str, Any]]:
    return [e for e in exposures_report(db, "acme", "open") if e["package"] == package]


def test_two_versions_deployed_at_once_each_get_their_own_advice(db: Database, tmp_path: Path) -> None:
    _advisories(db, tmp_path, "GHSA-xvch-5gv4-984h")
    _snapshot(db, "2024-01-01T00:00:00Z", ("minimist", "0.2.1"), ("minimist", "1.2.5"))
    (exposure,) = _open(db, "pkg:npm/minimist")
    assert exposure["version"] == "1.2.5"  # the last of affected_versions, as documented
    assert exposure["fixed_versions"] == ["1.2.6"]
    versions = exposure["affected_versions"]
    assert [(v["version"], v["fixed_versions"], v["upgrade_to"], v["advice"]) for v in versions] == [
        ("0.2.1", ["0.2.4"], "0.2.4", "upgrade"),
        ("1.2.5", ["1.2.6"], "1.2.6", "upgrade"),
    ]


def test_advice_never_names_a_deployed_clean_version_nor_omits_an_affected_one(
    db: Database, tmp_path: Path
) -> None:
    _advisories(db, tmp_path, "GHSA-3h5v-q93c-6h6q")
    _snapshot(db, "2024-01-01T00:00:00Z", ("ws", "6.1.4"), ("ws", "7.3.1"))
    _snapshot(db, "2024-02-01T00:00:00Z", ("ws", "6.1.4"), ("ws", "7.5.10"))  # only the 7.x copy upgraded
    (exposure,) = _open(db, "pkg:npm/ws")
    assert exposure["version"] == "6.1.4"
    assert exposure["versions"] == ["6.1.4", "7.3.1"]  # the interval's history keeps both
    (only,) = exposure["affected_versions"]
    assert (only["version"], only["fixed_versions"], only["upgrade_to"]) == ("6.1.4", ["6.2.3"], "6.2.3")
    named = {v["version"] for v in exposure["affected_versions"]} | {
        v["upgrade_to"] for v in exposure["affected_versions"]
    }
    assert not named & {"7.3.1", "7.5.10"}
    # The stored rows (read back after the rebuild) and an as-of recomputation say the same.
    again = [e for e in exposures_report(db, "acme", "open", as_of=None) if e["package"] == "pkg:npm/ws"]
    assert again == [exposure]


def test_an_earlier_as_of_names_the_versions_of_that_moment(db: Database, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    _advisories(db, tmp_path, "GHSA-3h5v-q93c-6h6q")
    _snapshot(db, "2024-01-01T00:00:00Z", ("ws", "6.1.4"), ("ws", "7.3.1"))
    _snapshot(db, "2024-02-01T00:00:00Z", ("ws", "6.1.4"), ("ws", "7.5.10"))
    before = exposures_report(db, "acme", "open", as_of=datetime(2024, 1, 15, tzinfo=UTC))
    (exposure,) = [e for e in before if e["package"] == "pkg:npm/ws"]
    assert [v["version"] for v in exposure["affected_versions"]] == ["6.1.4", "7.3.1"]
    assert [v["upgrade_to"] for v in exposure["affected_versions"]] == ["6.2.3", "7.5.10"]
