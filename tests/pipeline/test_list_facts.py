"""After advisories, KEV or EPSS change, the list rows and plan items are recomputed only for the
systems whose vulnerability groups or packages the change speaks of; every other system keeps its rows
under a new stamp. Whatever was recomputed or kept equals a recomputation from scratch, and the plan
and the list still answer as the reports computed in memory."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from core.embargo import public, viewing
from core.time import utcnow
from ingest.advisories.sources.akrites import parse_akrites_record
from ingest.advisories.sources.osv import parse_osv_record
from pipeline.advisories.importing import import_advisories
from pipeline.advisories.refresh import refresh_after_import
from pipeline.advisories.tables import import_table
from pipeline.exposures.build import ensure_exposures
from pipeline.lists.exposures import ExposureQuery, rebuild_lists, refresh_list, system_stamps
from store.db import Database
from store.queries.organizations import get_organization
from tests.pipeline.test_exposure_list import _REPORTS, _fleet, check, stored_list
from tests.pipeline.test_plan_list import assert_plans_equal, stored_items

SYSTEMS = 40


def _systems_with(db: Database, *, groups: Collection[str] = (), packages: Collection[str] = ()) -> set[int]:
    """The systems with stored exposure rows of these groups or packages (by name)."""
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT system_id, vuln_group, package_name FROM exposure")).all()
    return {r[0] for r in rows if r[1] in groups or r[2] in packages}


def _kev(db: Database) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT cve_id, date_added FROM kev_entry ORDER BY cve_id")).all()
    return [{"cveID": r[0], "dateAdded": str(r[1])[:10], "dueDate": "2024-01-01"} for r in rows]


def _catalog(entries: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "catalogVersion": "2026.12.01",
            "dateReleased": "2026-12-01T00:00:00.000Z",
            "count": len(entries),
            "vulnerabilities": entries,
        }
    ).encode()


def _epss(db: Database, added: str) -> bytes:
    """The EPSS scores as stored, and one line more (of a CVE without a score)."""
    with db.engine.connect() as conn:
        scores = conn.execute(sa.text("SELECT cve_id, epss, percentile FROM epss_score ORDER BY 1")).all()
    assert added.split(",", maxsplit=1)[0] not in {r[0] for r in scores}
    lines = [f"{r[0]},{r[1]!r},{r[2]!r}" for r in scores] + [added]
    return ("cve,epss,percentile\n" + "\n".join(lines) + "\n").encode()


def _stamps(db: Database) -> dict[int, str]:
    with db.engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT system_id, stamp FROM exposure_list_state")).all())


def _org_id(db: Database) -> int:
    with db.read() as session:
        org_id = get_organization(session, "bench").id
    assert org_id is not None
    return org_id


def _rows_by_system(db: Database) -> dict[int, list[tuple[Any, ...]]]:
    """Each system's list rows without their ids (which a recomputation renews)."""
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM exposure_list ORDER BY ident, state")).mappings().all()
    out: dict[int, list[tuple[Any, ...]]] = {}
    for r in rows:
        out.setdefault(r["system_id"], []).append(tuple(v for k, v in r.items() if k != "exposure_id"))
    return out


