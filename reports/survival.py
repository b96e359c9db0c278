"""Kaplan–Meier product-limit estimator, written out so every convention is visible and tested.

Why hand-written: the report needs four numbers from one curve (median, a quantile, 1 − S(t) at fixed
days, event/censor counts) with conventions we must state in the README; pulling a scientific stack into
an application for a twenty-line product would cost more than it saves.

Conventions (the standard ones, as in Kaplan & Meier 1958 and R's ``survival::survfit``):

- S(t) = Π over event times tᵢ ≤ t of (1 − dᵢ / nᵢ), where nᵢ counts the subjects with duration ≥ tᵢ.
  S is right-continuous: the drop at tᵢ is included in S(tᵢ).
- Ties between an event and a censoring at the same time: the event is taken to happen first, so the
  subject censored at tᵢ is still at risk at tᵢ.
- Quantile q (median q = 0.5, p90 q = 0.9): the smallest event time t with S(t) ≤ 1 − q; ``None``
  ("not reached") when the curve never falls that low. With no censoring this makes the median the
  ⌈n/2⌉-th smallest duration — the lower middle value for even n, not the average of the two middle
  values. Comparisons allow 1e-9 of floating-point slack so that 1 − 1/2 products landing on 0.5 count.
- Greenwood's variance: Var S(t) = S(t)² · Σ over tᵢ ≤ t of dᵢ / (nᵢ (nᵢ − dᵢ)) (undefined terms where
  nᵢ = dᵢ are skipped, leaving S = 0 with variance 0, as survfit does).
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import compress

_SLACK = 1e-9


@dataclass(frozen=True, slots=True)
class KmStep:
    """One distinct time where something happened: subjects at risk, events, censorings, S after it."""

    time: float
    at_risk: int
    events: int
    censored: int
    survival: float
    greenwood_sum: float  # Σ dᵢ / (nᵢ (nᵢ − dᵢ)) up to and including this time

    @property
    def variance(self) -> float:
        return self.survival * self.survival * self.greenwood_sum


@dataclass(frozen=True, slots=True)
class KaplanMeier:
    """The estimated step function and the counts it was built from."""

    steps: tuple[KmStep, ...]
    subjects: int
    events: int
    censored: int
    times: tuple[float, ...]  # the steps' times, kept for bisection

    def _last_step_at(self, t: float) -> KmStep | None:
        index = bisect.bisect_right(self.times, t) - 1
        return self.steps[index] if index >= 0 else None

    def survival_at(self, t: float) -> float:
        """S(t): the estimated fraction still not closed after t days (1.0 before the first step)."""
        step = self._last_step_at(t)
        return 1.0 if step is None else step.survival

    def closed_within(self, t: float) -> float:
        """1 − S(t): the estimated fraction closed within t days."""
        return 1.0 - self.survival_at(t)

    def variance_at(self, t: float) -> float:
        """Greenwood's variance of S(t) (0.0 before the first step)."""
        step = self._last_step_at(t)
        return 0.0 if step is None else step.variance

    def quantile(self, q: float) -> float | None:
        """Smallest event time with S(t) ≤ 1 − q, or ``None`` when the curve never gets there."""
        if not 0.0 < q < 1.0:
            raise ValueError(f"quantile must lie strictly between 0 and 1, got {q}")
        threshold = 1.0 - q + _SLACK
        for step in self.steps:
            if step.events and step.survival <= threshold:
                return step.time
        return None

    @property
    def median(self) -> float | None:
        return self.quantile(0.5)


def kaplan_meier(durations: Sequence[float], events: Sequence[bool]) -> KaplanMeier:
    """Estimate S(t) from durations and event flags (``False`` = censored at that duration)."""
    if len(durations) != len(events):
        raise ValueError(f"{len(durations)} durations but {len(events)} event flags")
    # (0.0).__le__ is False for negatives and NaN alike; map keeps the check out of the Python loop.
    if not all(map((0.0).__le__, durations)):
        bad = next(d for d in durations if not d >= 0.0)
        raise ValueError(f"durations must be non-negative numbers, got {bad}")
    total = Counter(durations)
    event_counts = Counter(compress(durations, events))
    at_risk = len(durations)
    survival = 1.0
    greenwood = 0.0
    steps: list[KmStep] = []
    for time in sorted(total):
        d = event_counts.get(time, 0)
        c = total[time] - d
        if d:
            survival *= 1.0 - d / at_risk
            if at_risk > d:
                greenwood += d / (at_risk * (at_risk - d))
        steps.append(KmStep(float(time), at_risk, d, c, survival, greenwood))
        at_risk -= d + c
    n_events = sum(event_counts.values())
    return KaplanMeier(
        tuple(steps), len(durations), n_events, len(durations) - n_events, tuple(s.time for s in steps)
    )
