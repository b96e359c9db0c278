"""Events are written with the change that causes them (``pipeline.events``), on SQLite and PostgreSQL,
through the real data paths: SBOMs ingested and matched, the bundled OSV records (ws
GHSA-3h5v-q93c-6h6q alias CVE-2024-37890, fixed in 6.2.3 for 6.x; minimist GHSA-xvch-5gv4-984h alias
CVE-2021-44906), KEV catalogs in CISA's published format through ``import_table``, queued uploads
through the worker's code."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.errors import StorageError
from core.events import (
    EXPOSURE_CLOSED,
    EXPOSURE_EXPLOITED,
    EXPOSURE_OPENED,
    SLA_BREACHED,
    SLA_DUE_SOON,
    SYNC_FAILED,
    SYSTEM_STALE,
    UPLOAD_FAILED,
)
from pipeline.advisories.importing import import_advisories
from pipeline.advisories.sources import open_path
from pipeline.advisories.tables import import_table
from pipeline.events import evaluate_deadlines, event_page, installation_events
from pipeline.exposures.build import ensure_exposures, rebuild_exposures, rebuild_in
from pipeline.exposures.reports import exposures_report
from pipeline.ingest import ingest_sbom
from pipeline.match import match_new
from pipeline.sla import policy_from_tiers, set_sla_policy
from pipeline.triage import Actor, AnalysisRequest, set_analysis
from pipeline.uploads import enqueue_upload, run_pending
from store.db import Database
from store.queries.notifications import add_event
from store.queries.organizations import get_or_create_organization
from store.tables.exposures import ExposureState
from store.tables.notifications import Event
from tests.conftest import cyclonedx_json

OSV = Path(__file__).resolve().parents[2] / "sbom_samples" / "advisories" / "demo" / "osv"
WS = "GHSA-3h5v-q93c-6h6q"
WS_GROUP = "CVE-2024-37890"  # the group key of ws's advisory and its alias
MAX = 10_000_000
ALICE = Actor("alice", "admin", "api")


def _advisories(db: Database, tmp_path: Path, *ids: str) -> None:
    folder = tmp_path / "osv"
    folder.mkdir(exist_ok=True)
    for advisory in ids:
        shutil.copy(OSV / f"{advisory}.json", folder)
    import_advisories(db, open_path(folder, "osv"), source="osv", origin="test")


def _snapshot(db: Database, system: str, when: str, *versions: tuple[str, str], org: str = "acme") -> None:
    components = [(name, v, f"pkg:npm/{name}@{v}") for name, v in versions]
    data = cyclonedx_json(components, timestamp=when)
    ingest_sbom(
        db, org=org, system=system, data=data, source=f"{system}@{when}", max_bytes=MAX, environment="prod"
    )
    match_new(db)


def _events(db: Database, org: str = "acme", kind: str | None = None) -> list[dict[str, Any]]:
    found = event_page(db, org, kinds=[kind] if kind else None, limit=1000)
    return [{"id": e.id, "kind": e.kind, **e.data} for e in found]


def _kinds(db: Database, org: str = "acme") -> list[str]:
    return [e["kind"] for e in _events(db, org)]


def _kev(*cves: str, version: str = "2024.06.20") -> bytes:
    """A KEV catalog in CISA's published JSON format."""
    catalog = {
        "title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": version,
        "dateReleased": f"{version.replace('.', '-')}T12:00:00.000Z",
        "count": len(cves),
        "vulnerabilities": [
            {
                "cveID": cve,
                "vendorProject": "vendor",
                "product": "product",
                "vulnerabilityName": f"{cve} vulnerability",
                "dateAdded": "2024-06-20",
                "shortDescription": "exploited",
                "requiredAction": "Apply updates per vendor instructions.",
                "dueDate": "2024-07-11",
                "knownRansomwareCampaignUse": "Unknown",
                "notes": "",
            }
            for cve in cves
        ],
    }
    return json.dumps(catalog).encode()


def _ids(db: Database) -> list[int]:
    with db.read() as session:
        return list(session.execute(sa.select(sa.column("id")).select_from(sa.table("system"))).scalars())


