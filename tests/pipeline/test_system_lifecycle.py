"""System lifecycle on the demo fleet, on SQLite and PostgreSQL: decommission, recommission, delete,
owner and tags as report filters, criticality in the SLA policy.

The demo's ``legacy-batch`` (see test_exposures_demo) sends weekly SBOMs until 2024-05-27 and keeps one
open exposure: minimatch 3.0.4, CVE-2022-3517, first seen 2024-03-04 (the fix was published in 2022,
so its clock starts on 2024-03-04). Decommissioned on 2024-06-10, that exposure closes there as
``decommissioned``: censored for time-to-deploy at 98 days instead of at its last snapshot (84 days).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.errors import ConflictError, InputError, NotFoundError
from pipeline.demo import fleet_files, import_demo_advisories, ingest_fleet, load_demo
from pipeline.exposures.build import outdated_systems
from pipeline.exposures.reports import deploy_time_json, exposures_report
from pipeline.ingest import ingest_sbom
from pipeline.match import match_new
from pipeline.plan import plan_json
from pipeline.sla import set_sla_policy
from pipeline.systems import (
    SystemFilter,
    create_system,
    decommission_system,
    delete_system,
    get_system,
    list_snapshots,
    list_systems,
    recommission_system,
    snapshot_components,
    update_system,
)
from pipeline.triage import Actor, AnalysisRequest, set_analysis
from pipeline.uploads import resolve_project
from reports.sla import SlaPolicy
from store.db import Database
from store.queries.organizations import get_organization

ROOT = Path(__file__).resolve().parents[2]
FLEET = ROOT / "sbom_samples" / "demo-fleet"
ADVISORIES = ROOT / "sbom_samples" / "advisories" / "demo"
ORG = "demo"
END = datetime(2024, 9, 2, tzinfo=UTC)
RETIRED = datetime(2024, 6, 10, tzinfo=UTC)
ONE_HOUR = timedelta(hours=1)
NOW = datetime(2024, 9, 1, tzinfo=UTC)
LAST_LEGACY = FLEET / "legacy-batch" / "legacy-batch-2024-05-27.cdx.json"


@pytest.fixture
def demo(db: Database) -> Database:
    load_demo(db, ORG, FLEET, ADVISORIES)
    return db


def product_limit(durations: list[float], events: list[bool], t: float) -> float:
    """S(t), the textbook product-limit estimate written out apart from ``reports.survival``."""
    s = 1.0
    for moment in sorted({d for d, e in zip(durations, events, strict=True) if e and d <= t}):
        at_risk = sum(1 for d in durations if d >= moment)
        deaths = sum(1 for d, e in zip(durations, events, strict=True) if e and d == moment)
        s *= 1 - deaths / at_risk
    return s


def _days(later: str, earlier: str) -> float:
    seconds = (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()
    return max(0.0, seconds / 86400)


def curve_inputs(rows: list[dict[str, Any]], closing: set[str]) -> tuple[list[float], list[bool]]:
    """Each exposure's conservative duration (R, else L, minus clock start) and whether it is an event."""
    durations = [_days(r["resolved_at"] or r["last_affected_seen"], r["clock_start"]) for r in rows]
    return durations, [r["resolution"] in closing for r in rows]


def _legacy(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["system"] == "legacy-batch"]


