"""The deploy-time report computed over columns: the document of ``reports.deploy_time``, from arrays.

Why: at 10,000 systems an organization has ~600,000 exposure intervals, and the per-exposure report
(:func:`reports.deploy_time.deploy_time_report`) spends seconds creating and walking one object per
exposure. Here an exposure is one position in a few numpy arrays (times as integer microseconds since
the epoch, strings as integer codes). What depends only on (vulnerability group, package,
the system's attributes) — fix time, risk, severity, SLA tier — is derived once per combination by the
reference functions; every Kaplan–Meier curve of a grouping (the fleet, each system, environment,
ecosystem, severity, SLA tier) is computed in one pass over the exposures sorted by (group, duration).

Equal, not approximately equal: every number comes from the same IEEE operations in the same order as
in the reference. Durations are integer microseconds / 10⁶ / 86,400 (what ``timedelta.total_seconds()``
/ 86,400 computes, correctly rounded); S(t) is the left-to-right product of the same factors
1 − dᵢ/nᵢ (``numpy.multiply.accumulate`` is sequential); quantiles and 1 − S(t) read the same steps.
The reference stays the definition: a test computes both on generated fleets and compares the
documents and the overall curves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from core.time import require_utc
from core.triage import EXCLUDING, STATES, Analysis
from reports.deploy_time import (
    _EXCLUDED_AS,
    FIX_SOURCES,
    WITHIN_DAYS,
    DeployTimeReport,
    Figures,
    GapSplit,
    Metric,
    MonthTrend,
    Precision,
    SlaAttainment,
    StaleSystem,
    Summary,
    _facts_lookup,
    gap_split,
    severity_label,
    stale_systems,
    upstream_days,
)
from reports.exposure_records import SystemHistory, VulnFacts
from reports.sla import DEFAULT_POLICY, RiskFacts, SlaPolicy
from reports.survival import _SLACK, KaplanMeier, KmStep
from reports.timeline import fix_available

__all__ = [
    "EPOCH",
    "Clocks",
    "ExposureColumns",
    "deploy_time_report_columns",
    "micros",
    "overall_and_gap",
    "overall_clocks",
    "pair_fixes",
]

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_DAY = 86400.0
# Resolutions that are events: M1 counts upgrades, M2 every closing (``reports.deploy_time._row``); a
# decommissioning closes without a snapshot (counted apart, and not in the precision).
_UPGRADED = "upgraded"
_CLOSING = frozenset({"upgraded", "removed", "decommissioned"})
_RETIRED = "decommissioned"
# Groups with more distinct durations than this get their own sequential accumulate; the others are
# accumulated together, one rank at a time.
_LONG = 48
# SLA status codes: index into _STATUSES.
_STATUSES = (None, "met", "breached", "indeterminate", "open", "risk_accepted")
_MET, _BREACHED, _INDETERMINATE, _OPEN, _ACCEPTED = 1, 2, 3, 4, 5


def micros(moment: datetime) -> int:
    """Microseconds since 1970-01-01 UTC (exact integer arithmetic on an aware datetime)."""
    return (moment - EPOCH) // _MICRO


@dataclass(frozen=True, slots=True)
class ExposureColumns:
    """The counted exposures of a fleet, one position per exposure in every array.

    ``system`` indexes the ``SystemHistory`` list passed along with the columns, ``pair`` indexes
    ``pairs`` ((vulnerability group, package purl without version)), ``ecosystem`` indexes
    ``ecosystems``, ``resolution`` indexes ``resolutions`` (``None`` while open), ``analysis`` indexes
    ``analyses`` (−1: no record decides about it). Times are :func:`micros`; ``resolved`` holds R
    where ``closed`` (R exists) and anything elsewhere.
    """

    system: Ints
    pair: Ints
    ecosystem: Ints
    first_seen: Ints
    last_affected: Ints
    resolved: Ints
    closed: Bools
    resolution: Ints
    analysis: Ints
    pairs: Sequence[tuple[str, str]]
    ecosystems: Sequence[str]
    resolutions: Sequence[str | None]
    analyses: Sequence[Analysis]

    def __len__(self) -> int:
        return len(self.system)


# --- Kaplan–Meier curves of every group of a grouping, together ------------------------------------


def _segmented_accumulate(op: np.ufunc, values: Floats, starts: Ints, lengths: Ints) -> Floats:
    """``op.accumulate`` within each segment, exactly as a sequential loop over each segment would do."""
    out = values.copy()
    long = lengths > _LONG
    for start, length in zip(starts[long].tolist(), lengths[long].tolist(), strict=True):
        op.accumulate(values[start : start + length], out=out[start : start + length])
    short = ~np.repeat(long, lengths)
    rank = np.arange(len(values)) - np.repeat(starts, lengths)
    positions = np.flatnonzero(short & (rank > 0))
    if len(positions):
        positions = positions[np.argsort(rank[positions], kind="stable")]
        bounds = np.searchsorted(rank[positions], np.arange(1, int(rank[positions[-1]]) + 2))
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            at = positions[lo:hi]
            out[at] = op(out[at - 1], values[at])
    return out


class _Sorted:
    """The rows of one grouping sorted by (group, duration), and their distinct (group, duration)
    steps: what every curve of the grouping over these durations shares, whatever its events."""

    def __init__(self, codes: Ints, durations: Floats, order: Ints) -> None:
        """``order``: ``numpy.lexsort((durations, codes))``."""
        group, time = codes[order], durations[order]
        n = len(time)
        new = np.ones(n, dtype=bool)
        new[1:] = (group[1:] != group[:-1]) | (time[1:] != time[:-1])
        self.order = order
        self.first = np.flatnonzero(new)
        self.total = np.diff(np.append(self.first, n))
        pair_group = group[self.first]
        gnew = np.ones(len(self.first), dtype=bool)
        gnew[1:] = pair_group[1:] != pair_group[:-1]
        self.starts: Ints = np.flatnonzero(gnew)
        self.lengths: Ints = np.diff(np.append(self.starts, len(self.first)))
        self.groups: Ints = pair_group[self.starts]
        cumulative = np.cumsum(self.total)
        before = cumulative - self.total
        group_end = cumulative[self.starts + self.lengths - 1]
        self.at_risk: Ints = np.repeat(group_end, self.lengths) - before
        self.time: Floats = time[self.first]
        self.subjects: Ints = group_end - before[self.starts]
        self.ordinal = np.repeat(np.arange(len(self.starts)), self.lengths)


class _Curves:
    """The curves of one grouping: each present group's steps, contiguous, in time order."""

    def __init__(self, steps: _Sorted, events: Bools) -> None:
        d = np.add.reduceat(events[steps.order].astype(np.int64), steps.first)
        self.starts, self.lengths, self.groups = steps.starts, steps.lengths, steps.groups
        self.time, self.at_risk, self.subjects = steps.time, steps.at_risk, steps.subjects
        self._ordinal = steps.ordinal
        self.events: Ints = d
        self.censored: Ints = steps.total - d
        self.survival = _segmented_accumulate(np.multiply, 1.0 - d / steps.at_risk, self.starts, self.lengths)
        self.event_totals: Ints = np.add.reduceat(d, self.starts) if len(d) else d
        self._greenwood: Floats | None = None

    @property
    def greenwood(self) -> Floats:
        """Σ dᵢ / (nᵢ (nᵢ − dᵢ)) per step, within each group (only the curves read it: computed once
        when first asked)."""
        if self._greenwood is None:
            d, at_risk = self.events, self.at_risk
            term = np.zeros(len(d))
            np.divide(d, at_risk * (at_risk - d), out=term, where=(d > 0) & (at_risk > d))
            self._greenwood = _segmented_accumulate(np.add, term, self.starts, self.lengths)
        return self._greenwood

    def quantile(self, q: float) -> list[float | None]:
        """Per present group: ``KaplanMeier.quantile(q)``."""
        threshold = 1.0 - q + _SLACK
        hits = np.flatnonzero((self.events > 0) & (self.survival <= threshold))
        out: list[float | None] = [None] * len(self.starts)
        owners, firsts = np.unique(self._ordinal[hits], return_index=True)
        for owner, time in zip(owners.tolist(), self.time[hits[firsts]].tolist(), strict=True):
            out[owner] = time
        return out

    def closed_within(self, days: Floats) -> list[float]:
        """Per present group: ``KaplanMeier.closed_within(days[group ordinal])`` (1 − S(t))."""
        reached = (self.time <= days[self._ordinal]).astype(np.int64)
        count = np.add.reduceat(reached, self.starts)
        survival = np.where(count > 0, self.survival[self.starts + count - 1], 1.0)
        return (1.0 - survival).tolist()  # type: ignore[no-any-return]

    def figures(self) -> list[Figures]:
        ones = np.ones(len(self.starts))
        k = len(self.starts)
        within = [list(zip([d] * k, self.closed_within(ones * d), strict=True)) for d in WITHIN_DAYS]
        # zip/map build the 10,000s of small records in C loops (a third of the summary otherwise).
        return list(
            map(
                Figures,
                self.quantile(0.5),
                self.quantile(0.9),
                zip(*within, strict=True),
                self.event_totals.tolist(),
                (self.subjects - self.event_totals).tolist(),
            )
        )

    def curve(self, i: int) -> KaplanMeier:
        """The ``KaplanMeier`` record the reference estimator returns for the i-th present group."""
        start, stop = int(self.starts[i]), int(self.starts[i] + self.lengths[i])
        steps = tuple(
            map(
                KmStep,
                self.time[start:stop].tolist(),
                self.at_risk[start:stop].tolist(),
                self.events[start:stop].tolist(),
                self.censored[start:stop].tolist(),
                self.survival[start:stop].tolist(),
                self.greenwood[start:stop].tolist(),
            )
        )
        subjects, events = int(self.subjects[i]), int(self.event_totals[i])
        return KaplanMeier(steps, subjects, events, subjects - events, tuple(s.time for s in steps))


