"""Reports at an earlier moment (a look back) cut the stored rows there
(``pipeline.exposures.reports``, ``reports.timeline.cut_timeline``): on a generated fleet, both
databases, the report inputs — intervals, their versions then, the record that decides about each, the
fixes of the versions deployed then, each system's newest snapshot — equal what computing the intervals
from the snapshots up to the moment gives (``report_inputs(recompute=True)``), and so do the exposures
report, the plan and the overview built on them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bench.report import START, _cyclonedx, build_fleet
from core.time import utcnow
from pipeline import overview as overview_module
from pipeline import plan as plan_module
from pipeline.exposures import reports as reports_module
from pipeline.exposures.reports import (
    ReportInputs,
    deploy_time_reference,
    exposures_from_inputs,
    exposures_report,
    report_inputs,
)
from pipeline.ingest import ingest_sbom
from pipeline.lists import exposures as list_module
from pipeline.lists.exposures import ExposureQuery, exposure_page
from pipeline.match import match_new
from pipeline.plan import plan_from_inputs, plan_json
from pipeline.systems import decommission_system
from pipeline.triage import Actor, AnalysisRequest, set_analysis
from store.db import Database
from tests.pipeline.test_deploy_time_summary import END

ADMIN = Actor("alice", "admin", "api")


def _newest(inputs: ReportInputs) -> dict[str, Any]:
    return {s.system: max((x.observed_at for x in s.snapshots), default=None) for s in inputs.systems}


def _assert_same(cut: ReportInputs, reference: ReportInputs) -> None:
    mine, theirs = cut.timeline, reference.timeline
    assert mine == theirs  # every interval, its versions, deployed versions and deciding record
    for a, b in zip(
        (*mine.exposures, *mine.vex_excluded), (*theirs.exposures, *theirs.vex_excluded), strict=True
    ):
        assert (a.steps, a.analysis) == (b.steps, b.analysis)
    assert cut.fixed == reference.fixed
    assert cut.advice == reference.advice
    assert (cut.facts, cut.groups, cut.owners) == (reference.facts, reference.groups, reference.owners)
    assert _newest(cut) == _newest(reference)
    assert [s.decommissioned_at for s in cut.systems] == [s.decommissioned_at for s in reference.systems]
    for status in ("all", "excluded"):
        assert exposures_from_inputs(cut, status) == exposures_from_inputs(reference, status)
    assert plan_from_inputs(cut) == plan_from_inputs(reference)


def _identity(row: dict[str, Any]) -> tuple[str, str, str, str]:
    return (row["system"], row["package"], row["vulnerability"], row["first_seen"])


def _figures(reference: ReportInputs) -> dict[str, Any]:
    """The overview's counts, as the exposures report and the plan computed from ``reference`` say."""
    rows = exposures_from_inputs(reference, "open")
    fixable = [r for r in rows if r["fixed_versions"]]
    plan = plan_from_inputs(reference)
    return {
        "open_fixable": len(fixable),
        "open_fixable_kev": sum(1 for r in fixable if r["kev"]),
        "open_fixable_past_due": sum(1 for r in fixable if r["sla_status"] == "breached"),
        "risk_accepted_open": sum(1 for r in rows if r["sla_status"] == "risk_accepted"),
        "excluded_open": sum(
            1 for r in exposures_from_inputs(reference, "excluded") if r["resolved_at"] is None
        ),
        "total_actions": len(plan.actions),
    }


