"""CRA Article 14 register end to end on both databases: recorded awareness facts, overrides, deadlines.

Awareness times are wall-clock moments patchgap recorded (an advisory's arrival, a snapshot's receipt,
a KEV catalog's fetch), so the expected values are read back from those source rows, never written
into the test. Deadlines and statuses are checked on a user-set awareness time (fixed dates).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import jsonschema
import pytest
import sqlalchemy as sa

from core.errors import InputError, NotFoundError
from core.time import rfc3339
from ingest.advisories.osv_files import OsvDirectory
from pipeline.advisories.importing import import_advisories
from pipeline.advisories.sources import open_path
from pipeline.advisories.tables import import_table
from pipeline.cra import CaseChanges, list_organizations, set_case, set_manufacturer
from pipeline.exports import export
from pipeline.exposures.reports import exposures_report
from pipeline.ingest import ingest_sbom
from pipeline.match import match_new, rematch_keys
from reports.exports.cra_register import schema_text
from store.db import Database
from store.tables.advisories import Advisory, FeedState, KevEntry
from store.tables.cra import CraExploitedRow, CraPresenceRow
from store.tables.systems import Snapshot
from tests.conftest import cyclonedx_json

ROOT = Path(__file__).resolve().parents[2]
AKRITES = ROOT / "sbom_samples" / "advisories" / "akrites"
DEMO_OSV = ROOT / "sbom_samples" / "advisories" / "demo" / "osv"
ORG = "maker"
PSR7 = "AKRITES-SAMPLE-2026-0004"  # exploited per its Akrites record; fix released 2026-04-09T08:00Z
URLLIB3 = "CVE-2023-45803"  # not exploited per its OSV record; the KEV excerpt below names it
SCHEMA = json.loads(schema_text())


def ingest(db: Database, system: str, components: list[tuple[str, str, str]], observed: str) -> None:
    data = cyclonedx_json(components, timestamp=observed)
    ingest_sbom(db, org=ORG, system=system, data=data, source=f"{system}.json", max_bytes=10_000_000)


def psr7(version: str) -> list[tuple[str, str, str]]:
    return [("guzzlehttp/psr7", version, f"pkg:composer/guzzlehttp/psr7@{version}")]


def import_akrites(db: Database, folder: Path = AKRITES) -> None:
    """Import the Akrites records of ``folder`` and re-match what changed, as ``advisories import`` does."""
    result = import_advisories(db, open_path(folder, "akrites"), source="akrites", origin=str(folder))
    rematch_keys(db, result.changed_keys)


def register(db: Database, as_of: datetime | None = None) -> dict[str, Any]:
    doc = cast(dict[str, Any], json.loads(export(db, ORG, "cra-register", as_of=as_of).content))
    jsonschema.validate(doc, SCHEMA)
    return doc


def one(doc: dict[str, Any], vulnerability: str) -> dict[str, Any]:
    records: list[dict[str, Any]] = doc["records"]
    found = [r for r in records if vulnerability in (r["vulnerability"], r["vulnerability_group"])]
    assert len(found) == 1, doc
    return found[0]


def col(model: type[Any], name: str) -> sa.ColumnElement[Any]:
    return cast(sa.Table, model.__table__).c[name]


def scalar(db: Database, stmt: Any) -> Any:
    with db.connect() as conn:
        return conn.execute(stmt).scalar_one()


def imported_at(db: Database, advisory_id: str) -> datetime:
    value: datetime = scalar(
        db, sa.select(col(Advisory, "imported_at")).where(col(Advisory, "advisory_id") == advisory_id)
    )
    return value


def received_at(db: Database) -> list[datetime]:
    with db.connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                sa.select(col(Snapshot, "received_at")).order_by(col(Snapshot, "received_at"))
            )
        ]


def kev_catalog(cve: str, added: str, *more: str) -> bytes:
    """A KEV catalog in the feed's format listing ``cve`` (and ``more`` CVEs, added the same day);
    CVE-2023-45803 is not actually in KEV."""
    entries = [
        {
            "cveID": listed,
            "vendorProject": "urllib3",
            "product": "urllib3",
            "vulnerabilityName": "test entry",
            "dateAdded": added,
            "shortDescription": "test",
            "requiredAction": "update",
            "dueDate": "2024-01-30",
            "knownRansomwareCampaignUse": "Unknown",
            "notes": "",
        }
        for listed in (cve, *more)
    ]
    doc = {"title": "t", "catalogVersion": "2099.01.01", "dateReleased": "2024-01-09T00:00:00Z"}
    return json.dumps(doc | {"count": len(entries), "vulnerabilities": entries}).encode()


def test_exploited_advisory_present_in_a_product(db: Database, tmp_path: Path) -> None:
    ingest(db, "portal", psr7("1.9.0"), "2026-04-01T00:00:00Z")
    import_akrites(db)  # after the snapshot: presence becomes known when the advisory arrives
    match_new(db)
    set_manufacturer(db, ORG, True)
    doc = register(db)
    record = one(doc, PSR7)

    advisory_time = imported_at(db, PSR7)
    (snapshot_time,) = received_at(db)
    assert record["product"] == "portal"
    assert record["exploited"]["sources"] == ["akrites"]
    assert record["exploited"]["known_at"] == rfc3339(advisory_time)
    assert record["present_known_at"] == rfc3339(max(snapshot_time, advisory_time))
    aware = max(snapshot_time, advisory_time)
    assert record["awareness_at"] == rfc3339(aware)
    assert record["awareness_source"] == "computed"
    assert record["early_warning"]["due"] == rfc3339(aware + timedelta(hours=24))
    assert record["notification"]["due"] == rfc3339(aware + timedelta(hours=72))
    fix = datetime(2026, 4, 9, 8, tzinfo=UTC)
    assert record["fix"] == {
        "available_at": rfc3339(fix),
        "source": "akrites",
        "approximated": False,
        "fixed_versions": ["1.9.1", "2.4.5"],  # the fixed versions of both ranges, as matching names them
    }
    assert record["final_report"]["due"] == rfc3339(max(fix, aware) + timedelta(days=14))
    assert [d["versions"] for d in record["deployments"]] == [["1.9.0"]]
    assert record["open"] is True
    # Recorded once: a changed re-import of the advisory (a newer imported_at) and a later snapshot
    # move nothing.
    changed = json.loads((AKRITES / f"{PSR7}.json").read_bytes()) | {"modified": "2026-05-01T00:00:00Z"}
    (tmp_path / f"{PSR7}.json").write_text(json.dumps(changed))
    import_akrites(db, tmp_path)
    assert imported_at(db, PSR7) > advisory_time
    ingest(db, "portal", [*psr7("1.9.0"), ("x", "1", "pkg:composer/a/x@1")], "2026-04-02T00:00:00Z")
    match_new(db)
    again = one(register(db), PSR7)
    assert (again["awareness_at"], again["exploited"]["known_at"], again["present_known_at"]) == (
        record["awareness_at"],
        record["exploited"]["known_at"],
        record["present_known_at"],
    )


def test_snapshot_after_the_advisory_makes_presence_the_later_fact(db: Database) -> None:
    import_akrites(db)
    ingest(db, "portal", psr7("1.9.0"), "2026-04-01T00:00:00Z")
    match_new(db)
    set_manufacturer(db, ORG, True)
    record = one(register(db), PSR7)
    (snapshot_time,) = received_at(db)
    assert snapshot_time > imported_at(db, PSR7)
    assert record["exploited"]["known_at"] == rfc3339(imported_at(db, PSR7))
    assert record["awareness_at"] == record["present_known_at"] == rfc3339(snapshot_time)


def test_a_group_a_later_snapshot_brings_is_recorded_present_at_that_snapshot(db: Database) -> None:
    """A rebuild records presence only for systems with a group not recorded yet: a later snapshot that
    adds a vulnerable package has its groups recorded at its receipt, the earlier ones keep theirs."""
    import_advisories(db, OsvDirectory(DEMO_OSV).records(), source="osv", origin=str(DEMO_OSV))
    urllib3 = [("urllib3", "1.26.15", "pkg:pypi/urllib3@1.26.15")]
    lodash = [("lodash", "4.17.20", "pkg:npm/lodash@4.17.20")]

    def present() -> dict[str, datetime]:
        exposures_report(db, ORG, "all")  # brings the stored exposures current: the rebuild records
        with db.connect() as conn:
            rows = conn.execute(sa.select(col(CraPresenceRow, "vuln_group"), col(CraPresenceRow, "known_at")))
            return {r[0]: r[1] for r in rows}

    ingest(db, "api", urllib3, "2024-03-04T00:00:00Z")
    match_new(db)
    first = present()
    assert first
    ingest(db, "api", urllib3, "2024-03-11T00:00:00Z")  # nothing new: nothing recorded again
    match_new(db)
    assert present() == first
    ingest(db, "api", urllib3 + lodash, "2024-03-18T00:00:00Z")
    match_new(db)
    later = present()
    added = {g: t for g, t in later.items() if g not in first}
    assert added, later
    assert {g: later[g] for g in first} == first
    assert set(added.values()) == {received_at(db)[-1]}


def test_kev_entry_arriving_after_presence_sets_awareness_and_keeps_it(db: Database) -> None:
    import_advisories(db, OsvDirectory(DEMO_OSV).records(), source="osv", origin=str(DEMO_OSV))
    ingest(db, "api", [("urllib3", "1.26.15", "pkg:pypi/urllib3@1.26.15")], "2024-03-04T00:00:00Z")
    match_new(db)
    set_manufacturer(db, ORG, True)
    assert register(db)["records"] == []  # present, not (yet) known exploited
    with db.connect() as conn:
        present = conn.execute(sa.select(col(CraPresenceRow, "known_at"))).scalar_one()

    import_table(db, "kev", kev_catalog(URLLIB3, "2024-01-05"), origin="kev.json")
    fetched = scalar(db, sa.select(col(FeedState, "fetched_at")).where(col(FeedState, "name") == "kev"))
    record = one(register(db), URLLIB3)
    assert fetched > present
    assert record["exploited"] == {
        "sources": ["kev"],
        "since": "2024-01-05T00:00:00Z",
        "known_at": rfc3339(fetched),
        "known_ransomware": False,
    }
    assert record["present_known_at"] == rfc3339(present)
    assert record["awareness_at"] == rfc3339(fetched)
    assert record["fix"]["fixed_versions"] == ["1.26.18", "2.0.7"]
    # The catalog fetched again (fetch time moves) and a new snapshot: the recorded moment stays.
    import_table(db, "kev", kev_catalog(URLLIB3, "2024-01-05"), origin="kev.json")
    ingest(db, "api", [("urllib3", "1.26.16", "pkg:pypi/urllib3@1.26.16")], "2024-03-11T00:00:00Z")
    match_new(db)
    again = one(register(db), URLLIB3)
    assert again["awareness_at"] == record["awareness_at"]
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(CraExploitedRow)).scalar_one() == 1


def test_kev_listing_time_survives_catalog_refetches_before_any_export(db: Database) -> None:
    import_advisories(db, OsvDirectory(DEMO_OSV).records(), source="osv", origin=str(DEMO_OSV))
    ingest(db, "api", [("urllib3", "1.26.15", "pkg:pypi/urllib3@1.26.15")], "2024-03-04T00:00:00Z")
    match_new(db)
    set_manufacturer(db, ORG, True)
    listed_since = sa.select(col(KevEntry, "listed_since")).where(col(KevEntry, "cve_id") == URLLIB3)
    fetch_time = sa.select(col(FeedState, "fetched_at")).where(col(FeedState, "name") == "kev")

    import_table(db, "kev", kev_catalog(URLLIB3, "2024-01-05"), origin="kev.json")
    first = scalar(db, fetch_time)
    assert scalar(db, listed_since) == first
    # Two more fetches before anything reads the register: the same catalog, then one listing a
    # further CVE (the table is replaced). The urllib3 entry keeps its first listing; the new one
    # takes the fetch that brought it.
    import_table(db, "kev", kev_catalog(URLLIB3, "2024-01-05"), origin="kev.json")
    import_table(db, "kev", kev_catalog(URLLIB3, "2024-01-05", "CVE-2099-0001"), origin="kev.json")
    last = scalar(db, fetch_time)
    assert last > first
    assert scalar(db, listed_since) == first
    newer = sa.select(col(KevEntry, "listed_since")).where(col(KevEntry, "cve_id") == "CVE-2099-0001")
    assert scalar(db, newer) == last

    record = one(register(db), URLLIB3)
    assert record["exploited"]["known_at"] == rfc3339(first)
    assert record["awareness_at"] == rfc3339(first)


def test_appears_gets_a_fix_is_deployed_with_user_awareness_and_submissions(db: Database) -> None:
    import_akrites(db)
    ingest(db, "portal", psr7("1.9.0"), "2026-04-01T00:00:00Z")
    ingest(db, "portal", psr7("1.9.1"), "2026-04-20T00:00:00Z")
    match_new(db)
    set_manufacturer(db, ORG, True)
    case = set_case(
        db,
        ORG,
        "portal",
        "AKRITES-SAMPLE-2026-0004",
        CaseChanges(
            awareness_at=datetime(2026, 4, 8, tzinfo=UTC),
            awareness_note="vendor mail of 8 April",
            early_warning_at=datetime(2026, 4, 8, 20, tzinfo=UTC),
            notification_at=datetime(2026, 4, 12, tzinfo=UTC),
            mitigations=("WAF rule blocks smuggled requests",),
        ),
    )
    assert case["awareness_at"] == "2026-04-08T00:00:00Z"

    record = one(register(db, datetime(2026, 5, 1, tzinfo=UTC)), PSR7)
    assert record["awareness_source"] == "user"  # the override wins over the recorded facts
    assert record["awareness_at"] == "2026-04-08T00:00:00Z"
    assert record["awareness_note"] == "vendor mail of 8 April"
    assert record["early_warning"] == {
        "due": "2026-04-09T00:00:00Z",
        "submitted_at": "2026-04-08T20:00:00Z",
        "status": "met",
    }
    assert record["notification"] == {
        "due": "2026-04-11T00:00:00Z",
        "submitted_at": "2026-04-12T00:00:00Z",
        "status": "late",
    }
    assert record["final_report"] == {
        "due": "2026-04-23T08:00:00Z",
        "submitted_at": None,
        "status": "overdue",
    }
    assert record["mitigations"] == ["WAF rule blocks smuggled requests"]
    assert record["open"] is False
    assert [(d["first_seen"], d["resolved_at"], d["resolution"]) for d in record["deployments"]] == [
        ("2026-04-01T00:00:00Z", "2026-04-20T00:00:00Z", "upgraded")
    ]

    # As it stood on 10 April: notification not yet sent nor due, deployment still open.
    earlier = one(register(db, datetime(2026, 4, 10, tzinfo=UTC)), PSR7)
    assert earlier["notification"] == {
        "due": "2026-04-11T00:00:00Z",
        "submitted_at": None,
        "status": "pending",
    }
    assert earlier["final_report"]["status"] == "pending"
    assert earlier["open"] is True
    assert register(db, datetime(2026, 4, 7, tzinfo=UTC))["records"] == []  # not yet aware

    set_case(db, ORG, "portal", PSR7, CaseChanges(final_report_at=datetime(2026, 4, 22, tzinfo=UTC)))
    assert one(register(db, datetime(2026, 5, 1, tzinfo=UTC)), PSR7)["final_report"]["status"] == "met"
    set_case(db, ORG, "portal", PSR7, CaseChanges(clear_awareness=True))
    assert one(register(db), PSR7)["awareness_source"] == "computed"

    rows = list(csv.DictReader(io.StringIO(export(db, ORG, "cra-register", variant="csv").content.decode())))
    assert [(r["product"], r["vulnerability"], r["final_report_submitted_at"]) for r in rows] == [
        ("portal", PSR7, "2026-04-22T00:00:00Z")
    ]


def test_vex_excluded_and_non_exploited_exposures_are_not_in_the_register(db: Database) -> None:
    import_akrites(db)
    import_advisories(db, OsvDirectory(DEMO_OSV).records(), source="osv", origin=str(DEMO_OSV))
    ingest(db, "portal", psr7("1.9.0"), "2026-04-01T00:00:00Z")
    ingest(db, "api", [("urllib3", "1.26.15", "pkg:pypi/urllib3@1.26.15")], "2026-04-01T00:00:00Z")
    match_new(db)
    set_manufacturer(db, ORG, True)
    assert {e["vulnerability"] for e in exposures_report(db, ORG)} == {PSR7, URLLIB3}
    assert [(r["product"], r["vulnerability"]) for r in register(db)["records"]] == [("portal", PSR7)]


def test_only_manufacturers_get_a_register_and_cases_name_known_things(db: Database) -> None:
    ingest(db, "portal", psr7("1.9.0"), "2026-04-01T00:00:00Z")
    import_akrites(db)
    with pytest.raises(InputError, match="not marked as a manufacturer"):
        export(db, ORG, "cra-register")
    set_manufacturer(db, ORG, True)
    assert list_organizations(db)[0] | {"created_at": None} == {
        "name": ORG,
        "manufacturer": True,
        "akrites_member": False,
        "systems": 1,
        "created_at": None,
    }
    with pytest.raises(NotFoundError, match="organization 'nobody'"):
        set_manufacturer(db, "nobody", True)
    with pytest.raises(NotFoundError, match="system 'nope'"):
        set_case(db, ORG, "nope", PSR7, CaseChanges(awareness_note="x"))
    with pytest.raises(NotFoundError, match="CVE-1999-0001"):
        set_case(db, ORG, "portal", "CVE-1999-0001", CaseChanges(awareness_note="x"))
    with pytest.raises(InputError, match="nothing to set"):
        set_case(db, ORG, "portal", PSR7, CaseChanges())
    with pytest.raises(InputError, match="unknown format"):
        export(db, ORG, "cra-register", variant="xml")
