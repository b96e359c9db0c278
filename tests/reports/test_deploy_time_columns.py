"""The columnar deploy-time report equals the per-exposure reference on generated fleets, exactly.

Fleets are drawn from a seeded generator with what makes the figures delicate: ties between durations
(weekly snapshots, shared fix dates), microsecond and sub-day times, fixes dated after deployment
(duration 0), removals and re-introductions, decommissioned and critical systems, stale systems, an
empty environment, accepted risks before and after their expiry, groups with more distinct durations
than the batched accumulation handles at once, and a custom SLA policy with fractional days and a
criticality tier.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from core.triage import Analysis
from reports.deploy_time import DeployTimeReport, deploy_time_report
from reports.deploy_time_columns import (
    ExposureColumns,
    _LazyCurve,
    deploy_time_report_columns,
    micros,
    overall_and_gap,
)
from reports.exposure_records import Exposure, SnapshotRef, SystemHistory, Timeline, VulnFacts
from reports.sla import DEFAULT_POLICY, SlaPolicy, SlaTier

START = datetime(2023, 11, 6, 3, 0, tzinfo=UTC)
AS_OF = START + timedelta(weeks=60)
POLICY = SlaPolicy(
    (
        SlaTier("critical-system", 3, criticality=("critical",), min_cvss=5.0),
        SlaTier("urgent", 2.5, exploited=True),
        SlaTier("serious", 10.25, min_cvss=7.0),
        SlaTier("rest", 45),
    )
)


def generated_fleet(
    seed: int, systems: int, groups: int
) -> tuple[Timeline, list[SystemHistory], list[VulnFacts]]:
    rng = random.Random(seed)
    records = [
        Analysis(1, "G-1", "pkg:npm/p1", "accepted_risk", expires_at=AS_OF + timedelta(days=30)),
        Analysis(2, "G-2", "pkg:npm/p2", "accepted_risk", expires_at=AS_OF - timedelta(days=30)),
        Analysis(3, "G-3", "pkg:npm/p3", "exploitable"),
        Analysis(4, "G-4", "pkg:npm/p4", "in_triage"),
    ]
    histories = []
    exposures = []
    for s in range(systems):
        name = f"sys-{s:03d}"
        weeks = 26 if s % 11 == 0 else 60  # every eleventh system went silent: stale
        jitter = timedelta(seconds=rng.randrange(0, 3) * 3601, microseconds=rng.randrange(0, 2) * 17)
        snaps = [START + timedelta(weeks=w) + jitter for w in range(weeks)]
        # Every seventeenth system was decommissioned after its last snapshot; every thirteenth is critical.
        retired = snaps[-1] + timedelta(days=2, hours=5) if s % 17 == 16 else None
        histories.append(
            SystemHistory(
                name,
                (SnapshotRef(snaps[-1], "newest"),),
                ["prod", "staging", ""][s % 3],
                s % 2 == 0,
                7 if s % 5 else None,
                retired,
                "critical" if s % 13 == 0 else "medium",
            )
        )
        # One system with many exposures of scattered lengths: more distinct durations than _LONG.
        count = 400 if s == 0 else rng.randrange(0, 25)
        for i in range(count):
            g = groups + i if s == 0 else rng.randrange(groups)
            first = rng.randrange(0, weeks - 1)
            last = rng.randrange(first, weeks)
            closes = last + 1 < weeks and rng.random() < 0.7
            resolution = rng.choice(["upgraded", "upgraded", "removed"]) if closes else None
            end = snaps[last + 1] if closes else None
            if not closes and retired is not None:
                resolution, end = "decommissioned", retired
            exposures.append(
                Exposure(
                    name,
                    f"pkg:{'npm' if g % 3 else 'pypi'}/p{g}",
                    "npm" if g % 3 else "PyPI",
                    f"G-{g}",
                    ("1.0",),
                    snaps[first],
                    snaps[last],
                    end,
                    resolution,  # type: ignore[arg-type]
                    ("1.0",),
                    next((r for r in records if r.vuln_group == f"G-{g}"), None)
                    if rng.random() < 0.5
                    else None,
                )
            )
    facts = []
    for g in range(groups + 400):
        published = START + timedelta(days=rng.randrange(-100, 300), seconds=rng.randrange(86400))
        kind = g % 5
        facts.append(
            VulnFacts(
                f"G-{g}",
                published=published if kind != 4 else None,
                csaf_vendor_fix=published + timedelta(days=3) if kind == 1 else None,
                akrites_fix_released=published + timedelta(hours=7) if kind == 2 else None,
                # kind 0: a registry release, some before the advisory was published
                registry_release=published + timedelta(days=rng.randrange(-5, 20)) if kind == 0 else None,
                disclosed=published - timedelta(days=rng.randrange(0, 60)) if g % 3 else None,
                last_resort_maintainer=g % 6 == 0,
                cvss=None if kind == 3 else round(rng.uniform(2, 10), 1),
                rating="HIGH" if kind == 3 else None,
                exploited=g % 7 == 0,
                epss=rng.random() / 4 if g % 4 == 0 else None,
            )
        )
    exposures.sort(key=lambda e: (e.system, e.package, e.vuln_group, e.first_seen))
    return Timeline(tuple(exposures), (), ("G-withdrawn",)), histories, facts


def columns_of(timeline: Timeline, systems: list[SystemHistory]) -> ExposureColumns:
    """The columns the store's rows would give for these exposures."""
    index = {s.system: i for i, s in enumerate(systems)}
    pairs: dict[tuple[str, str], int] = {}
    ecosystems: dict[str, int] = {}
    resolutions: dict[str | None, int] = {}
    records: dict[int, Analysis] = {}
    es = timeline.exposures
    for e in es:
        if e.analysis is not None:
            records[e.analysis.id] = e.analysis
    order = list(records)

    def ints(values: list[int]) -> np.ndarray:
        return np.array(values, dtype=np.int64)

    return ExposureColumns(
        system=ints([index[e.system] for e in es]),
        pair=ints([pairs.setdefault((e.vuln_group, e.package), len(pairs)) for e in es]),
        ecosystem=ints([ecosystems.setdefault(e.ecosystem, len(ecosystems)) for e in es]),
        first_seen=ints([micros(e.first_seen) for e in es]),
        last_affected=ints([micros(e.last_affected_seen) for e in es]),
        resolved=ints([micros(e.resolved_at) if e.resolved_at else 0 for e in es]),
        closed=np.array([e.resolved_at is not None for e in es], dtype=bool),
        resolution=ints([resolutions.setdefault(e.resolution, len(resolutions)) for e in es]),
        analysis=ints([order.index(e.analysis.id) if e.analysis else -1 for e in es]),
        pairs=list(pairs),
        ecosystems=list(ecosystems),
        resolutions=list(resolutions),
        analyses=[records[i] for i in order],
    )


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


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("policy", [DEFAULT_POLICY, POLICY], ids=["default", "custom"])
def test_columns_equal_the_reference_on_generated_fleets(seed: int, policy: SlaPolicy) -> None:
    timeline, systems, facts = generated_fleet(seed, systems=40 + seed * 7, groups=12 + seed)
    reference = deploy_time_report(timeline, systems, facts, AS_OF, policy=policy)
    fast = deploy_time_report_columns(
        columns_of(timeline, systems),
        systems,
        facts,
        AS_OF,
        policy=policy,
        withdrawn_groups_skipped=timeline.withdrawn_groups_skipped,
    )
    assert_same(fast, reference)
    # What the overview keeps of it, computed alone.
    assert overall_and_gap(columns_of(timeline, systems), facts) == (reference.overall, reference.gap)
    assert reference.risk_accepted > 0  # the generated fleet reaches the delicate cases
    gap = reference.gap
    assert all(n > 0 for source, n in gap.clocks if source != "unknown"), gap.clocks
    assert gap.upstream_groups > 0
    assert gap.upstream_us > 0
    assert gap.deployment_us > 0
    assert gap.last_resort_components > 0
    assert reference.overall.decommissioned > 0
    assert len(reference.stale_systems) > 0
    assert max(len(s.time_to_deploy.conservative_curve.steps) for _, s in reference.breakdowns[0][1]) > 48


