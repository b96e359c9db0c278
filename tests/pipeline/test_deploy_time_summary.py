"""The organization's deploy-time report from stored rows as columns (``pipeline.exposures.summary``)
equals the per-exposure reference (``deploy_time_reference``) on generated fleets, both databases.

Fleets: the report benchmark's generator at 120 systems (rollbacks, stale systems, KEV, EPSS,
internet-exposed systems) with triage decisions and a custom SLA policy on top, and the demo fleet.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.change import new_snapshot
from bench.report import START, WEEKS, _cyclonedx, build_fleet
from core.time import utcnow, utcnow_seconds
from pipeline.demo import load_demo
from pipeline.exposures.reports import (
    deploy_time,
    deploy_time_json,
    deploy_time_reference,
    report_inputs,
    stored_exposure,
)
from pipeline.exposures.summary import stored_deploy_time
from pipeline.ingest import ingest_sbom
from pipeline.match import match_new
from pipeline.sla import set_sla_policy
from pipeline.systems import SystemFilter, decommission_system, delete_system, update_system
from pipeline.triage import Actor, AnalysisRequest, set_analysis
from reports.deploy_time import DeployTimeReport
from reports.deploy_time_columns import _LazyCurve
from reports.sla import SlaPolicy, SlaTier
from store.db import Database, Tx
from store.queries import exposures as exposure_queries
from store.queries import systems as system_queries
from store.queries.organizations import get_organization
from store.queries.systems import org_systems

ROOT = Path(__file__).resolve().parents[2]
END = START + timedelta(days=7 * WEEKS)
ADMIN = Actor("alice", "admin", "api")


def assert_same(fast: DeployTimeReport | None, reference: DeployTimeReport) -> None:
    """Equal documents, overall curves and, materialized, every breakdown group's curves."""
    assert fast is not None
    assert fast.to_json() == reference.to_json()
    assert fast.overall == reference.overall  # the curves too (the charts draw them)
    assert [(d, [k for k, _ in g]) for d, g in fast.breakdowns] == [
        (d, [k for k, _ in g]) for d, g in reference.breakdowns
    ]
    for (_, groups), (_, expected) in zip(fast.breakdowns, reference.breakdowns, strict=True):
        for (_, mine), (_, theirs) in zip(groups, expected, strict=True):
            for metric in ("time_to_deploy", "exposure_window"):
                a, b = getattr(mine, metric), getattr(theirs, metric)
                assert (a.conservative, a.optimistic) == (b.conservative, b.optimistic)
                assert isinstance(a.conservative_curve, _LazyCurve)
                assert a.conservative_curve.materialized() == b.conservative_curve
                assert a.conservative_curve.median == b.conservative_curve.median