def test_an_exposure_opens_once_closes_on_upgrade_and_a_reintroduction_opens_anew(
    db: Database, tmp_path: Path
) -> None:
    _advisories(db, tmp_path, WS)
    _snapshot(db, "web", "2024-01-01T00:00:00Z", ("ws", "6.1.4"))
    ensure_exposures(db, "acme")
    (opened,) = _events(db)
    assert opened["kind"] == EXPOSURE_OPENED
    assert opened["organization"] == "acme"
    assert opened["system"] == {
        "name": "web",
        "environment": "prod",
        "internet_exposed": False,
        "criticality": opened["system"]["criticality"],
        "owner": None,
        "tags": [],
    }
    exposure = opened["exposure"]
    assert (exposure["package"], exposure["package_name"], exposure["vulnerability"]) == (
        "pkg:npm/ws",
        "ws",
        WS_GROUP,
    )
    assert exposure["aliases"] == [WS]
    assert (exposure["versions"], exposure["fixed_versions"]) == (["6.1.4"], ["6.2.3"])
    assert (exposure["first_seen"], exposure["resolved_at"], exposure["kev"]) == (
        "2024-01-01T00:00:00Z",
        None,
        False,
    )
    # Tier and deadline are the exposures report's.
    (row,) = exposures_report(db, "acme", "open")
    assert (exposure["tier"], exposure["due_at"]) == (row["sla_tier"], row["sla_due"])
    assert exposure["tier"] is not None
    assert opened["summary"] == f"web (prod) runs ws 6.1.4, affected by {WS_GROUP}; fixed in 6.2.3"

    # The same inputs rebuilt (explicitly, or by a report) announce nothing again.
    rebuild_exposures(db, _ids(db))
    exposures_report(db, "acme", "all")
    assert _kinds(db) == [EXPOSURE_OPENED]

    _snapshot(db, "web", "2024-02-01T00:00:00Z", ("ws", "6.2.3"))
    ensure_exposures(db, "acme")
    closed = _events(db)[1]
    assert closed["kind"] == EXPOSURE_CLOSED
    assert (closed["exposure"]["resolution"], closed["exposure"]["resolved_at"]) == (
        "upgraded",
        "2024-02-01T00:00:00Z",
    )
    assert "is closed (upgraded" in closed["summary"]

    # A rollback to the affected version is a new interval: a new event, and the old ones stay one each.
    _snapshot(db, "web", "2024-03-01T00:00:00Z", ("ws", "6.1.4"))
    ensure_exposures(db, "acme")
    rebuild_exposures(db, _ids(db))
    events = _events(db)
    assert [e["kind"] for e in events] == [EXPOSURE_OPENED, EXPOSURE_CLOSED, EXPOSURE_OPENED]
    assert events[2]["exposure"]["first_seen"] == "2024-03-01T00:00:00Z"


def test_a_first_build_of_a_long_history_announces_only_what_is_open(db: Database, tmp_path: Path) -> None:
    _advisories(db, tmp_path, WS, "GHSA-xvch-5gv4-984h")
    _snapshot(db, "web", "2024-01-01T00:00:00Z", ("ws", "6.1.4"), ("minimist", "1.2.5"))
    _snapshot(db, "web", "2024-02-01T00:00:00Z", ("ws", "6.2.3"), ("minimist", "1.2.5"))
    _snapshot(db, "web", "2024-03-01T00:00:00Z", ("ws", "6.2.3"), ("minimist", "1.2.5"))
    ensure_exposures(db, "acme")
    events = _events(db)
    assert [(e["kind"], e["exposure"]["package"]) for e in events] == [(EXPOSURE_OPENED, "pkg:npm/minimist")]


def test_a_triage_exclusion_closes_with_its_resolution(db: Database, tmp_path: Path) -> None:
    _advisories(db, tmp_path, WS)
    _snapshot(db, "web", "2024-01-01T00:00:00Z", ("ws", "6.1.4"))
    ensure_exposures(db, "acme")
    reason = "vulnerable_code_not_in_execute_path"
    request = AnalysisRequest(WS, "pkg:npm/ws", "not_affected", justification=reason)
    set_analysis(db, "acme", request, ALICE)
    ensure_exposures(db, "acme")
    opened, closed = _events(db)
    assert (opened["kind"], closed["kind"]) == (EXPOSURE_OPENED, EXPOSURE_CLOSED)
    assert closed["exposure"]["resolution"] == "vex_not_affected"
    assert "triaged as not affected" in closed["summary"]