def test_decommission_closes_open_exposures_and_censors_them(demo: Database) -> None:
    before = deploy_time_json(demo, ORG, END)
    assert "legacy-batch" in {s["system"] for s in before["stale_systems"]}
    row = decommission_system(demo, ORG, "legacy-batch", RETIRED, now=NOW)
    assert row.decommissioned_at == RETIRED
    rows = exposures_report(demo, ORG, "all", END)
    (closed,) = [r for r in _legacy(rows) if r["package"] == "pkg:npm/minimatch"]
    assert (closed["resolved_at"], closed["resolution"]) == ("2024-06-10T00:00:00Z", "decommissioned")
    assert closed["last_affected_seen"] == "2024-05-27T06:00:00Z"  # L is still the last snapshot
    assert closed["stale_system"] is False
    after = deploy_time_json(demo, ORG, END)
    assert "legacy-batch" not in {s["system"] for s in after["stale_systems"]}
    assert (after["open"], after["decommissioned"], after["upgraded"], after["removed"]) == (
        before["open"] - 1,
        1,
        before["upgraded"],
        before["removed"],
    )
    # M1: one more censored duration, now 98 days (2024-03-04T06:00 → 2024-06-10T00:00) instead of 84.
    durations, upgraded = curve_inputs(rows, {"upgraded"})
    assert round(_days(closed["resolved_at"], closed["clock_start"]), 2) == 97.75
    ttd = after["time_to_deploy"]
    was = before["time_to_deploy"]
    assert (ttd["events"], ttd["censored"]) == (was["events"], was["censored"])
    for day in (7, 30, 90):
        assert ttd["within_days"][str(day)] == round(1 - product_limit(durations, upgraded, day), 4)
    # M2: the decommissioning is an event.
    durations, closed_flags = curve_inputs(rows, {"upgraded", "removed", "decommissioned"})
    window = after["exposure_window"]
    assert window["events"] == before["exposure_window"]["events"] + 1
    for day in (7, 30, 90):
        assert window["within_days"][str(day)] == round(1 - product_limit(durations, closed_flags, day), 4)
    # The stored rows were rebuilt in the decommissioning's transaction: nothing is out of date.
    with demo.read() as session:
        org_id = get_organization(session, ORG).id
        assert org_id is not None
        assert outdated_systems(session, org_id) == []


@pytest.mark.parametrize(
    "moment",
    [datetime(2024, 5, 15, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC), RETIRED - ONE_HOUR],
)
def test_reports_before_the_decommissioning_are_unchanged(demo: Database, moment: datetime) -> None:
    exposures, deploy = exposures_report(demo, ORG, "all", moment), deploy_time_json(demo, ORG, moment)
    decommission_system(demo, ORG, "legacy-batch", RETIRED, now=NOW)
    assert exposures_report(demo, ORG, "all", moment) == exposures
    assert deploy_time_json(demo, ORG, moment) == deploy


def test_uploads_are_refused_until_recommissioned(demo: Database) -> None:
    before = exposures_report(demo, ORG, "all", END)
    decommission_system(demo, ORG, "legacy-batch", RETIRED, now=NOW)
    snapshots = list_snapshots(demo, ORG, "legacy-batch")
    for attempt in (
        lambda: ingest_sbom(
            demo, org=ORG, system="legacy-batch", data=LAST_LEGACY.read_bytes(), source="x", max_bytes=10**8
        ),
        lambda: resolve_project(demo, org=ORG, project=None, name="legacy-batch", auto_create=True),
    ):
        with pytest.raises(ConflictError, match="recommission"):
            attempt()
    assert list_snapshots(demo, ORG, "legacy-batch") == snapshots
    with pytest.raises(ConflictError, match="already decommissioned"):
        decommission_system(demo, ORG, "legacy-batch", RETIRED, now=NOW)
    assert recommission_system(demo, ORG, "legacy-batch").decommissioned_at is None
    assert exposures_report(demo, ORG, "all", END) == before  # the exposure is open again
    with pytest.raises(ConflictError, match="not decommissioned"):
        recommission_system(demo, ORG, "legacy-batch")
    result = ingest_sbom(
        demo, org=ORG, system="legacy-batch", data=LAST_LEGACY.read_bytes(), source="x", max_bytes=10**8
    )
    assert result.status == "unchanged"


