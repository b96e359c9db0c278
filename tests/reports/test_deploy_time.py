"""Deploy-time report on a tiny fleet whose every number is worked out by hand in the comments.

Fleet (all 2024, UTC): ``web`` (prod, internet-exposed, weekly) has snapshots s0..s6 on Jan 1, 8, 15,
22, 29, Feb 5, 12; ``batch`` (staging, weekly) only s0 and s1 (Jan 1, 8). The report is evaluated
as of Feb 13, so ``batch`` (silent 36 days > 2 × 7) is stale.

| # | system | group  | affected | closes           | fix available            | start  | R−start | L−start |
|---|--------|--------|----------|------------------|--------------------------|--------|---------|---------|
| 1 | web    | G-UP   | s0–s2    | s3 Jan 22 upgr.  | published Dec 1 (approx) | Jan 1  | 21      | 14      |
| 2 | web    | G-RM   | s1–s2    | s3 Jan 22 removed| CSAF Jan 10              | Jan 10 | 12      | 5       |
| 3a| web    | G-RE   | s0–s1    | s2 Jan 15 upgr.  | Akrites Jan 3            | Jan 3  | 12      | 5       |
| 3b| web    | G-RE   | s3–s6    | open (re-intro.) | Akrites Jan 3            | Jan 22 | 21 cens.| 21 cens.|
| 4 | batch  | G-ST   | s0–s1    | open (stale)     | unknown (approx)         | Jan 1  | 7 cens. | 7 cens. |
| 5 | web    | G-IND  | s3       | s4 Jan 29 upgr.  | CSAF Jan 20              | Jan 22 | 7       | 0       |
Plus one VEX-excluded (G-VEX) and one withdrawn (G-WD) history, which count nowhere else.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.deploy_time import assess_exposures, deploy_time_report, monthly_trend
from reports.exposure_records import AffectedHistory, SnapshotRef, SystemHistory, VexStatement, VulnFacts
from reports.timeline import build_timeline

T = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(weeks=i) for i in range(7)]
AS_OF = datetime(2024, 2, 13, tzinfo=UTC)
WEB = SystemHistory("web", tuple(SnapshotRef(t, f"w{i}") for i, t in enumerate(T)), "prod", True, 7)
BATCH = SystemHistory(
    "batch", tuple(SnapshotRef(t, f"b{i}") for i, t in enumerate(T[:2])), "staging", False, 7
)


def jan(day: int) -> datetime:
    return datetime(2024, 1, day, tzinfo=UTC)


def hist(system: str, package: str, group: str, affected: list[int], present: list[int]) -> AffectedHistory:
    prefix = system[0]
    return AffectedHistory(
        system,
        package,
        "npm" if system == "web" else "PyPI",
        group,
        tuple((f"{prefix}{i}", "1.0") for i in affected),
        frozenset(f"{prefix}{i}" for i in affected + present),
    )


HISTORIES = [
    hist("web", "pkg:npm/a", "G-UP", [0, 1, 2], [3, 4, 5, 6]),
    hist("web", "pkg:npm/b", "G-RM", [1, 2], []),
    hist("web", "pkg:npm/c", "G-RE", [0, 1, 3, 4, 5, 6], [2]),
    hist("batch", "pkg:pypi/d", "G-ST", [0, 1], []),
    hist("web", "pkg:npm/e", "G-IND", [3], [4, 5, 6]),
    hist("web", "pkg:npm/f", "G-VEX", [0, 1, 2], [3]),
    hist("web", "pkg:npm/g", "G-WD", [0], []),
]
FACTS = [
    VulnFacts("G-UP", published=datetime(2023, 12, 1, tzinfo=UTC), cvss=9.8),  # critical, 7 days
    VulnFacts("G-RM", csaf_vendor_fix=jan(10), cvss=5.0),  # medium, 90 days
    VulnFacts("G-RE", akrites_fix_released=jan(3), rating="high", exploited=True),  # KEV + internet: 3 days
    VulnFacts("G-IND", csaf_vendor_fix=jan(20), exploited=True),  # 3 days
    # G-ST has no facts at all: fix time unknown, unscored → "low", 120 days.
]


def report(as_of: datetime = AS_OF) -> dict[str, Any]:
    timeline = build_timeline([WEB, BATCH], HISTORIES, [VexStatement("G-VEX", "pkg:npm/f")], ["G-WD"], as_of)
    result = deploy_time_report(timeline, [WEB, BATCH], FACTS, as_of).to_json()
    json.dumps(result)  # must serialize as is
    return result


def test_time_to_deploy_m1_by_hand() -> None:
    # Conservative durations, event = upgraded: 21 (#1), 12 (#3a), 7 (#5); censored 12 (#2 removed),
    # 21 (#3b open), 7 (#4 open). KM (events before censorings at equal times):
    #   t=7:  6 at risk, 1 event → S = 5/6 = 0.8333
    #   t=12: 4 at risk, 1 event → S = 5/6 · 3/4 = 0.625
    #   t=21: 2 at risk, 1 event → S = 0.625 · 1/2 = 0.3125 → median 21; S never ≤ 0.1 → p90 null.
    ttd = report()["time_to_deploy"]
    assert ttd == {
        "km_median_days": 21.0,
        "p90_days": None,
        "within_days": {"7": 0.1667, "30": 0.6875, "90": 0.6875},
        "events": 3,
        "censored": 3,
        # Optimistic (L − start): events 14, 5, 0; censored 5 (#2), 21, 7.
        #   t=0: 6 at risk → 5/6; t=5: 5 at risk → 5/6 · 4/5 = 0.6667; (#2 censored at 5, #4 at 7)
        #   t=14: 2 at risk → 0.6667 · 1/2 = 0.3333 → median 14.
        "optimistic": {
            "km_median_days": 14.0,
            "p90_days": None,
            "within_days": {"7": 0.3333, "30": 0.6667, "90": 0.6667},
        },
    }


def test_exposure_window_m2_by_hand() -> None:
    # Removal is an event now: events 21, 12, 12, 7; censored 21 (#3b), 7 (#4).
    #   t=7: 6 at risk → 5/6; t=12: 4 at risk, 2 events → 5/6 · 2/4 = 0.4167 → median 12;
    #   t=21: 2 at risk, 1 event → 0.2083.
    window = report()["exposure_window"]
    assert isinstance(window, dict)
    assert (window["km_median_days"], window["events"], window["censored"]) == (12.0, 4, 2)
    assert window["within_days"] == {"7": 0.1667, "30": 0.7917, "90": 0.7917}


def test_counts_precision_staleness_and_exclusions() -> None:
    r = report()
    assert (r["open"], r["resolved"], r["upgraded"], r["removed"]) == (2, 4, 3, 1)
    # Weekly snapshots: every closing happened within one 7-day gap.
    assert r["precision_days"] == {"median": 7.0, "max": 7.0, "closed": 4}
    assert r["stale_systems"] == [
        {"system": "batch", "last_snapshot": "2024-01-08T00:00:00Z", "cadence_days": 7}
    ]
    assert (r["vex_excluded"], r["withdrawn_groups_skipped"]) == (1, ["G-WD"])
    assert r["fix_available_approximated"] == 2  # #1 (published) and #4 (unknown)
    assert r["as_of"] == "2024-02-13T00:00:00Z"


def test_sla_statuses_and_attainment_by_hand() -> None:
    sla = {s["tier"]: s for s in report()["sla"]}
    # exploited-internet (3 days): #3a due Jan 6, L Jan 8 ≥ due → breached; #3b due Jan 25, open at
    # Feb 13 → breached; #5 due Jan 25, L Jan 22 < due < R Jan 29 → indeterminate. M2 curve of the
    # tier: first event at 7 days → 1 − S(3) = 0.
    assert sla["exploited-internet"] == {
        "tier": "exploited-internet", "days": 3.0, "exposures": 3, "met": 0, "breached": 2,
        "indeterminate": 1, "open": 0, "risk_accepted": 0, "attainment": 0.0,
    }  # fmt: skip
    # critical (7): #1 due Jan 8, L Jan 15 → breached; closed at 21 days > 7 → attainment 0.
    assert (sla["critical"]["breached"], sla["critical"]["attainment"]) == (1, 0.0)
    # medium (90): #2 due Apr 9, removed Jan 22 → met; closed at 12 ≤ 90 → 1.0.
    assert (sla["medium"]["met"], sla["medium"]["attainment"]) == (1, 1.0)
    # low (120): #4 open, due Apr 30 → open.
    assert (sla["low"]["open"], sla["low"]["attainment"]) == (1, 0.0)
    assert sla["high"]["exposures"] == 0
    assert sla["high"]["attainment"] is None


def test_breakdowns_and_monthly_trend() -> None:
    r = report()
    breakdowns = r["breakdowns"]
    assert isinstance(breakdowns, dict)
    assert sorted(breakdowns) == ["ecosystem", "environment", "severity", "sla_tier", "system"]
    assert breakdowns["system"]["batch"]["open"] == 1
    assert breakdowns["system"]["web"]["resolved"] == 4
    assert breakdowns["environment"]["staging"]["time_to_deploy"]["km_median_days"] is None  # not reached
    assert sorted(breakdowns["severity"]) == ["critical", "high", "medium", "unscored"]
    # Only #1 is critical: a single event at 21 days.
    assert breakdowns["severity"]["critical"]["time_to_deploy"]["km_median_days"] == 21.0
    # January: all six opened; #1, #2 (Jan 22), #3a (Jan 15), #5 (Jan 29) closed; #3b, #4 open on Feb 1.
    # February (to Feb 13): nothing opened or closed, the same two open.
    assert r["monthly"] == [
        {"month": "2024-01", "opened": 6, "closed": 4, "open_at_month_end": 2},
        {"month": "2024-02", "opened": 0, "closed": 0, "open_at_month_end": 2},
    ]


def test_as_of_in_the_past() -> None:
    # As of Jan 16 only s0-s2 exist: #1 and #2 are open (L Jan 15), #3a closed Jan 15, #4 still fresh
    # (8 days silent < 14), #3b and #5 do not exist yet.
    r = report(datetime(2024, 1, 16, tzinfo=UTC))
    assert (r["open"], r["upgraded"], r["removed"]) == (3, 1, 0)
    assert r["stale_systems"] == []


def test_assessed_exposure_json_fields() -> None:
    timeline = build_timeline([WEB, BATCH], HISTORIES, as_of=AS_OF)
    [first] = [
        a for a in assess_exposures(timeline, [WEB, BATCH], FACTS, AS_OF) if a.exposure.vuln_group == "G-UP"
    ]
    row = first.to_json()
    assert (row["first_seen"], row["last_affected_seen"], row["resolved_at"]) == (
        "2024-01-01T00:00:00Z", "2024-01-15T00:00:00Z", "2024-01-22T00:00:00Z",
    )  # fmt: skip
    assert (row["fix_available_source"], row["fix_available_approximated"]) == ("published", True)
    assert (row["sla_tier"], row["sla_due"], row["sla_status"]) == (
        "critical",
        "2024-01-08T00:00:00Z",
        "breached",
    )
    assert (row["severity"], row["version"], row["package"]) == ("critical", "1.0", "pkg:npm/a")


def test_monthly_trend_with_nothing_is_empty() -> None:
    assert monthly_trend([], AS_OF) == ()


@pytest.mark.parametrize("month_end", [datetime(2023, 12, 31, 23, 59, tzinfo=UTC)])
def test_year_boundary(month_end: datetime) -> None:
    timeline = build_timeline(
        [
            SystemHistory(
                "s", (SnapshotRef(month_end, "k0"), SnapshotRef(month_end + timedelta(days=2), "k1"))
            )
        ],
        [AffectedHistory("s", "pkg:npm/x", "npm", "G", (("k0", "1"),), frozenset({"k0", "k1"}))],
    )
    trend = monthly_trend(timeline.exposures, datetime(2024, 1, 5, tzinfo=UTC))
    assert [(m.month, m.opened, m.closed, m.open_at_month_end) for m in trend] == [
        ("2023-12", 1, 0, 1),
        ("2024-01", 0, 1, 0),
    ]


@settings(max_examples=30, deadline=None)
@given(st.permutations(HISTORIES), st.permutations(WEB.snapshots), st.permutations(FACTS))
def test_report_ignores_input_order(
    histories: list[AffectedHistory], snapshots: list[SnapshotRef], facts: list[VulnFacts]
) -> None:
    web = SystemHistory("web", tuple(snapshots), "prod", True, 7)
    timeline = build_timeline([BATCH, web], histories, [VexStatement("G-VEX", "pkg:npm/f")], ["G-WD"], AS_OF)
    assert deploy_time_report(timeline, [BATCH, web], facts, AS_OF).to_json() == report()
