"""Decommissioning in the timeline and the deploy-time report, on the hand-worked fleet of
``test_deploy_time`` with ``batch`` decommissioned on Jan 20 (its last snapshot is Jan 8).

Exposure #4 (batch, G-ST, open since Jan 1, fix time unknown so the clock starts Jan 1) now ends on
Jan 20 as ``decommissioned``: R − start = 19 days, L − start = 7. For M1 it is censored (no fix was
deployed), for M2 it is an event (the vulnerable software stopped running). ``batch`` is no longer
stale. Before Jan 20 nothing differs from the report without the decommissioning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from reports.deploy_time import deploy_time_report
from reports.exposure_records import SystemHistory, VexStatement
from reports.timeline import build_timeline
from tests.reports.test_deploy_time import AS_OF, BATCH, FACTS, HISTORIES, WEB, jan

RETIRED = replace(BATCH, decommissioned_at=jan(20))


def report(systems: Sequence[SystemHistory], as_of: datetime = AS_OF) -> dict[str, Any]:
    timeline = build_timeline(systems, HISTORIES, [VexStatement("G-VEX", "pkg:npm/f")], ["G-WD"], as_of)
    return deploy_time_report(timeline, systems, FACTS, as_of).to_json()


def product_limit(durations: list[float], events: list[bool], t: float) -> float:
    """S(t) by the textbook product-limit formula, written out here apart from ``reports.survival``:
    at each distinct event time, multiply by (1 − deaths / at risk), events before censorings."""
    s = 1.0
    for moment in sorted({d for d, e in zip(durations, events, strict=True) if e and d <= t}):
        at_risk = sum(1 for d in durations if d >= moment)
        deaths = sum(1 for d, e in zip(durations, events, strict=True) if e and d == moment)
        s *= 1 - deaths / at_risk
    return s


# Conservative durations of the six counted exposures (#1, #2, #3a, #3b, #4, #5), see the module doc.
DURATIONS = [21.0, 12.0, 12.0, 21.0, 19.0, 7.0]
UPGRADED = [True, False, True, False, False, True]
CLOSED = [True, True, True, False, True, True]  # M2: upgraded, removed or decommissioned


def test_open_exposure_closes_at_the_decommissioning() -> None:
    timeline = build_timeline([WEB, RETIRED], HISTORIES, as_of=AS_OF)
    (st,) = [e for e in timeline.exposures if e.vuln_group == "G-ST"]
    assert (st.resolved_at, st.resolution, st.last_affected_seen) == (jan(20), "decommissioned", jan(8))
    # The web system's intervals are untouched.
    plain = build_timeline([WEB, BATCH], HISTORIES, as_of=AS_OF)
    assert [e for e in timeline.exposures if e.system == "web"] == [
        e for e in plain.exposures if e.system == "web"
    ]


def test_excluded_interval_ends_at_the_decommissioning_with_its_own_resolution() -> None:
    retired_web = replace(WEB, decommissioned_at=datetime(2024, 2, 12, 12, tzinfo=UTC))
    vex = [VexStatement("G-RE", "pkg:npm/c")]
    timeline = build_timeline([retired_web, BATCH], HISTORIES, vex, as_of=AS_OF)
    reintroduced = [e for e in timeline.vex_excluded if e.vuln_group == "G-RE"][-1]
    assert reintroduced.resolved_at == retired_web.decommissioned_at
    assert reintroduced.resolution == "vex_not_affected"


def test_m1_censors_and_m2_counts_the_decommissioning() -> None:
    r = report([WEB, RETIRED])
    ttd, window = r["time_to_deploy"], r["exposure_window"]
    # M1 by hand: t=7 6 at risk → 5/6; t=12 5 at risk (12, 12, 19, 21, 21) → 2/3; t=21 2 at risk → 1/3.
    assert (ttd["km_median_days"], ttd["events"], ttd["censored"]) == (21.0, 3, 3)
    assert ttd["within_days"]["30"] == round(1 - product_limit(DURATIONS, UPGRADED, 30), 4) == 0.6667
    assert ttd["within_days"]["7"] == round(1 - product_limit(DURATIONS, UPGRADED, 7), 4) == 0.1667
    # Without the decommissioning #4 was censored at 7, and S(30) was 0.3125 (test_deploy_time).
    assert report([WEB, BATCH])["time_to_deploy"]["within_days"]["30"] == 0.6875
    # M2 by hand: t=7 → 5/6; t=12 5 at risk, 2 events → 1/2 (median 12); t=19 3 at risk → 1/3;
    # t=21 2 at risk → 1/6.
    assert (window["km_median_days"], window["events"], window["censored"]) == (12.0, 5, 1)
    for day in ("7", "30"):
        assert window["within_days"][day] == round(1 - product_limit(DURATIONS, CLOSED, float(day)), 4)
    assert window["within_days"]["30"] == 0.8333


def test_counts_staleness_precision_and_sla() -> None:
    r = report([WEB, RETIRED])
    assert (r["open"], r["resolved"], r["upgraded"], r["removed"], r["decommissioned"]) == (1, 5, 3, 1, 1)
    assert r["stale_systems"] == []  # nothing more is expected of a decommissioned system
    # A decommissioning is no snapshot gap: precision still covers the four snapshot closings.
    assert r["precision_days"] == {"median": 7.0, "max": 7.0, "closed": 4}
    low = {s["tier"]: s for s in r["sla"]}["low"]  # #4: 120 days from Jan 1, closed Jan 20 → met
    assert (low["exposures"], low["met"], low["open"]) == (1, 1, 0)
    assert r["breakdowns"]["system"]["batch"]["decommissioned"] == 1


def test_before_the_decommissioning_the_report_is_as_it_was() -> None:
    for moment in (jan(9), jan(19), datetime(2024, 1, 19, 23, 59, 59, tzinfo=UTC)):
        assert report([WEB, RETIRED], moment) == report([WEB, BATCH], moment)
    # From the moment itself on, it counts.
    assert report([WEB, RETIRED], jan(20))["decommissioned"] == 1