def test_decommission_moment_is_checked(demo: Database) -> None:
    with pytest.raises(InputError, match="before its last snapshot"):
        decommission_system(demo, ORG, "legacy-batch", datetime(2024, 5, 1, tzinfo=UTC), now=NOW)
    with pytest.raises(InputError, match="in the future"):
        decommission_system(demo, ORG, "legacy-batch", datetime(2024, 9, 2, tzinfo=UTC), now=NOW)
    assert get_system(demo, ORG, "legacy-batch").decommissioned_at is None


def test_delete_needs_confirmation_and_leaves_other_systems_alone(demo: Database) -> None:
    others = [r for r in exposures_report(demo, ORG, "all", END) if r["system"] != "legacy-batch"]
    other_snapshots = {s.name: list_snapshots(demo, ORG, s.name) for s in list_systems(demo, ORG)}
    del other_snapshots["legacy-batch"]
    with pytest.raises(ConflictError, match=r"13 snapshot\(s\), 2 exposure row\(s\)"):
        delete_system(demo, ORG, "legacy-batch", confirm=False)
    assert len(list_snapshots(demo, ORG, "legacy-batch")) == 13
    counts = delete_system(demo, ORG, "legacy-batch", confirm=True)
    assert (counts.snapshots, counts.exposures, counts.upload_jobs) == (13, 2, 0)
    assert "legacy-batch" not in {s.name for s in list_systems(demo, ORG)}
    with pytest.raises(NotFoundError):
        list_snapshots(demo, ORG, "legacy-batch")
    assert exposures_report(demo, ORG, "all", END) == others
    for name, snaps in other_snapshots.items():
        assert list_snapshots(demo, ORG, name) == snaps
        # Their component sets (some shared with the deleted system's snapshots) are all still there.
        assert all(snapshot_components(demo, ORG, s.id).packages for s in snaps)


def test_records_kept_as_evidence_refuse_the_deletion(demo: Database) -> None:
    set_analysis(
        demo,
        ORG,
        AnalysisRequest("CVE-2022-3517", "pkg:npm/minimatch", "in_triage", system="legacy-batch"),
        Actor("sec", "admin", "test"),
    )
    with pytest.raises(ConflictError, match="1 analysis record"):
        delete_system(demo, ORG, "legacy-batch", confirm=True)
    assert len(list_snapshots(demo, ORG, "legacy-batch")) == 13


def test_another_organization_cannot_touch_a_system(demo: Database) -> None:
    create_system(demo, "globex", "mill", {})
    for act in (
        lambda: decommission_system(demo, "globex", "legacy-batch", RETIRED, now=NOW),
        lambda: recommission_system(demo, "globex", "legacy-batch"),
        lambda: delete_system(demo, "globex", "legacy-batch", confirm=True),
        lambda: update_system(demo, "globex", "legacy-batch", {"owner": "x"}),
    ):
        with pytest.raises(NotFoundError):
            act()
    assert get_system(demo, ORG, "legacy-batch").owner is None
    assert len(list_snapshots(demo, ORG, "legacy-batch")) == 13