def _vuln3_at_105(record_id: str, alias: str) -> dict[str, Any]:
    """An OSV record of vuln-3 affecting 1.0.5 alone: the version the bench fleet's older vuln-3
    versions are advised to upgrade to."""
    return {
        "schema_version": "1.6.0",
        "id": record_id,
        "modified": "2024-06-01T00:00:00Z",
        "published": "2024-05-01T00:00:00Z",
        "aliases": [alias],
        "affected": [
            {
                "package": {"ecosystem": "npm", "name": "vuln-3"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.5"}, {"fixed": "1.0.6"}]}],
            }
        ],
    }


def _listed(db: Database) -> None:
    ensure_exposures(db, "bench")
    refresh_list(db, "bench")


def _assert_from_scratch(db: Database) -> None:
    """The stored list and plan items equal what a recomputation of every system writes, and pages
    still answer as the reports do."""
    kept_list, kept_items = stored_list(db), stored_items(db)
    assert rebuild_lists(db, "bench") == SYSTEMS
    assert stored_list(db) == kept_list
    assert stored_items(db) == kept_items
    _REPORTS.clear()
    check(db, "bench", ExposureQuery(status="all"))
    check(db, "bench", ExposureQuery(kev=True, status="all"))
    check(db, "bench", ExposureQuery(sort="epss", descending=True))


def test_a_kev_addition_recomputes_only_the_systems_of_its_group(db: Database) -> None:
    _fleet(db)
    _listed(db)
    org_id = _org_id(db)
    before, kept = _stamps(db), dict(system_stamps(db, org_id) or {})
    rows_before = _rows_by_system(db)
    # CVE-2023-10005 is vuln-3's advisory (the bench generator's numbering); it was not in KEV.
    entries = _kev(db)
    assert "CVE-2023-10005" not in {e["cveID"] for e in entries}
    added = {"cveID": "CVE-2023-10005", "dateAdded": "2023-02-16"}
    import_table(db, "kev", _catalog([*entries, added]), origin="kev.json")
    runners = _systems_with(db, groups={"CVE-2023-10005"})
    assert 0 < len(runners) < SYSTEMS
    assert ensure_exposures(db, "bench") == 0  # KEV moves no exposure
    assert refresh_list(db, "bench") == len(runners)
    after, now = _stamps(db), system_stamps(db, org_id) or {}
    rows_after = _rows_by_system(db)
    for sid in before:
        if sid in runners:
            assert rows_after[sid] != rows_before[sid]
            assert now[sid] != kept[sid]
        else:
            # Kept rows under the new facts token; the same stamp in this process.
            assert rows_after.get(sid) == rows_before.get(sid)
            assert after[sid] != before[sid]
            assert after[sid].split(".")[2] == before[sid].split(".")[2]
            assert now[sid] == kept[sid]
    assert refresh_list(db, "bench") == 0
    assert_plans_equal(db, "bench", [None])
    _assert_from_scratch(db)


def test_a_token_that_moves_no_fact_recomputes_nothing(db: Database) -> None:
    """A KEV entry of a CVE no system has, and an EPSS score of one: new stamps, the same rows."""
    _fleet(db)
    _listed(db)
    org_id = _org_id(db)
    rows_before, kept = _rows_by_system(db), dict(system_stamps(db, org_id) or {})
    added = {"cveID": "CVE-2019-0001", "dateAdded": "2020-01-01"}
    import_table(db, "kev", _catalog([*_kev(db), added]), origin="kev.json")
    assert refresh_list(db, "bench") == 0
    import_table(db, "epss", _epss(db, "CVE-2019-0001,0.5,0.9"), origin="epss.csv")
    assert refresh_list(db, "bench") == 0
    assert _rows_by_system(db) == rows_before
    assert system_stamps(db, org_id) == kept
    assert_plans_equal(db, "bench", [None])
    _assert_from_scratch(db)


def test_an_epss_score_recomputes_only_the_systems_of_its_group(db: Database) -> None:
    _fleet(db)
    _listed(db)
    # The scores as they are, and one more: CVE-2023-10007 (vuln-4) had none.
    import_table(db, "epss", _epss(db, "CVE-2023-10007,0.97,0.999"), origin="epss.csv")
    runners = _systems_with(db, groups={"CVE-2023-10007"})
    assert 0 < len(runners) < SYSTEMS
    assert refresh_list(db, "bench") == len(runners)
    _assert_from_scratch(db)


def test_an_advisory_of_a_package_recomputes_the_systems_that_run_it(db: Database) -> None:
    """A new advisory of vuln-3 affecting only 1.0.5 — the version every older one was advised to
    upgrade to —: systems running 1.0.5 are newly exposed; every system with vuln-3 exposures gets
    new upgrade advice although the new group is none of its exposures'. No other is recomputed."""
    _fleet(db)
    _listed(db)
    vuln3 = _systems_with(db, packages={"vuln-3"})
    assert 0 < len(vuln3) < SYSTEMS
    record = _vuln3_at_105("GHSA-test-new", "CVE-2024-99999")
    imported = import_advisories(db, [parse_osv_record(record, source="osv", origin="test")], source="osv")
    refreshed = refresh_after_import(db, imported.changed_keys)
    exposed = _systems_with(db, groups={"CVE-2024-99999", "GHSA-test-new"})
    assert refreshed.listed == len(vuln3 | exposed) < SYSTEMS
    assert vuln3 - exposed  # some recomputed for the advice alone
    assert_plans_equal(db, "bench", [None])
    _assert_from_scratch(db)


def test_a_disclosure_recomputes_the_systems_whose_advice_it_changes(db: Database) -> None:
    """An embargoed Akrites record of vuln-3 affecting only 1.0.5 (what older versions are advised to
    upgrade to) is disclosed in a week: nothing is written then, but from that moment every system
    with vuln-3 exposures is advised otherwise, although only those running 1.0.5 have the record's
    group. Exactly those systems are recomputed when a list is read after the disclosure."""
    _fleet(db)
    _listed(db)
    vuln3 = _systems_with(db, packages={"vuln-3"})
    disclosed = utcnow() + timedelta(days=7)
    record = _vuln3_at_105("AKRITES-TEST0001", "CVE-2024-99998")
    record["database_specific"] = {
        "akrites": {"case_id": "AK-TEST-1", "disclosed_at": disclosed.isoformat().replace("+00:00", "Z")}
    }
    imported = import_advisories(db, [parse_akrites_record(record, "test")], source="akrites")
    refresh_after_import(db, imported.changed_keys)
    exposed = _systems_with(db, groups={"CVE-2024-99998", "AKRITES-TEST0001"})
    assert exposed
    assert vuln3 - exposed
    assert_plans_equal(db, "bench", [None])
    with viewing(public(disclosed + timedelta(days=1))):
        assert ensure_exposures(db, "bench") == 0
        assert refresh_list(db, "bench") == len(vuln3 | exposed) < SYSTEMS
        assert_plans_equal(db, "bench", [None])
        _assert_from_scratch(db)