def test_a_rolled_back_rebuild_writes_no_event(db: Database, tmp_path: Path) -> None:
    _advisories(db, tmp_path, WS)
    _snapshot(db, "web", "2024-01-01T00:00:00Z", ("ws", "6.1.4"))
    ids = _ids(db)

    def rebuild_then_fail() -> None:
        with db.write() as session:
            assert rebuild_in(session, ids) == 1
            # A later statement of the same unit of work fails (the build state is already recorded for
            # this system: a primary-key violation), so the whole unit rolls back, events included.
            row = {"system_id": ids[0], "inputs_digest": "x", "built_at": datetime.now(UTC)}
            session.execute(sa.insert(ExposureState).values(row))

    with pytest.raises(StorageError):
        rebuild_then_fail()
    with db.read() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Event)).scalar_one() == 0
        assert session.execute(sa.select(sa.func.count()).select_from(ExposureState)).scalar_one() == 0
    # The change made again, for real, announces the exposure once.
    ensure_exposures(db, "acme")
    assert _kinds(db) == [EXPOSURE_OPENED]


def test_kev_newly_listing_a_cve_announces_its_open_exposures_once(db: Database, tmp_path: Path) -> None:
    _advisories(db, tmp_path, WS, "GHSA-xvch-5gv4-984h")
    _snapshot(db, "web", "2024-01-01T00:00:00Z", ("ws", "6.1.4"), ("minimist", "1.2.5"))
    _snapshot(db, "api", "2024-01-01T00:00:00Z", ("ws", "6.1.4"))
    _snapshot(db, "api", "2024-02-01T00:00:00Z", ("ws", "6.2.3"))  # fixed: not open any more
    _snapshot(db, "mill", "2024-01-01T00:00:00Z", ("ws", "7.0.0"), org="globex")
    ensure_exposures(db, "acme")
    ensure_exposures(db, "globex")
    before = {org: len(_events(db, org)) for org in ("acme", "globex")}

    catalog = _kev("CVE-2024-37890")
    assert import_table(db, "kev", catalog, origin="kev.json").changed
    exploited = _events(db, kind=EXPOSURE_EXPLOITED)
    assert [(e["system"]["name"], e["exposure"]["vulnerability"]) for e in exploited] == [("web", WS_GROUP)]
    (event,) = exploited
    assert event["exposure"]["kev"] is True
    assert event["exposure"]["tier"] is not None
    assert event["summary"].startswith(f"{WS_GROUP} is now known to be exploited: web (prod) runs ws 6.1.4")
    # Every organization with an open exposure of it hears of it, in its own events.
    (other,) = _events(db, "globex", kind=EXPOSURE_EXPLOITED)
    assert (other["organization"], other["system"]["name"]) == ("globex", "mill")

    # The same catalog again changes nothing; a new catalog that still lists it announces nothing new;
    # a catalog listing another CVE announces only that one's exposures.
    assert not import_table(db, "kev", catalog, origin="kev.json").changed
    unrelated = _kev("CVE-2024-37890", "CVE-2000-0001", version="2024.06.21")
    assert import_table(db, "kev", unrelated, origin="kev.json").changed
    assert len(_events(db, kind=EXPOSURE_EXPLOITED)) == 1
    minimist = _kev("CVE-2024-37890", "CVE-2021-44906", version="2024.06.22")
    assert import_table(db, "kev", minimist, origin="kev.json").changed
    kinds = [(e["kind"], e["exposure"]["package"]) for e in _events(db)[before["acme"] :]]
    assert kinds == [(EXPOSURE_EXPLOITED, "pkg:npm/ws"), (EXPOSURE_EXPLOITED, "pkg:npm/minimist")]
    assert len(_events(db, "globex")) == before["globex"] + 1

    # An exposure opening while its vulnerability is already exploited says so when it opens.
    _snapshot(db, "db", "2024-03-01T00:00:00Z", ("ws", "6.1.4"))
    ensure_exposures(db, "acme")
    last = _events(db)[-1]
    assert (last["kind"], last["system"]["name"], last["exposure"]["kev"]) == (EXPOSURE_OPENED, "db", True)
    assert last["summary"].endswith(f"affected by {WS_GROUP} (KEV); fixed in 6.2.3")