def test_the_stored_rows_cut_at_earlier_moments(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    build_fleet(db, 40)
    # Records that decide about one version (an earlier one of many intervals, or their last one),
    # one of them for one system only, and ones that exclude: a look back must find, for an interval
    # whose version then was another, the record of that version.
    for request in (
        AnalysisRequest("CVE-2023-10001", "pkg:npm/vuln-0@1.0.1", "exploitable"),
        AnalysisRequest(
            "CVE-2023-10001",
            "pkg:npm/vuln-0@1.0.4",
            "accepted_risk",
            comment="later",
            approver="ciso",
            expires_at=utcnow() + timedelta(days=20),
        ),
        AnalysisRequest(
            "CVE-2023-10003", "pkg:npm/vuln-1@1.0.2", "not_affected", justification="code_not_reachable"
        ),
        AnalysisRequest("CVE-2023-10004", "pkg:npm/vuln-2@1.0.3", "false_positive", system="system-0002"),
        AnalysisRequest("CVE-2023-10005", "pkg:npm/vuln-3", "in_triage"),
    ):
        set_analysis(db, "bench", request, ADMIN, allow_unmatched=True)
    # A system gone silent, decommissioned ten days after its last snapshot.
    stale = deploy_time_reference(db, "bench", END).stale_systems[0]
    retired = stale.last_snapshot + timedelta(days=10)
    decommission_system(db, "bench", stale.system, retired)
    data = _cyclonedx([("vuln-0", "1.0.0"), ("vuln-1", "1.0.2")], END - timedelta(days=10))
    ingest_sbom(db, org="bench", system="system-late", data=data, source="test", max_bytes=len(data))
    match_new(db)
    report_inputs(db, "bench")  # the stored rows built
    moments = (
        START - timedelta(days=1),  # before any snapshot
        START + timedelta(weeks=5, hours=12),  # between two snapshots
        START + timedelta(weeks=20),  # at one
        retired - timedelta(days=3),  # before the decommissioning
        END - timedelta(days=5),  # after it, after the late system's first snapshot
    )
    changed = 0
    figures: dict[Any, dict[str, Any]] = {}
    for moment in moments:
        cut = report_inputs(db, "bench", moment)
        reference = report_inputs(db, "bench", moment, recompute=True)
        _assert_same(cut, reference)
        changed += sum(1 for e in cut.timeline.exposures if e.resolved_at is None and len(e.versions) > 1)
        # The plan reads the open ones only.
        open_cut = report_inputs(db, "bench", moment, open_only=True)
        assert open_cut.timeline.exposures == tuple(
            e for e in cut.timeline.exposures if e.resolved_at is None
        )
        open_rows = exposures_from_inputs(reference, "open")
        assert exposures_report(db, "bench", "open", moment) == open_rows
        figures[moment] = _figures(reference)
    assert changed > 0  # intervals open then on several versions: their steps were cut
    # One system's rows at a look back, cut alone.
    one = report_inputs(db, "bench", moments[3], system="system-0003")
    assert (
        one.timeline == report_inputs(db, "bench", moments[3], system="system-0003", recompute=True).timeline
    )

    # The overview at a look back is built on the cut rows: no interval computed from the snapshots.
    def _never(*_: object, **__: object) -> None:
        raise AssertionError("recomputed from the snapshots")

    monkeypatch.setattr(reports_module, "compute_timeline", _never)
    for moment in moments[2:]:
        document = overview_module.overview(db, "bench", moment)
        assert {key: document[key] for key in figures[moment]} == figures[moment]
        assert document["open_fixable"] > 0


def test_a_look_back_asked_again_is_kept_until_an_input_changes(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The overview at an earlier moment computes the report inputs there once per state of the
    organization's inputs: asked again (the dashboard's links keep the moment) it is read from the
    process, and so are the pages of the plan it computed; a triage decision or a new snapshot computes
    both again, equal to the computation from the snapshots."""
    build_fleet(db, 12)
    report_inputs(db, "bench")
    moment = END - timedelta(weeks=10)
    computed: list[str] = []
    for module, name in (
        (overview_module, "report_inputs"),
        (plan_module, "report_inputs"),
        (list_module, "exposures_report"),
    ):
        real = getattr(module, name)

        def spy(*args: Any, _real: Any = real, _name: str = module.__name__, **kwargs: Any) -> Any:
            computed.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)

    def plan_pages() -> list[dict[str, Any]]:
        first = plan_json(db, "bench", as_of=moment, limit=7)
        return [*first["actions"], *plan_json(db, "bench", as_of=moment, offset=7, limit=7)["actions"]]

    def reference_actions(reference: ReportInputs) -> list[dict[str, Any]]:
        plan = plan_from_inputs(reference)
        return [a.to_json(rank) for rank, a in enumerate(plan.actions[:14], start=1)]

    first = overview_module.overview(db, "bench", moment)
    assert computed == ["pipeline.overview"]
    assert overview_module.overview(db, "bench", moment) == first
    pages = plan_pages()
    assert computed == ["pipeline.overview"]  # the plan the overview computed, and its second page
    reference = report_inputs(db, "bench", moment, recompute=True)
    assert pages == reference_actions(reference)
    assert {key: first[key] for key in _figures(reference)} == _figures(reference)

    # A decision that excludes a group some system had open then.
    row = next(r for r in exposures_from_inputs(reference, "open") if r["fixed_versions"])
    request = AnalysisRequest(
        row["vulnerability"], row["package"], "not_affected", justification="code_not_reachable"
    )
    set_analysis(db, "bench", request, ADMIN, allow_unmatched=True)
    computed.clear()
    after_triage = overview_module.overview(db, "bench", moment)
    assert computed == ["pipeline.overview"]
    reference = report_inputs(db, "bench", moment, recompute=True)
    assert {key: after_triage[key] for key in _figures(reference)} == _figures(reference)
    assert after_triage["excluded_open"] > first["excluded_open"]
    assert plan_pages() == reference_actions(reference)
    assert computed == ["pipeline.overview"]

    # The accepted risks then: computed from the full report once, its pages read from the process
    # until a decision accepts one.
    computed.clear()
    none = ExposureQuery(status="risk_accepted", as_of=moment)
    assert exposure_page(db, "bench", none).items == []
    assert computed == ["pipeline.lists.exposures"]
    accepted = next(r for r in exposures_from_inputs(reference, "open") if r["fixed_versions"])
    request = AnalysisRequest(
        accepted["vulnerability"],
        accepted["package"],
        "accepted_risk",
        comment="later",
        approver="ciso",
        expires_at=utcnow() + timedelta(days=20),
    )
    set_analysis(db, "bench", request, ADMIN, allow_unmatched=True)
    computed.clear()
    pages, cursor = [], None
    while True:
        page = exposure_page(
            db, "bench", ExposureQuery(status="risk_accepted", as_of=moment), limit=2, cursor=cursor
        )
        pages.extend(page.items)
        if (cursor := page.next_cursor) is None:
            break
    assert computed == ["pipeline.lists.exposures"]
    reference = report_inputs(db, "bench", moment, recompute=True)
    want = [r for r in exposures_from_inputs(reference, "all") if r["sla_status"] == "risk_accepted"]
    assert len(want) > 2  # more than one page
    assert sorted(map(_identity, pages)) == sorted(map(_identity, want))
    assert {_identity(r): r for r in pages} == {_identity(r): r for r in want}

    # A snapshot backfilled before the moment: the plan asked first computes it again this time.
    data = _cyclonedx([("vuln-0", "1.0.0"), ("vuln-1", "1.0.2")], moment - timedelta(days=3))
    ingest_sbom(db, org="bench", system="system-backfill", data=data, source="test", max_bytes=len(data))
    match_new(db)
    computed.clear()
    pages = plan_pages()
    assert computed == ["pipeline.plan"]
    reference = report_inputs(db, "bench", moment, recompute=True)
    assert pages == reference_actions(reference)
    later = overview_module.overview(db, "bench", moment)
    assert computed == ["pipeline.plan", "pipeline.overview"]
    assert {key: later[key] for key in _figures(reference)} == _figures(reference)
    assert later["open_fixable"] > after_triage["open_fixable"]
