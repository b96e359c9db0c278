"""Kaplan–Meier estimator: a published textbook example reproduced digit for digit, plus invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.survival import kaplan_meier

# Freireich et al. (1963), Blood 21:699-716: remission times in weeks of the 21 leukaemia patients on
# 6-mercaptopurine (6-MP). The same data are R's MASS::gehan (treat ==
# "6-MP"), documented there as taken from Cox & Oakes (1984), Analysis of Survival Data, p. 7.
SIX_MP_PRINTED = "6 6 6 6+ 7 9+ 10 10+ 11+ 13 16 17+ 19+ 20+ 22 23 25+ 32+ 32+ 34+ 35+"  # + = censored
SIX_MP = [(float(t.rstrip("+")), not t.endswith("+")) for t in SIX_MP_PRINTED.split()]
# The product-limit estimates of that group as printed to three decimals in Kleinbaum & Klein,
# "Survival Analysis: A Self-Learning Text" (Springer), chapter 2, the KM table for the leukaemia
# remission data, group 1 (treatment). I could not open the book from this machine; each value was
# checked by hand from the data above instead (nᵢ at risk, dᵢ events):
#   6: 18/21 = 0.857   7: ×16/17 = 0.807   10: ×14/15 = 0.753   13: ×11/12 = 0.690
#   16: ×10/11 = 0.627   22: ×6/7 = 0.538   23: ×5/6 = 0.448
PRINTED_6MP = {6: 0.857, 7: 0.807, 10: 0.753, 13: 0.690, 16: 0.627, 22: 0.538, 23: 0.448}
PRINTED_AT_RISK_6MP = {6: 21, 7: 17, 10: 15, 13: 12, 16: 11, 22: 7, 23: 6}

# The placebo group of the same trial (no censoring; Cox & Oakes Table 1.1). G. Rodríguez's Princeton
# notes "Kaplan-Meir Survival" (data.princeton.edu/eco572/KaplanMeier.html) print Stata's `sts list`
# for it: time 1: 21 at risk, 2 failures, S = 0.9048, Greenwood s.e. 0.0641; time 2: 19 at risk,
# 2 failures, S = 0.8095, s.e. 0.0857. These four-digit values are the ones read from that page.
PLACEBO = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]


def test_reproduces_the_printed_6mp_curve() -> None:
    km = kaplan_meier([t for t, _ in SIX_MP], [e for _, e in SIX_MP])
    for time, printed in PRINTED_6MP.items():
        assert round(km.survival_at(time), 3) == printed, time
    at_risk = {s.time: s.at_risk for s in km.steps if s.events}
    assert at_risk == PRINTED_AT_RISK_6MP
    assert (km.events, km.censored) == (9, 12)
    # Between steps S stays flat (right-continuous steps): 8 weeks reads the 7-week value.
    assert round(km.survival_at(8.5), 3) == 0.807
    assert km.survival_at(5.99) == 1.0
    # Median: the first time S ≤ 0.5 is 23 weeks (S(22) = 0.538 > 0.5); the curve never reaches 0.1.
    assert km.median == 23
    assert km.quantile(0.9) is None


def test_reproduces_the_printed_placebo_greenwood_errors() -> None:
    km = kaplan_meier([float(t) for t in PLACEBO], [True] * len(PLACEBO))
    assert round(km.survival_at(1), 4) == 0.9048
    assert round(math.sqrt(km.variance_at(1)), 4) == 0.0641
    assert round(km.survival_at(2), 4) == 0.8095
    assert round(math.sqrt(km.variance_at(2)), 4) == 0.0857
    # No censoring: 11 of 21 relapse by week 8 → S(8) = 8/21 and the median is the 11th value, 8.
    assert km.survival_at(8) == pytest.approx(8 / 21)
    assert km.median == 8


def test_event_and_censoring_at_the_same_time_counts_the_event_first() -> None:
    # Two subjects at t = 5: one event, one censored. Events first → both at risk at 5: S = 1 − 1/2
    # (were the censoring taken first, the event would face one subject at risk and S would drop to 0).
    km = kaplan_meier([1.0, 5.0, 5.0], [False, True, False])
    assert km.survival_at(5) == pytest.approx(1 - 1 / 2)
    km = kaplan_meier([2.0, 5.0, 5.0, 9.0], [True, True, False, True])
    assert km.steps[1].at_risk == 3
    assert km.survival_at(5) == pytest.approx(0.75 * (1 - 1 / 3))


def test_rejects_inconsistent_input() -> None:
    with pytest.raises(ValueError, match="durations"):
        kaplan_meier([1.0], [True, False])
    with pytest.raises(ValueError, match="non-negative"):
        kaplan_meier([-1.0], [True])
    with pytest.raises(ValueError, match="quantile"):
        kaplan_meier([1.0], [True]).quantile(1.0)


def test_empty_sample_has_nothing_reached() -> None:
    km = kaplan_meier([], [])
    assert km.median is None
    assert km.survival_at(10) == 1.0


samples = st.lists(
    st.tuples(st.integers(min_value=0, max_value=60).map(float), st.booleans()), min_size=1, max_size=40
)


@given(samples)
def test_survival_is_non_increasing_and_within_unit_interval(sample: list[tuple[float, bool]]) -> None:
    km = kaplan_meier([d for d, _ in sample], [e for _, e in sample])
    previous = 1.0
    for step in km.steps:
        assert 0.0 <= step.survival <= previous
        previous = step.survival
    assert km.events + km.censored == len(sample)
    assert sum(s.events + s.censored for s in km.steps) == len(sample)


@given(st.lists(st.integers(min_value=0, max_value=60).map(float), min_size=1, max_size=40))
def test_without_censoring_s_is_the_empirical_survival_function(durations: list[float]) -> None:
    km = kaplan_meier(durations, [True] * len(durations))
    n = len(durations)
    for t in [*sorted(set(durations)), max(durations) + 1]:
        assert km.survival_at(t) == pytest.approx(sum(1 for d in durations if d > t) / n, abs=1e-12)
    # Documented median rule: the ⌈n/2⌉-th smallest value (lower middle value when n is even).
    assert km.median == sorted(durations)[math.ceil(n / 2) - 1]
    # Same rule for p90: the ⌈0.9 n⌉-th smallest value.
    assert km.quantile(0.9) == sorted(durations)[math.ceil(0.9 * n - 1e-9) - 1]