def test_exposure_days_past_what_int64_microseconds_hold() -> None:
    """Exposure-days summed past 2⁶³ microseconds (106.8 million days: a large fleet's year) are exact,
    not wrapped around: 120 exposures of 7,000 years, 4,000 waiting for a fix and 3,000 for deployment."""
    systems = [
        SystemHistory("old", (SnapshotRef(datetime(9000, 1, 1, tzinfo=UTC), "newest"),), "prod", False, None)
    ]
    first = datetime(1000, 1, 1, tzinfo=UTC)
    fix = VulnFacts(
        "G-0", published=datetime(5000, 1, 1, tzinfo=UTC), registry_release=datetime(5000, 1, 1, tzinfo=UTC)
    )
    exposures = tuple(
        Exposure(
            "old",
            f"pkg:npm/p{i}",
            "npm",
            "G-0",
            ("1.0",),
            first,
            datetime(8000, 1, 1, tzinfo=UTC),
            None,
            None,
            ("1.0",),
        )
        for i in range(120)
    )
    timeline = Timeline(exposures, (), ())
    reference = deploy_time_report(timeline, systems, [fix], datetime(9000, 1, 1, tzinfo=UTC))
    assert reference.gap.upstream_us > 2**63
    assert reference.gap.deployment_us > 2**63
    assert overall_and_gap(columns_of(timeline, systems), [fix])[1] == reference.gap


def test_an_empty_fleet_reads_the_same() -> None:
    systems = [SystemHistory("quiet", (), "prod", False, 7)]
    timeline = Timeline((), (), ())
    fast = deploy_time_report_columns(columns_of(timeline, systems), systems, [], AS_OF)
    reference = deploy_time_report(timeline, systems, [], AS_OF)
    assert_same(fast, reference)
    assert overall_and_gap(columns_of(timeline, systems), []) == (reference.overall, reference.gap)