class _LazyCurve(KaplanMeier):
    """A breakdown group's curve, built into steps when first read.

    Every breakdown group carries its curve (``Metric.conservative_curve``), but only the fleet's is
    drawn; building ~800,000 step records for 10,000 systems would cost more than the whole summary.
    The counts are set at once; ``steps`` and ``times`` (and so every method) come from the arrays on
    first use. Equal in content, not in class: compare ``materialized()`` with a reference curve.
    """

    __slots__ = ("_built", "_index", "_source")
    _source: _Curves
    _index: int
    _built: KaplanMeier | None

    def __init__(self, source: _Curves, index: int) -> None:
        subjects, events = int(source.subjects[index]), int(source.event_totals[index])
        object.__setattr__(self, "_source", source)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_built", None)
        object.__setattr__(self, "subjects", subjects)
        object.__setattr__(self, "events", events)
        object.__setattr__(self, "censored", subjects - events)

    def materialized(self) -> KaplanMeier:
        built = self._built
        if built is None:
            built = self._source.curve(self._index)
            object.__setattr__(self, "_built", built)
        return built

    @property
    def steps(self) -> tuple[KmStep, ...]:
        return self.materialized().steps

    @property
    def times(self) -> tuple[float, ...]:
        return self.materialized().times


def _grouped_order(codes: Ints, by_time: Ints) -> Ints:
    """``numpy.lexsort((durations, codes))`` from ``by_time`` (a stable argsort of the durations): a
    stable sort of the codes along it. Codes are small integers, sorted by radix in linear time when
    they fit 16 bits — a fraction of a lexsort's cost, which grows with every grouping."""
    if not len(codes) or int(codes.min()) == int(codes.max()):
        return by_time  # one group (the fleet): already in order
    narrow = codes.astype(np.int16) if int(codes.max()) < 2**15 else codes
    return by_time[np.argsort(narrow[by_time], kind="stable")]