def test_bench_fleet_with_triage_and_a_policy(db: Database) -> None:
    build_fleet(db, 120)
    # Advisory k of the generator is CVE-2023-(10000 + k); vuln-0 has two (k = 1, 2), vuln-1 one (3) …
    decisions = [
        AnalysisRequest(
            "CVE-2023-10001",
            "pkg:npm/vuln-0",
            "accepted_risk",
            comment="later",
            expires_at=utcnow() + timedelta(days=20),
            approver="ciso",
        ),
        AnalysisRequest(
            "CVE-2023-10003", "pkg:npm/vuln-1", "not_affected", justification="code_not_reachable"
        ),
        AnalysisRequest("CVE-2023-10004", "pkg:npm/vuln-2", "exploitable", system="system-0002"),
        AnalysisRequest("CVE-2023-10005", "pkg:npm/vuln-3", "false_positive", comment="wrong package"),
    ]
    for request in decisions:
        set_analysis(db, "bench", request, ADMIN, allow_unmatched=True)
    # Lifecycle: owners and tags, a critical system, and two decommissionings (a stale system after
    # it went silent, and one the day before the end).
    for name, owner, tags in (
        ("system-0004", "ops@example.org", ["web"]),
        ("system-0009", "OPS@example.org", []),
    ):
        update_system(db, "bench", name, {"owner": owner, "tags": tags})
    update_system(db, "bench", "system-0011", {"tags": ["web", "eu"]})
    update_system(db, "bench", "system-0005", {"criticality": "critical"})
    stale = deploy_time_reference(db, "bench", END).stale_systems[0]
    decommission_system(db, "bench", stale.system, stale.last_snapshot + timedelta(days=10))
    decommission_system(db, "bench", "system-0007", END - timedelta(days=1))
    set_sla_policy(
        db,
        "bench",
        SlaPolicy(
            (
                SlaTier("critical-system", 3, criticality=("critical",), min_cvss=5.0),
                SlaTier("urgent", 2.5, exploited=True),
                SlaTier("serious", 10.25, min_cvss=7.0),
                SlaTier("rest", 45),
            )
        ),
    )
    # A system first seen ten days before the end, with packages of both exclusions: the looks back
    # before it see neither it nor its excluded intervals.
    data = _cyclonedx(
        [("vuln-0", "1.0.0"), ("vuln-1", "1.0.1"), ("vuln-3", "1.0.0")], END - timedelta(days=10)
    )
    ingest_sbom(db, org="bench", system="system-late", data=data, source="test", max_bytes=len(data))
    match_new(db)
    # Looks back (before the newest snapshot, one before system-0007's decommissioning: the stored
    # rows cut there), then moments after it. The accepted risk is in force at all but the last.
    looks_back = (END - timedelta(days=200), END - timedelta(days=30, hours=5), END - timedelta(days=2))
    later = (END, END + timedelta(days=1, seconds=7), utcnow_seconds() + timedelta(days=60))
    # A system silent at the second look back and heard from again before the end: stale then.
    silent = next(
        s.system
        for s in deploy_time_reference(db, "bench", looks_back[1]).stale_systems
        if s.system not in {stale.system, "system-0007"}
    )
    with db.read() as session:
        system_id = system_queries.get_system(session, "bench", silent).id or 0
    new_snapshot(db, system_id, END - timedelta(days=5))
    references = []
    for moment in (*looks_back, *later):
        reference = deploy_time_reference(db, "bench", moment)
        assert_same(stored_deploy_time(db, "bench", moment), reference)
        references.append(reference)
        if moment not in (looks_back[1], END):
            continue
        for only in (SystemFilter.of(owner="ops@example.org"), SystemFilter.of(tags=["web"])):
            assert_same(
                stored_deploy_time(db, "bench", moment, only=only),
                deploy_time_reference(db, "bench", moment, only=only),
            )
    documents = [r.to_json() for r in references]
    for document in documents[1:]:
        counts = document["triage"]
        assert counts["excluded"]["not_affected"] > 0
        assert counts["excluded"]["false_positive"] > 0
        assert any(s["tier"] == "critical-system" and s["exposures"] for s in document["sla"])
    # What the looks back see differs: fewer excluded intervals, fewer closed by a decommissioning.
    excluded = [sum(d["triage"]["excluded"].values()) for d in documents[:4]]
    assert excluded[0] == excluded[1] < excluded[2] == excluded[3]
    assert 0 < references[2].overall.decommissioned < references[3].overall.decommissioned
    assert silent in {s.system for s in references[1].stale_systems}
    assert silent not in {s.system for s in references[3].stale_systems}
    assert len({repr(d["time_to_deploy"]) for d in (documents[0], documents[1], documents[3])}) == 3
    assert deploy_time_reference(db, "bench", END).risk_accepted > 0


def test_a_version_record_takes_the_reference_path(db: Database) -> None:
    """A look back where an analysis record names a version an interval ran then, before its last one,
    is recomputed from the snapshots: the stored row carries the record of its last version (none
    here), not the one that decided about the interval then."""
    build_fleet(db, 12)
    moment = END - timedelta(days=60)
    deploy_time_json(db, "bench", END)  # the stored rows built
    with db.read() as session:
        rows = exposure_queries.stored_exposures(session, get_organization(session, "bench").id or 0)
    last = {
        (r.system, r.vuln_group, r.first_seen): stored_exposure(r).version for r in rows if not r.excluded_by
    }
    then = next(
        e
        for e in report_inputs(db, "bench", moment).timeline.exposures
        if last[(e.system, e.vuln_group, e.first_seen)] != e.version
    )
    request = AnalysisRequest(
        then.vuln_group, f"{then.package}@{then.version}", "exploitable", system=then.system
    )
    set_analysis(db, "bench", request, ADMIN, allow_unmatched=True)
    reference = deploy_time_reference(db, "bench", moment)
    assert reference.to_json()["triage"]["counted_by_state"]["exploitable"] >= 1
    assert stored_deploy_time(db, "bench", moment) is None
    assert deploy_time(db, "bench", moment) == reference
    assert stored_deploy_time(db, "bench", END) is not None  # not a look back: the rows as stored


def test_demo_fleet_and_the_past(db: Database) -> None:
    load_demo(db, "demo", ROOT / "sbom_samples" / "demo-fleet", ROOT / "sbom_samples" / "advisories" / "demo")
    end = datetime(2024, 9, 2, tzinfo=UTC)
    assert_same(stored_deploy_time(db, "demo", end), deploy_time_reference(db, "demo", end))
    # Before the newest snapshot (and before the first one): the stored rows cut there.
    for midway in (
        datetime(2024, 3, 1, tzinfo=UTC),
        datetime(2024, 5, 15, tzinfo=UTC),
        datetime(2020, 1, 1, tzinfo=UTC),
    ):
        assert_same(stored_deploy_time(db, "demo", midway), deploy_time_reference(db, "demo", midway))
    assert deploy_time_json(db, "demo", end) == {
        "organization": "demo",
        **deploy_time_reference(db, "demo", end).to_json(),
    }