def test_deadlines_are_announced_once_per_deadline(db: Database, tmp_path: Path) -> None:
    _advisories(db, tmp_path, WS)
    _snapshot(db, "web", "2024-01-01T00:00:00Z", ("ws", "6.1.4"))
    ensure_exposures(db, "acme")
    due = datetime.fromisoformat(_events(db)[0]["exposure"]["due_at"].replace("Z", "+00:00"))

    # Well before the deadline: nothing (the system is not stale either: its snapshot is a day old).
    assert evaluate_deadlines(db, datetime(2024, 1, 2, tzinfo=UTC), due_within_days=3) == 0
    # The advisory's fix came months after first_seen: by then the system is silent for more than twice
    # its 7-day cadence, too.
    assert evaluate_deadlines(db, due - timedelta(days=2), due_within_days=3) == 2
    assert evaluate_deadlines(db, due - timedelta(days=1), due_within_days=3) == 0  # the same facts
    soon = _events(db, kind=SLA_DUE_SOON)
    assert [e["sla"]["due_at"] for e in soon] == [_events(db)[0]["exposure"]["due_at"]]
    assert soon[0]["sla"]["days_left"] == 2.0
    assert soon[0]["sla"]["tier"] == soon[0]["exposure"]["tier"]
    assert "is due in 2.0 days" in soon[0]["summary"]
    (stale,) = _events(db, kind=SYSTEM_STALE)
    assert stale["stale"] == {"last_snapshot_at": "2024-01-01T00:00:00Z", "cadence_days": 7}
    assert stale["system"]["name"] == "web"

    later = due + timedelta(days=1)
    assert evaluate_deadlines(db, later, due_within_days=3) == 1
    assert evaluate_deadlines(db, later + timedelta(days=5), due_within_days=3) == 0
    (breached,) = _events(db, kind=SLA_BREACHED)
    assert breached["exposure"]["vulnerability"] == WS_GROUP
    assert f"passed its {breached['sla']['tier']} SLA deadline" in breached["summary"]

    # Another deadline (the tier's days changed) is a new fact; a new snapshot starts a new silence.
    policy = policy_from_tiers([f"{breached['exposure']['tier']}=200"], _policy(db))
    set_sla_policy(db, "acme", policy)
    assert evaluate_deadlines(db, later, due_within_days=3) == 0  # not due within 3 days any more
    assert evaluate_deadlines(db, due + timedelta(days=200), due_within_days=3) == 1
    assert len(_events(db, kind=SLA_BREACHED)) == 2
    _snapshot(db, "web", "2024-06-01T00:00:00Z", ("ws", "6.1.4"))
    assert evaluate_deadlines(db, datetime(2024, 7, 1, tzinfo=UTC), due_within_days=3) == 1
    assert len(_events(db, kind=SYSTEM_STALE)) == 2


def _policy(db: Database) -> Any:
    from pipeline.sla import get_sla_policy

    return get_sla_policy(db, "acme")[0]


def test_an_accepted_risk_gets_no_deadline_events(db: Database, tmp_path: Path) -> None:
    _advisories(db, tmp_path, WS)
    _snapshot(db, "web", "2024-01-01T00:00:00Z", ("ws", "6.1.4"))
    request = AnalysisRequest(
        WS, "pkg:npm/ws", "accepted_risk", expires_at=datetime(2030, 1, 1, tzinfo=UTC), approver="ciso"
    )
    set_analysis(db, "acme", request, ALICE)
    assert evaluate_deadlines(db, datetime(2025, 1, 1, tzinfo=UTC), due_within_days=3) == 1
    assert _kinds(db) == [EXPOSURE_OPENED, SYSTEM_STALE]


def test_a_failed_upload_is_announced_once_in_the_transaction_that_marks_it(db: Database) -> None:
    with db.write() as session:
        org_id = get_or_create_organization(session, "acme").id
    assert org_id is not None
    token = enqueue_upload(
        db, org_id=org_id, org="acme", system="app", data=b"<nonsense/>", source="ci bom", max_bytes=MAX
    ).token
    assert run_pending(db, max_bytes=MAX) == 1
    (event,) = _events(db)
    assert event["kind"] == UPLOAD_FAILED
    assert event["upload"]["token"] == token
    assert event["upload"]["system"] == "app"
    assert event["upload"]["error"].startswith("ci bom: ")
    assert "system" not in event  # the system was never created
    assert event["summary"].startswith(f"the upload {token} of app failed: ci bom: ")