def _summaries(
    codes: Ints,
    times: tuple[Floats, Ints, Floats, Ints],
    upgraded: Bools,
    closing: Bools,
    retired: Bools,
    *,
    lazy: bool,
) -> tuple[list[int], list[Summary]]:
    """(present group codes ascending, their Summary) for one grouping. ``times``: the conservative
    durations and their stable argsort, the optimistic ones and theirs. ``lazy`` curves build their
    steps when read (:class:`_LazyCurve`)."""
    conservative, by_conservative, optimistic, by_optimistic = times
    by_c = _Sorted(codes, conservative, _grouped_order(codes, by_conservative))
    by_o = _Sorted(codes, optimistic, _grouped_order(codes, by_optimistic))
    m1c, m1o = _Curves(by_c, upgraded), _Curves(by_o, upgraded)
    m2c, m2o = _Curves(by_c, closing), _Curves(by_o, closing)
    present = m1c.groups.tolist()
    sizes = m1c.subjects.tolist()
    n_upgraded = m1c.event_totals.tolist()
    n_closed = m2c.event_totals.tolist()
    metrics = []
    for c, o in ((m1c, m1o), (m2c, m2o)):
        curves = [_LazyCurve(c, i) if lazy else c.curve(i) for i in range(len(present))]
        metrics.append(list(map(Metric, c.figures(), o.figures(), curves)))
    by_group = np.bincount(codes[retired], minlength=int(codes.max()) + 1) if len(codes) else codes
    n_retired = by_group[m1c.groups].tolist() if len(codes) else []
    removed = [c - u - r for c, u, r in zip(n_closed, n_upgraded, n_retired, strict=True)]
    still_open = [size - closed for size, closed in zip(sizes, n_closed, strict=True)]
    summaries = list(map(Summary, metrics[0], metrics[1], still_open, n_upgraded, removed, n_retired))
    return present, summaries


