"""The plan's merging, ranking and scoring (reports.plan), on hand-made items."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from reports.plan import (
    PlanItem,
    action_id,
    build_plan,
    days_past_due_us,
    micros,
    pair_weight,
    past_due_factor,
    past_due_factors,
)

AS_OF = datetime(2024, 6, 1, tzinfo=UTC)


def item(
    system: str = "a", version: str = "1.0", vulnerability: str = "CVE-1", **changes: object
) -> PlanItem:
    base = PlanItem(
        system=system,
        environment="prod",
        internet_exposed=False,
        package="pkg:npm/p",
        ecosystem="npm",
        version=version,
        vulnerability=vulnerability,
        severity="high",
        cvss=7.5,
        kev=False,
        epss=None,
        sla_due=AS_OF + timedelta(days=10),
        advice="upgrade",
        to_version="1.1",
        advice_detail="1.1 clears all 1 known advisories of the package",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_one_action_per_package_and_from_version_merged_across_systems() -> None:
    plan = build_plan(
        [
            item("a"),
            item("b"),
            item("a", vulnerability="CVE-2"),
            item("c", version="2.0", to_version="2.1"),
        ],
        AS_OF,
    )
    by_from = {a.from_version: a for a in plan.actions}
    assert set(by_from) == {"1.0", "2.0"}
    merged = by_from["1.0"]
    assert [s.system for s in merged.systems] == ["a", "b"]
    assert sorted(v.vulnerability for v in merged.vulnerabilities) == ["CVE-1", "CVE-2"]
    assert {v.vulnerability: v.systems for v in merged.vulnerabilities} == {"CVE-1": 2, "CVE-2": 1}
    # Three (system, vulnerability) pairs at the same weight: three times one pair.
    assert merged.score == pytest.approx(3 * pair_weight(item(), AS_OF))


def test_the_weight_counts_kev_exposure_epss_and_days_past_due() -> None:
    plain = pair_weight(item(), AS_OF)
    assert plain == pytest.approx(7.5)
    assert pair_weight(item(kev=True), AS_OF) == pytest.approx(3 * plain)
    assert pair_weight(item(internet_exposed=True), AS_OF) == pytest.approx(1.5 * plain)
    assert pair_weight(item(epss=0.5), AS_OF) == pytest.approx(3 * plain)
    assert pair_weight(item(sla_due=AS_OF - timedelta(days=30)), AS_OF) == pytest.approx(2 * plain)
    # Past due counts up to a year; an unscored finding counts as 2, a rated one as its band's floor.
    assert pair_weight(item(sla_due=AS_OF - timedelta(days=3650)), AS_OF) == pytest.approx(
        plain * (1 + 365 / 30)
    )
    assert pair_weight(item(cvss=None, severity="unscored"), AS_OF) == pytest.approx(2.0)
    assert pair_weight(item(cvss=None, severity="critical"), AS_OF) == pytest.approx(9.0)


def test_ranked_by_risk_removed_with_ties_broken_the_same_whatever_the_order() -> None:
    items = [
        item("a", version="1.0", to_version="1.1"),  # one high pair
        item("a", version="3.0", to_version="3.1", kev=True),  # KEV: ranks first
        item("b", version="4.0", to_version="4.1"),  # same score as 1.0 on another package name
        item("a", version="5.0", to_version="5.1", sla_due=AS_OF - timedelta(days=1)),  # slightly past due
    ]
    items[2] = replace(items[2], package="pkg:npm/a-first")
    expected = [(a.package, a.from_version) for a in build_plan(items, AS_OF).actions]
    assert expected[0] == ("pkg:npm/p", "3.0")
    assert expected[1] == ("pkg:npm/p", "5.0")
    assert expected[2:] == [("pkg:npm/a-first", "4.0"), ("pkg:npm/p", "1.0")]  # a tie: by package name
    for seed in range(5):
        shuffled = items[:]
        random.Random(seed).shuffle(shuffled)
        assert [(a.package, a.from_version) for a in build_plan(shuffled, AS_OF).actions] == expected


def test_a_tie_in_score_goes_to_more_kev_then_the_earlier_due_date() -> None:
    early = item("a", version="1.0", sla_due=AS_OF + timedelta(days=1))
    late = item("a", version="2.0", to_version="2.1", sla_due=AS_OF + timedelta(days=5))
    assert [a.from_version for a in build_plan([late, early], AS_OF).actions] == ["1.0", "2.0"]


def test_versions_without_a_clearing_version_are_listed_apart_with_what_to_do() -> None:
    plan = build_plan(
        [
            item("a"),
            item(
                "a", version="0.9", advice="no-fix-known", to_version=None, advice_detail="no fix known for X"
            ),
            item(
                "b", version="0.9", advice="no-fix-known", to_version=None, advice_detail="no fix known for X"
            ),
            item("a", version="0.5", advice="no-single-version", to_version=None, advice_detail="..."),
        ],
        AS_OF,
    )
    assert [a.from_version for a in plan.actions] == ["1.0"]
    apart = {u.version: u for u in plan.unfixable}
    assert set(apart) == {"0.9", "0.5"}
    assert apart["0.9"].reason == "no-fix-known"
    assert [s.system for s in apart["0.9"].systems] == ["a", "b"]
    assert "VEX" in apart["0.9"].remedy
    assert apart["0.5"].reason == "no-single-version"


def test_an_action_id_is_stable_and_names_the_upgrade_not_the_systems() -> None:
    one = build_plan([item("a")], AS_OF).actions[0]
    two = build_plan([item("a"), item("b")], AS_OF + timedelta(days=7)).actions[0]
    assert one.id == two.id == action_id("npm", "pkg:npm/p", "1.0", "1.1")
    assert one.id != action_id("npm", "pkg:npm/p", "1.0", "1.2")


def test_the_json_carries_rank_major_jump_and_in_major_step() -> None:
    major = item(to_version="2.0.1", major_upgrade=True, in_major="1.9", in_major_leaves_open=("CVE-9",))
    document = build_plan([major], AS_OF).actions[0].to_json(rank=1)
    assert document["rank"] == 1
    assert document["major_upgrade"] is True
    assert document["in_major"] == {"to_version": "1.9", "leaves_open": ["CVE-9"]}
    assert document["systems"] == [{"system": "a", "environment": "prod", "internet_exposed": False}]


def test_past_due_factors_are_the_floats_computed_one_by_one() -> None:
    """The vectorized factors (the kept ranking's) equal ``past_due_factor(days_past_due_us(…))`` bit
    for bit: not yet due, due at the moment, a microsecond late, odd microseconds, a year and more, no
    due date."""
    at = micros(datetime(2026, 6, 1, 12, 0, 0, 123457, tzinfo=UTC))
    year = 365 * 86_400_000_000
    rng = random.Random(7)
    dues: list[int | None] = [at + 5, at, at - 1, at - year, at - year + 1, at - year - 1, None]
    dues.append(at - 10 * year)
    dues += [at - rng.randrange(1, 2 * year) for _ in range(2000)]
    dues += [at + rng.randrange(1, year) for _ in range(200)]
    got = past_due_factors(
        np.array([0 if d is None else d for d in dues], dtype=np.int64),
        np.array([d is not None for d in dues]),
        at,
    )
    want = [past_due_factor(days_past_due_us(d, at)) for d in dues]
    assert got.tolist() == want
    assert len(set(want)) > 900  # the sample reaches many distinct factors, not just the bounds