def test_owner_and_tags_are_edited_validated_and_filter_reports(demo: Database) -> None:
    attributes = {"owner": " Shop@Example.com ", "tags": ["pci", "team:shop", "pci"]}
    row = update_system(demo, ORG, "shop-web", attributes)
    assert (row.owner, row.tags) == ("Shop@Example.com", ("pci", "team:shop"))
    update_system(demo, ORG, "billing-api", {"owner": "payments"}, add_tags=["pci"])
    row = update_system(demo, ORG, "shop-web", {}, add_tags=["web"], remove_tags=["team:shop"])
    assert row.tags == ("pci", "web")
    for bad in ({"tags": ["PCI"]}, {"owner": "a\nb"}, {"owner": "x" * 201}, {"criticality": "urgent"}):
        with pytest.raises(InputError):
            update_system(demo, ORG, "shop-web", bad)
    assert get_system(demo, ORG, "shop-web").tags == ("pci", "web")  # nothing changed
    assert update_system(demo, ORG, "shop-web", {"owner": ""}).owner is None
    update_system(demo, ORG, "shop-web", {"owner": "shop@example.com"})

    pci = SystemFilter.of(None, ["pci"])
    assert [s.name for s in list_systems(demo, ORG, pci)] == ["billing-api", "shop-web"]
    assert [s.name for s in list_systems(demo, ORG, SystemFilter.of(None, ["pci", "web"]))] == ["shop-web"]
    assert [s.name for s in list_systems(demo, ORG, SystemFilter.of("SHOP@example.com"))] == ["shop-web"]
    everything = exposures_report(demo, ORG, "all", END)
    filtered = exposures_report(demo, ORG, "all", END, only=pci)
    assert filtered == [r for r in everything if r["system"] in {"billing-api", "shop-web"}]
    assert {(r["system"], r["owner"], tuple(r["tags"])) for r in filtered} == {
        ("billing-api", "payments", ("pci",)),
        ("shop-web", "shop@example.com", ("pci", "web")),
    }
    deploy = deploy_time_json(demo, ORG, END, only=pci)
    assert deploy["filter"] == {"owner": None, "tags": ["pci"]}
    assert set(deploy["breakdowns"]["system"]) == {"billing-api", "shop-web"}
    assert deploy["open"] + deploy["resolved"] == len(filtered)
    assert "filter" not in deploy_time_json(demo, ORG, END)
    plan = plan_json(demo, ORG, as_of=END, only=SystemFilter.of("payments"))
    assert {s["system"] for a in plan["actions"] for s in a["systems"]} <= {"billing-api"}
    assert plan["total_actions"] >= 1
    with pytest.raises(InputError, match="tag"):
        SystemFilter.of(None, ["Not A Tag"])


def test_criticality_picks_a_tier_when_the_policy_names_it(demo: Database) -> None:
    def billing_tiers() -> set[str | None]:
        rows = exposures_report(demo, ORG, "all", END)
        return {r["sla_tier"] for r in rows if r["system"] == "billing-api"}

    assert billing_tiers() == {"low", "medium"}  # the default policy's tiers
    policy = SlaPolicy.from_json(
        '{"tiers": [{"name": "crown-jewels", "days": 14, "criticality": ["critical"]},'
        ' {"name": "medium", "days": 90, "min_cvss": 4}, {"name": "low", "days": 120}]}'
    )
    set_sla_policy(demo, ORG, policy)
    assert billing_tiers() == {"low", "medium"}  # criticality "medium": the tier does not apply
    update_system(demo, ORG, "billing-api", {"criticality": "critical"})
    assert billing_tiers() == {"crown-jewels"}
    others = {r["sla_tier"] for r in exposures_report(demo, ORG, "all", END) if r["system"] != "billing-api"}
    assert "crown-jewels" not in others


def test_a_moment_between_the_last_snapshot_and_the_decommissioning_reads_as_before(db: Database) -> None:
    # An organization whose only system is legacy-batch: its newest snapshot (2024-05-27) is older than
    # the decommissioning, so a report at 2024-06-01 must recompute, not read the stored (closed) rows.
    files = [(system, path) for system, path in fleet_files(FLEET) if system == "legacy-batch"]
    ingest_fleet(db, "solo", FLEET, files)
    import_demo_advisories(db, ADVISORIES)
    match_new(db)
    moment = datetime(2024, 6, 1, tzinfo=UTC)
    exposures, deploy = exposures_report(db, "solo", "all", moment), deploy_time_json(db, "solo", moment)
    assert [r["resolution"] for r in exposures].count(None) == 1
    decommission_system(db, "solo", "legacy-batch", RETIRED, now=NOW)
    assert exposures_report(db, "solo", "all", moment) == exposures
    assert deploy_time_json(db, "solo", moment) == deploy
    assert [r["resolution"] for r in exposures_report(db, "solo", "all", END)].count("decommissioned") == 1