# --- the report ------------------------------------------------------------------------------------


# The system attributes an exposure's risk facts take from its system (``RiskFacts``).
_SystemClass = tuple[bool, str]


def _system_class(system: SystemHistory) -> _SystemClass:
    return (system.internet_exposed, system.criticality)


def _risk(f: VulnFacts | None, system_class: _SystemClass) -> RiskFacts:
    """What ``assess_exposures`` builds for an exposure of a system of this class."""
    exposed, criticality = system_class
    return RiskFacts(
        exploited=f.exploited if f else False,
        internet_exposed=exposed,
        criticality=criticality,
        cvss=f.cvss if f else None,
        rating=f.rating if f else None,
        epss=f.epss if f else None,
    )


@dataclass(frozen=True, slots=True)
class _Combos:
    """Per (pair, system class) combination (index ``pair × classes + class``): what the reference's
    ``assess_exposures`` derives once per (group, package, system attributes)."""

    has_fix: Bools
    fix_at: Ints
    approximated: Bools
    severity: Ints
    severities: list[str]
    tier: Ints  # index into the policy's tiers, −1: none
    source: Ints  # index into FIX_SOURCES
    last_resort: Bools  # per pair: the fix comes from a last-resort maintainer


def _combos(
    pairs: Sequence[tuple[str, str]],
    classes: Sequence[_SystemClass],
    facts: Iterable[VulnFacts],
    policy: SlaPolicy,
) -> _Combos:
    lookup = _facts_lookup(facts)
    n = len(pairs) * len(classes)
    has_fix = np.zeros(n, dtype=bool)
    fix_at = np.zeros(n, dtype=np.int64)
    approximated = np.zeros(n, dtype=bool)
    severity = np.zeros(n, dtype=np.int64)
    tier = np.full(n, -1, dtype=np.int64)
    severities: dict[str, int] = {}
    source = np.zeros(n, dtype=np.int64)
    last_resort = np.zeros(len(pairs), dtype=bool)
    for p, (group, package) in enumerate(pairs):
        f = lookup(group, package)
        fix = fix_available(f)
        last_resort[p] = f.last_resort_maintainer if f else False
        source_code = FIX_SOURCES.index(fix.source or "unknown")
        for k, system_class in enumerate(classes):
            i = p * len(classes) + k
            risk = _risk(f, system_class)
            found = policy.tier_for(risk)
            if fix.at is not None:
                has_fix[i], fix_at[i] = True, micros(fix.at)
            approximated[i] = fix.approximated
            source[i] = source_code
            severity[i] = severities.setdefault(severity_label(risk.score), len(severities))
            tier[i] = -1 if found is None else policy.tiers.index(found)
    return _Combos(has_fix, fix_at, approximated, severity, list(severities), tier, source, last_resort)