def test_what_is_kept_per_system_follows_each_change(db: Database) -> None:
    """The summary keeps each system's rows, snapshot span and excluded intervals between reports, per
    build state, and its decoded attributes: after a stale system's new snapshot, an exclusion and an
    environment changed it again equals the reference (and the stale systems, the excluded count and
    the environments did change, so the check can fail)."""
    build_fleet(db, 40)
    first = deploy_time_reference(db, "bench", END)
    assert_same(stored_deploy_time(db, "bench", END), first)
    stale = first.stale_systems[0].system
    with db.read() as session:
        ids = {s.name: s.id for s in org_systems(session, get_organization(session, "bench").id or 0)}
    later = END + timedelta(days=1)
    new_snapshot(db, ids[stale], later)
    moment = later + timedelta(hours=1)
    reference = deploy_time_reference(db, "bench", moment)
    assert stale not in {s.system for s in reference.stale_systems}
    assert_same(stored_deploy_time(db, "bench", moment), reference)
    request = AnalysisRequest(
        "CVE-2023-10003", "pkg:npm/vuln-1", "not_affected", justification="code_not_reachable"
    )
    set_analysis(db, "bench", request, ADMIN, allow_unmatched=True)
    reference = deploy_time_reference(db, "bench", moment)
    assert reference.to_json()["triage"]["excluded"]["not_affected"] > 0
    assert_same(stored_deploy_time(db, "bench", moment), reference)
    # An attribute alone (no rebuild): the system's row is decoded again, not reused.
    update_system(db, "bench", "system-0001", {"environment": "lab"})
    reference = deploy_time_reference(db, "bench", moment)
    assert "lab" in dict(dict(reference.breakdowns)["environment"])
    assert_same(stored_deploy_time(db, "bench", moment), reference)


def test_after_a_change_only_the_systems_it_names_are_read(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between reports the build states and the systems' attributes are read again only for the
    systems the change clock names (``store.queries.changes.per_system_since``): after one upload and
    one attribute change, theirs alone; after a system deleted (which leaves no row to name it) and
    one created, every one where the count tells. Each time the summary equals the reference (and
    the deletion and the new system did change it, so the check can fail)."""
    build_fleet(db, 30)
    moment = END + timedelta(days=2)
    assert_same(stored_deploy_time(db, "bench", moment), deploy_time_reference(db, "bench", moment))
    with db.read() as session:
        ids = {s.name: s.id for s in org_systems(session, get_organization(session, "bench").id or 0)}
    states: list[list[int] | None] = []
    attributes: list[list[int] | None] = []
    real_states, real_systems = exposure_queries.build_states, system_queries.org_systems_spanned

    def read_states(session: Tx, org_id: int, system_ids: Any = None) -> Any:
        states.append(None if system_ids is None else sorted(system_ids))
        return real_states(session, org_id, system_ids)

    def read_systems(session: Tx, org_id: int, spans: Any, kept: Any = None, only: Any = None) -> Any:
        attributes.append(None if only is None else sorted(only))
        return real_systems(session, org_id, spans, kept, only)

    monkeypatch.setattr(exposure_queries, "build_states", read_states)
    monkeypatch.setattr(system_queries, "org_systems_spanned", read_systems)

    def check() -> DeployTimeReport:
        reference = deploy_time_reference(db, "bench", moment)
        assert_same(stored_deploy_time(db, "bench", moment), reference)
        return reference

    new_snapshot(db, ids["system-0004"], END + timedelta(days=1))
    check()
    assert (states, attributes) == ([[ids["system-0004"]]], [[ids["system-0004"]]])
    update_system(db, "bench", "system-0007", {"environment": "lab"})
    before = check()
    assert (states[-1], attributes[-1]) == ([ids["system-0007"]], [ids["system-0007"]])
    delete_system(db, "bench", "system-0002", confirm=True)
    after = check()
    assert after.to_json() != before.to_json()
    assert (states[-1], attributes[-1]) == (None, None)
    data = _cyclonedx([("vuln-0", "1.0.0"), ("vuln-1", "1.0.1")], END + timedelta(days=1, hours=1))
    ingest_sbom(db, org="bench", system="system-new", data=data, source="test", max_bytes=len(data))
    match_new(db)
    grown = check()
    assert "system-new" in dict(dict(grown.breakdowns)["system"])
    assert attributes[-1] is None  # a system not kept: every one read again