def test_each_organization_reads_its_own_events_and_the_installations(db: Database, tmp_path: Path) -> None:
    _advisories(db, tmp_path, WS)
    _snapshot(db, "web", "2024-01-01T00:00:00Z", ("ws", "6.1.4"))
    _snapshot(db, "mill", "2024-01-01T00:00:00Z", ("ws", "6.1.4"), org="globex")
    ensure_exposures(db, "acme")
    ensure_exposures(db, "globex")
    with db.write() as session:
        add_event(session, None, SYNC_FAILED, "osv:1", {"summary": "the osv sync failed"})
    acme = event_page(db, "acme")
    assert [(e.kind, e.organization) for e in acme] == [(EXPOSURE_OPENED, "acme"), (SYNC_FAILED, None)]
    assert [e.data["system"]["name"] for e in acme[:1]] == ["web"]
    globex = event_page(db, "globex")
    assert [(e.kind, e.organization) for e in globex] == [(EXPOSURE_OPENED, "globex"), (SYNC_FAILED, None)]
    assert event_page(db, "acme", after=acme[0].id) == acme[1:]
    everything = installation_events(db)
    assert sorted((e.organization or "-") for e in everything) == ["-", "acme", "globex"]


AKRITES = Path(__file__).resolve().parents[2] / "sbom_samples" / "advisories" / "akrites"
PSR7 = "AKRITES-SAMPLE-2026-0004"


def test_an_advisory_newly_flagging_exploitation_announces_its_open_exposures(
    db: Database, tmp_path: Path
) -> None:
    """The bundled Akrites record flags psr7's flaw exploited; an earlier copy of it that did not is
    imported first (the feed's record as it stood before the flag was set)."""
    record = json.loads((AKRITES / f"{PSR7}.json").read_text())
    earlier = {**record, "modified": "2026-04-10T00:00:00Z"}
    earlier["database_specific"] = {"akrites": {**record["database_specific"]["akrites"], "exploited": False}}
    folder = tmp_path / "akrites"
    folder.mkdir()
    (folder / f"{PSR7}.json").write_text(json.dumps(earlier))
    import_advisories(db, open_path(folder, "akrites"), source="akrites", origin="earlier")
    data = cyclonedx_json(
        [("guzzlehttp/psr7", "1.9.0", "pkg:composer/guzzlehttp/psr7@1.9.0")], timestamp="2026-04-01T00:00:00Z"
    )
    ingest_sbom(db, org="acme", system="portal", data=data, source="portal.json", max_bytes=MAX)
    match_new(db)
    ensure_exposures(db, "acme")
    (opened,) = _events(db)
    assert (opened["kind"], opened["exposure"]["kev"]) == (EXPOSURE_OPENED, False)

    (folder / f"{PSR7}.json").write_text(json.dumps(record))
    import_advisories(db, open_path(folder, "akrites"), source="akrites", origin="flagged")
    exploited = _events(db, kind=EXPOSURE_EXPLOITED)
    assert [(e["system"]["name"], e["exposure"]["kev"]) for e in exploited] == [("portal", True)]
    assert exploited[0]["exposure"]["tier"] in ("exploited", "exploited-internet")
    # Importing it again changes nothing and announces nothing.
    import_advisories(db, open_path(folder, "akrites"), source="akrites", origin="flagged")
    assert len(_events(db)) == 2


def test_a_decommissioned_system_closes_its_exposures_and_is_never_stale(
    db: Database, tmp_path: Path
) -> None:
    from pipeline.systems import decommission_system, update_system

    _advisories(db, tmp_path, WS)
    _snapshot(db, "web", "2024-01-01T00:00:00Z", ("ws", "6.1.4"))
    update_system(db, "acme", "web", {"owner": "team-web", "tags": ["pci"]})
    ensure_exposures(db, "acme")
    (opened,) = _events(db)
    assert (opened["system"]["owner"], opened["system"]["tags"]) == ("team-web", ["pci"])
    decommission_system(db, "acme", "web", datetime(2024, 2, 1, tzinfo=UTC))
    closed = _events(db)[-1]
    assert (closed["kind"], closed["exposure"]["resolution"]) == (EXPOSURE_CLOSED, "decommissioned")
    assert "the system was decommissioned" in closed["summary"]
    assert evaluate_deadlines(db, datetime(2025, 1, 1, tzinfo=UTC), due_within_days=3) == 0
    assert _kinds(db) == [EXPOSURE_OPENED, EXPOSURE_CLOSED]