def _days(later: Ints, earlier: Ints) -> Floats:
    """``reports.deploy_time._days`` over arrays: max(0, (later − earlier) seconds / 86,400)."""
    return np.maximum(0.0, (later - earlier) / 1e6 / _DAY)


def _median(values: Floats) -> float | None:
    """``statistics.median`` of the values (the mean of the middle two of an even count, computed as it
    computes it), by partition instead of a sort of a Python list."""
    n = len(values)
    if not n:
        return None
    middle = np.partition(values, [(n - 1) // 2, n // 2])
    low, high = float(middle[(n - 1) // 2]), float(middle[n // 2])
    return high if n % 2 else (low + high) / 2


def _monthly(first_seen: Ints, resolved: Ints, as_of: datetime) -> tuple[MonthTrend, ...]:
    """``reports.deploy_time.monthly_trend``: months are taken from the few distinct times exactly."""
    if not len(first_seen):
        return ()

    def months(values: Ints) -> Counter[tuple[int, int]]:
        # Calendar months since 1970-01 of the microseconds since 1970 (UTC), counted without a sort.
        out: Counter[tuple[int, int]] = Counter()
        if not len(values):
            return out
        index = values.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)
        low = int(index.min())
        counts = np.bincount(index - low)
        for k in np.flatnonzero(counts).tolist():
            year, month = divmod(low + k, 12)
            out[(1970 + year, month + 1)] = int(counts[k])
        return out

    opened, closed = months(first_seen), months(resolved)
    year, month = min(opened)
    out: list[MonthTrend] = []
    opened_so_far = closed_so_far = 0
    while datetime(year, month, 1, tzinfo=UTC) <= as_of:
        opened_so_far += opened[(year, month)]
        closed_so_far += closed[(year, month)]
        out.append(
            MonthTrend(
                f"{year:04d}-{month:02d}",
                opened[(year, month)],
                closed[(year, month)],
                opened_so_far - closed_so_far,
            )
        )
        year, month = year + month // 12, month % 12 + 1
    return tuple(out)


def monthly_trend(columns: ExposureColumns, as_of: datetime) -> tuple[MonthTrend, ...]:
    """The report's monthly trend of these rows at ``as_of``."""
    return _monthly(columns.first_seen, columns.resolved[columns.closed], as_of)


def stale_of(systems: Iterable[SystemHistory], as_of: datetime) -> tuple[StaleSystem, ...]:
    """The report's stale systems at ``as_of``, by name."""
    systems = list(systems)
    cadence = {s.system: s.cadence_days for s in systems}
    found = stale_systems(systems, as_of)
    return tuple(StaleSystem(name, last_at, cadence[name]) for name, last_at in sorted(found.items()))


def _clocks(
    c: ExposureColumns, has_fix: Bools, fix_at: Ints
) -> tuple[Ints, Floats, Floats, Bools, Bools, Bools]:
    """Per row: the deploy clock's start (the fix's availability, not before the first sighting), the
    conservative and optimistic durations in days, and whether it closed by an upgrade, closed at all,
    closed by a decommissioning."""
    first, last = c.first_seen, c.last_affected
    start = np.where(has_fix, np.maximum(fix_at, first), first)
    conservative = _days(np.where(c.closed, c.resolved, last), start)
    optimistic = _days(last, start)
    upgraded = np.isin(c.resolution, [i for i, r in enumerate(c.resolutions) if r == _UPGRADED])
    closing = np.isin(c.resolution, [i for i, r in enumerate(c.resolutions) if r in _CLOSING])
    retired = np.isin(c.resolution, [i for i, r in enumerate(c.resolutions) if r == _RETIRED])
    return start, conservative, optimistic, upgraded, closing, retired


@dataclass(frozen=True, slots=True)
class Clocks:
    """Per row, all the report's ``overall`` summary is computed from (:func:`overall_clocks`)."""

    conservative: Floats
    optimistic: Floats
    upgraded: Bools
    closing: Bools
    retired: Bools

    def summary(self) -> Summary:
        if not len(self.conservative):
            return Summary.of_rows(())
        times = (
            self.conservative,
            np.argsort(self.conservative, kind="stable"),
            self.optimistic,
            np.argsort(self.optimistic, kind="stable"),
        )
        fleet = np.zeros(len(self.conservative), dtype=np.int64)
        return _summaries(fleet, times, self.upgraded, self.closing, self.retired, lazy=False)[1][0]


def overall_clocks(columns: ExposureColumns, facts: Iterable[VulnFacts]) -> Clocks:
    """The durations and closings the report's ``overall`` summary is computed from: its
    :meth:`~Clocks.summary` is what ``deploy_time_report_columns(...).overall`` is for the same rows,
    without the tiers, breakdowns, trend and staleness the report also computes (a fix's availability
    does not depend on the system, only on its advisory and package)."""
    c = columns
    has_fix, fix_at = pair_fixes(c.pairs, facts)
    _, conservative, optimistic, upgraded, closing, retired = _clocks(c, has_fix[c.pair], fix_at[c.pair])
    return Clocks(conservative, optimistic, upgraded, closing, retired)


def pair_fixes(pairs: Sequence[tuple[str, str]], facts: Iterable[VulnFacts]) -> tuple[Bools, Ints]:
    """Per (group, package) pair: whether its fix's availability is known, and when (:func:`micros`;
    0 where unknown) — all the facts' part in :func:`overall_clocks`."""
    lookup = _facts_lookup(facts)
    fixes = [fix_available(lookup(group, package)).at for group, package in pairs]
    has_fix = np.array([at is not None for at in fixes], dtype=bool)
    fix_at = np.array([micros(at) if at is not None else 0 for at in fixes], dtype=np.int64)
    return has_fix, fix_at


def overall_and_gap(columns: ExposureColumns, facts: Iterable[VulnFacts]) -> tuple[Summary, GapSplit]:
    """The report's ``overall`` summary and ``gap`` for these rows, as ``deploy_time_report_columns``
    computes them, without what else it computes (SLA tiers, breakdowns, precision, trend, staleness):
    neither depends on the moment, the policy or the systems' attributes — a fix's availability, its
    source and the last-resort flag are per (group, package)."""
    c = columns
    facts = list(facts)
    lookup = _facts_lookup(facts)
    n = len(c.pairs)
    has_fix, fix_at = np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64)
    source, last_resort = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    for p, (group, package) in enumerate(c.pairs):
        f = lookup(group, package)
        fix = fix_available(f)
        if fix.at is not None:
            has_fix[p], fix_at[p] = True, micros(fix.at)
        source[p] = FIX_SOURCES.index(fix.source or "unknown")
        last_resort[p] = f.last_resort_maintainer if f else False
    start, conservative, optimistic, upgraded, closing, retired = _clocks(c, has_fix[c.pair], fix_at[c.pair])
    overall = Clocks(conservative, optimistic, upgraded, closing, retired).summary()
    return overall, _gap_of(c, source[c.pair], last_resort, start, facts)


def deploy_time_report_columns(
    columns: ExposureColumns,
    systems: Sequence[SystemHistory],
    facts: Iterable[VulnFacts],
    as_of: datetime,
    *,
    policy: SlaPolicy = DEFAULT_POLICY,
    excluded: Mapping[str, int] | None = None,
    withdrawn_groups_skipped: tuple[str, ...] = (),
    breakdowns: bool = True,
) -> DeployTimeReport:
    """The :class:`DeployTimeReport` that ``deploy_time_report`` computes for the same exposures.

    ``excluded``: how many intervals analysis records exclude, by resolution (``vex_not_affected``,
    ``false_positive``), the length of the reference's ``timeline.vex_excluded``. Without
    ``breakdowns`` the report has none (its :meth:`~DeployTimeReport.headline_json` is the same; the
    per-system, environment, ecosystem, severity and tier summaries are most of the cost).
    """
    as_of = require_utc(as_of, "as_of")
    excluded = excluded or {}
    c = columns
    classes: dict[_SystemClass, int] = {}
    class_of = np.array([classes.setdefault(_system_class(s), len(classes)) for s in systems], dtype=np.int64)
    facts = list(facts)
    combos = _combos(c.pairs, list(classes), facts, policy)
    combo = c.pair * len(classes) + class_of[c.system] if len(c) else np.zeros(0, dtype=np.int64)
    last, resolved, closed = c.last_affected, c.resolved, c.closed
    start, conservative, optimistic, upgraded, closing, retired = _clocks(
        c, combos.has_fix[combo], combos.fix_at[combo]
    )

    # SLA: due = start + the tier's days (a timedelta, rounded to microseconds as timedelta does).
    tier = combos.tier[combo]
    has_tier = tier >= 0
    tier_span = np.array([timedelta(days=t.days) // _MICRO for t in policy.tiers] + [0], dtype=np.int64)
    due = start + tier_span[tier]
    now = micros(as_of)
    status = np.zeros(len(c), dtype=np.int64)
    met = closed & (resolved <= due)
    status[closed] = np.where(met, _MET, np.where(last >= due, _BREACHED, _INDETERMINATE))[closed]
    status[~closed] = np.where((last >= due) | (now > due), _BREACHED, _OPEN)[~closed]
    # −1 (no record) reads the extra False at the end.
    accepting = np.array([a.accepts_risk_at(as_of) for a in c.analyses] + [False], dtype=bool)
    status[((status == _BREACHED) | (status == _OPEN)) & accepting[c.analysis]] = _ACCEPTED
    status[~has_tier] = 0

    # Breakdowns: codes per dimension, labels per code; groups sorted by label as the reference does.
    environments: dict[str, int] = {}
    env_of_system = np.array(
        [environments.setdefault(s.environment or "unknown", len(environments)) for s in systems],
        dtype=np.int64,
    )
    tier_names = [t.name for t in policy.tiers] + ["none"]
    dimensions: list[tuple[str, Ints, Sequence[str]]] = [
        ("system", c.system, [s.system for s in systems]),
        ("environment", env_of_system[c.system], list(environments)),
        ("ecosystem", c.ecosystem, c.ecosystems),
        ("severity", combos.severity[combo], combos.severities),
        ("sla_tier", np.where(has_tier, tier, len(policy.tiers)), tier_names),
    ]
    times = (
        conservative,
        np.argsort(conservative, kind="stable"),
        optimistic,
        np.argsort(optimistic, kind="stable"),
    )
    by_dimension = []
    for name, codes, labels in dimensions if breakdowns else ():
        present, summaries = _summaries(codes, times, upgraded, closing, retired, lazy=True)
        by_label = sorted(zip((labels[g] for g in present), summaries, strict=True), key=lambda x: x[0])
        by_dimension.append((name, tuple(by_label)))
    if len(c):
        fleet = np.zeros(len(c), dtype=np.int64)
        overall = _summaries(fleet, times, upgraded, closing, retired, lazy=False)[1][0]
    else:
        overall = Summary.of_rows(())

    # SLA attainment: per tier, 1 − S(days) of the M2 conservative curve of its exposures.
    sla: list[SlaAttainment] = []
    tiered = np.flatnonzero(has_tier)
    attainment: dict[int, float] = {}
    if len(tiered):
        codes, durations = tier[tiered], conservative[tiered]
        # The tiered rows' stable duration order, from the one of every row (their positions in it).
        position = np.full(len(c), -1, dtype=np.int64)
        position[tiered] = np.arange(len(tiered), dtype=np.int64)
        by_duration = position[times[1][has_tier[times[1]]]]
        order = _grouped_order(codes, by_duration)
        curves = _Curves(_Sorted(codes, durations, order), closing[tiered])
        days = np.array([policy.tiers[g].days for g in curves.groups.tolist()])
        attainment = dict(zip(curves.groups.tolist(), curves.closed_within(days), strict=True))
    counts = np.zeros((len(policy.tiers) + 1, len(_STATUSES)), dtype=np.int64)
    np.add.at(counts, (np.where(has_tier, tier, len(policy.tiers)), status), 1)
    for i, t in enumerate(policy.tiers):
        row = counts[i].tolist()
        sla.append(
            SlaAttainment(
                t.name,
                t.days,
                sum(row),
                row[_MET],
                row[_BREACHED],
                row[_INDETERMINATE],
                row[_OPEN],
                attainment.get(i),
                row[_ACCEPTED],
            )
        )

    by_snapshot = closed & ~retired  # a decommissioning is a known moment, not a snapshot
    gaps = _days(resolved[by_snapshot], last[by_snapshot])
    analysis_states: Counter[str] = Counter()
    present_records, record_counts = np.unique(c.analysis[c.analysis >= 0], return_counts=True)
    for record, count in zip(present_records.tolist(), record_counts.tolist(), strict=True):
        analysis_states[c.analyses[record].state] += count
    facts = list(facts)
    return DeployTimeReport(
        as_of=as_of,
        overall=overall,
        precision=Precision(_median(gaps), float(gaps.max()) if len(gaps) else None, len(gaps)),
        stale_systems=stale_of(systems, as_of),
        vex_excluded=sum(excluded.values()),
        withdrawn_groups_skipped=withdrawn_groups_skipped,
        fix_available_approximated=int(combos.approximated[combo].sum()),
        breakdowns=tuple(by_dimension),
        monthly=monthly_trend(c, as_of),
        sla=tuple(sla),
        excluded_by_state=tuple((state, excluded.get(resolution, 0)) for state, resolution in _EXCLUDED_AS),
        risk_accepted=int((status == _ACCEPTED).sum()),
        counted_by_state=tuple((state, analysis_states[state]) for state in STATES if state not in EXCLUDING),
        gap=_gap_of(c, combos.source[combo], combos.last_resort, start, facts),
    )


def exact_sum(values: Ints) -> int:
    """The sum of non-negative int64 values as a Python int, which int64 arithmetic would overflow past
    9.2·10¹⁸ (a year in microseconds is 3.2·10¹³: 300,000 exposures a year long). The values are
    summed as their high and low 32 bits apart, each sum far inside int64 for any array numpy holds in
    memory of this size (under 2³¹ elements)."""
    high = int((values >> 32).sum())
    low = int((values & 0xFFFFFFFF).sum())
    return (high << 32) + low


def _gap_of(
    c: ExposureColumns, source: Ints, last_resort: Bools, start: Ints, facts: Sequence[VulnFacts]
) -> GapSplit:
    """``reports.deploy_time.gap_of`` over the columns (integer microseconds: sums are exact).
    ``source``: per row, its fix's source (index into FIX_SOURCES); ``last_resort``: per pair."""
    end = np.where(c.closed, c.resolved, c.last_affected)
    upstream_us = exact_sum(np.maximum(np.minimum(start, end) - c.first_seen, 0))
    deployment_us = exact_sum(np.maximum(end - start, 0))
    sources = np.bincount(source, minlength=len(FIX_SOURCES)).tolist() if len(c) else []
    flagged = last_resort[c.pair] & ~c.closed if len(c) else np.zeros(0, dtype=bool)
    present_pairs = np.flatnonzero(np.bincount(c.pair, minlength=len(c.pairs))) if len(c) else c.pair
    components = {
        (s, c.pairs[p][1]) for s, p in zip(c.system[flagged].tolist(), c.pair[flagged].tolist(), strict=True)
    }
    return gap_split(
        dict(zip(FIX_SOURCES, sources, strict=False)),
        upstream_days(facts, {c.pairs[p][0] for p in present_pairs.tolist()}),
        upstream_us=upstream_us,
        deployment_us=deployment_us,
        last_resort_open=int(flagged.sum()),
        last_resort_components=len(components),
    )
