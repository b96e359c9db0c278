"""Incremental rebuilds stay proportional to the change, and agree with a from-scratch rebuild.

On the report benchmark's generated fleet (60 systems, both databases): a new snapshot of one system
outdates that system only; a new advisory for one package (which also joins another package's
vulnerability group through an alias) outdates only systems that run those packages; a triage
decision rebuilds only systems that run the package it names. After every step the stored rows and
the report documents equal what ``rebuild_all`` (``patchgap db rebuild``) computes from scratch.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from bench.report import START, WEEKS, build_fleet
from cli.main import app
from ingest.advisories.sources.osv import parse_osv_record
from pipeline.advisories.importing import import_advisories
from pipeline.exposures.build import ensure_exposures, outdated_systems, rebuild_all
from pipeline.exposures.reports import deploy_time_json, deploy_time_reference, exposures_report
from pipeline.ingest import ingest_sbom
from pipeline.match import match_new, rematch_keys
from pipeline.triage import Actor, AnalysisRequest, set_analysis
from store.db import Database
from store.queries import exposures as q
from store.schema import metadata
from tests.conftest import cyclonedx_json

ORG = "bench"
END = START + timedelta(days=7 * WEEKS + 7)


def outdated(db: Database) -> set[int]:
    with db.read() as session:
        return set(outdated_systems(session, 1))


def running(db: Database, package: str) -> set[int]:
    """Systems with a snapshot that holds some version of ``package``."""
    snapshot, member, pv = (
        metadata.tables[n] for n in ("snapshot", "component_set_member", "package_version")
    )
    stmt = (
        sa.select(snapshot.c.system_id)
        .select_from(
            snapshot.join(member, member.c.set_id == snapshot.c.component_set_id).join(
                pv, pv.c.id == member.c.package_version_id
            )
        )
        .where(pv.c.name == package)
        .distinct()
    )
    with db.read() as session:
        return set(session.execute(stmt).scalars())


def digests(db: Database) -> dict[int, str]:
    with db.read() as session:
        return q.stored_digests(session, list(range(1, 61)))


def documents(db: Database) -> dict[str, Any]:
    with db.read() as session:
        rows = sorted(repr(r) for r in q.stored_exposures(session, 1))
    return {
        "rows": rows,
        "all": exposures_report(db, ORG, "all", END),
        "excluded": exposures_report(db, ORG, "excluded", END),
        "deploy": deploy_time_json(db, ORG, END),
    }


def assert_agrees_with_from_scratch(db: Database) -> None:
    assert ensure_exposures(db, ORG) == 0
    incremental = documents(db)
    # The summary reads only rebuilt systems' rows again (pipeline.exposures.summary): still the
    # per-exposure reference's numbers.
    assert incremental["deploy"] == {"organization": ORG, **deploy_time_reference(db, ORG, END).to_json()}
    result = rebuild_all(db, ORG)
    assert result.systems == 60
    assert documents(db) == incremental
    assert ensure_exposures(db, ORG) == 0  # the from-scratch digests are the incremental ones


def osv(advisory_id: str, package: str, fixed: str, aliases: list[str]) -> dict[str, object]:
    return {
        "schema_version": "1.6.0",
        "id": advisory_id,
        "modified": "2024-06-01T00:00:00Z",
        "published": "2024-05-01T00:00:00Z",
        "aliases": aliases,
        "summary": "generated",
        "affected": [
            {
                "package": {"ecosystem": "npm", "name": package},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            }
        ],
    }


def test_changes_rebuild_only_what_they_concern(db: Database) -> None:
    build_fleet(db, 60)
    assert ensure_exposures(db, ORG) == 60
    assert outdated(db) == set()

    # One new snapshot of one system.
    components = [("vuln-5", "1.0.1", "pkg:npm/vuln-5@1.0.1"), ("lib-3", "1.0.2", "pkg:npm/lib-3@1.0.2")]
    ingest_sbom(
        db,
        org=ORG,
        system="system-0003",
        data=cyclonedx_json(components, timestamp=(START + timedelta(days=7 * WEEKS)).isoformat()),
        source="late",
        max_bytes=10**6,
    )
    match_new(db)
    assert outdated(db) == {4}  # system-0003 has id 4
    assert ensure_exposures(db, ORG) == 1
    assert_agrees_with_from_scratch(db)

    # A new advisory for vuln-7 that also names vuln-8's CVE (advisory 11 of the generator) as an alias:
    # the two groups become one, so systems running either package change, and no others.
    before = digests(db)
    record = parse_osv_record(
        osv("GHSA-new-0001", "vuln-7", "1.0.9", ["CVE-2023-10011"]), source="osv", origin="test"
    )
    imported = import_advisories(db, [record], source="osv")
    rematch_keys(db, imported.changed_keys)  # as an advisory sync does
    changed = outdated(db)
    concerned = running(db, "vuln-7") | running(db, "vuln-8")
    assert changed
    assert changed <= concerned
    assert len(changed) < 60
    ensure_exposures(db, ORG)
    assert {sid for sid, d in digests(db).items() if d != before[sid]} == changed
    assert_agrees_with_from_scratch(db)

    # A decision about vuln-0's first advisory rebuilds the systems that run vuln-0 only.
    before = digests(db)
    set_analysis(
        db,
        ORG,
        AnalysisRequest(
            "CVE-2023-10001", "pkg:npm/vuln-0", "not_affected", justification="code_not_reachable"
        ),
        Actor("alice", "admin", "api"),
    )
    rebuilt = {sid for sid, d in digests(db).items() if d != before[sid]}
    assert rebuilt
    assert rebuilt <= running(db, "vuln-0")
    assert outdated(db) == set()
    assert_agrees_with_from_scratch(db)


def test_db_rebuild_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["--db", url, "demo", "--org", "fleet"]).exit_code == 0
    result = runner.invoke(app, ["--db", url, "db", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "rebuilt 13 exposure rows of 5 systems in 1 organization(s)" in result.stdout
    unknown = runner.invoke(app, ["--db", url, "db", "rebuild", "--org", "nobody"])
    assert unknown.exit_code == 2
    assert "nobody" in unknown.output


def test_few_and_many_sets_read_to_the_same_exposures(db: Database, monkeypatch: Any) -> None:
    """``set_inputs`` reads a few sets (one system's rebuild) by their members' ids and many in one
    join: a rebuild of every system one way and the other writes the same rows and reports."""
    build_fleet(db, 60)
    with db.read() as session:
        sets = session.execute(sa.select(sa.func.count()).select_from(metadata.tables["component_set"]))
        assert sets.scalar_one() > 1
    found = []
    for few in (0, 10**6):  # every call joined; every call by id
        monkeypatch.setattr(q, "FEW_SETS", few)
        rebuild_all(db, ORG)
        found.append(documents(db))
    assert found[0]["all"]
    assert found[0] == found[1]
