"""Time-to-deploy and exposure-window report: Kaplan–Meier figures, breakdowns, trend, SLA, staleness.

Metrics (DESIGN.md "Time-to-deploy — definitions"), from clock start = max(fix available, first_seen):

- M1 ``time_to_deploy``: event = upgraded; removed and still-open exposures are censored.
- M2 ``exposure_window``: event = upgraded, removed or decommissioned; open exposures are censored.
- Decommissioning (``reports.timeline``) ends an exposure without deploying a fix: censored for M1 at
  the decommissioning moment, an event for M2 — the vulnerable software no longer runs, so the window
  in which it could be attacked did end there.
- Conservative figures use R − start (the fix was first *seen* deployed at R); optimistic figures use
  L − start (it may have landed right after the last affected snapshot). Censored durations use the same
  end point as their figure. Open exposures are censored at the system's last snapshot at or before
  ``as_of`` — which is their L, so open exposures read the same in both figures. Durations below zero
  (a fix dated after it was deployed) count as 0.
- Precision: R − L over exposures closed by a snapshot (median and max), the snapshot gap that bounds
  both figures (a decommissioning is a known moment, not a snapshot: not counted here).
- A system is stale when ``as_of`` − its last snapshot > 2 × its cadence (never once decommissioned at
  or before ``as_of``: nothing more is expected of it); it is flagged, and its open
  exposures are censored at its last snapshot like every other open exposure, never carried forward.
- Triage (``reports.triage``): intervals a ``not_affected`` / ``false_positive`` record excludes are not
  in the timeline's exposures at all, so every figure here is computed without them; ``triage`` says
  how many were excluded by which state. An ``accepted_risk`` record in force at ``as_of`` (before its
  expiry) turns the SLA status ``breached`` or ``open`` of the exposures it covers into
  ``risk_accepted``, counted apart per tier; after the expiry they are what they were.

JSON: days are numbers rounded to 2 decimals, fractions (``within_days``, SLA attainment) to 4 decimals,
timestamps RFC 3339 UTC with a ``Z``. ``resolved`` counts every closed exposure (upgraded + removed +
decommissioned); ``upgraded``, ``removed`` and ``decommissioned`` split it. ``None`` (JSON null) means
"not reached".
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from core.severity import cvss_rating
from core.time import require_utc, rfc3339
from core.triage import EXCLUDING
from reports.exposure_records import Exposure, FixAvailability, SlaStatus, SystemHistory, Timeline, VulnFacts
from reports.sla import DEFAULT_POLICY, RiskFacts, SlaPolicy, SlaTier, due_date, sla_status
from reports.survival import KaplanMeier, kaplan_meier
from reports.timeline import clock_start, fix_available, split_purl_version
from reports.triage import analysis_json, in_force, state_counts

WITHIN_DAYS = (7, 30, 90)
# Excluding state → the resolution of the intervals it excludes (``reports.timeline``).
_EXCLUDED_AS = (("not_affected", "vex_not_affected"), ("false_positive", "false_positive"))
_DAY = 86400.0


def _days(later: datetime, earlier: datetime) -> float:
    return max(0.0, (later - earlier).total_seconds() / _DAY)


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def severity_label(score: float | None) -> str:
    """CVSS v3 qualitative bands (``core.severity``); ``unscored`` when there is no score."""
    return "unscored" if score is None else cvss_rating(score)


@dataclass(frozen=True, slots=True)
class AssessedExposure:
    """An exposure with everything the reports add: fix time, clock start, severity, SLA, staleness."""

    exposure: Exposure
    environment: str
    fix: FixAvailability
    start: datetime
    risk: RiskFacts
    severity: str
    sla_tier: str | None
    sla_due: datetime | None
    sla_status: SlaStatus | None
    stale: bool
    # Durations in days from clock start to R (to L while open) and to L, computed once here because
    # every breakdown reads them again.
    days_conservative: float
    days_optimistic: float
    # The group's fix comes from a last-resort maintainer (Akrites): upstream is unmaintained.
    last_resort_maintainer: bool = False

    @property
    def days_waiting_for_fix(self) -> float:
        """first_seen → clock start (capped at R, or L while open): the part of the exposure spent
        running the flaw before any fix existed — upstream's part. With :attr:`days_conservative`
        (clock start → R or L, the deployment's part) it adds up to the exposure's whole span."""
        e = self.exposure
        end = e.resolved_at if e.resolved_at is not None else e.last_affected_seen
        return _days(min(self.start, end), e.first_seen)

    def to_json(self) -> dict[str, Any]:
        """The per-exposure fields this layer knows; ``pipeline`` adds aliases, advisories, fixed versions."""
        e = self.exposure
        return {
            "system": e.system,
            "environment": self.environment,
            "package": e.package,
            "ecosystem": e.ecosystem,
            "version": e.version,
            "versions": list(e.versions),
            "vulnerability": e.vuln_group,
            "severity": self.severity,
            "cvss": self.risk.cvss,
            "kev": self.risk.exploited,
            "epss": self.risk.epss,
            "first_seen": rfc3339(e.first_seen),
            "last_affected_seen": rfc3339(e.last_affected_seen),
            "resolved_at": rfc3339(e.resolved_at),
            "resolution": e.resolution,
            "fix_available_at": rfc3339(self.fix.at),
            "fix_available_source": self.fix.source,
            "fix_available_approximated": self.fix.approximated,
            "clock_start": rfc3339(self.start),
            "sla_tier": self.sla_tier,
            "sla_due": rfc3339(self.sla_due),
            "sla_status": self.sla_status,
            "stale_system": self.stale,
            "analysis": analysis_json(e.analysis),
        }


def _facts_lookup(facts: Iterable[VulnFacts]) -> Callable[[str, str], VulnFacts | None]:
    index: dict[tuple[str, str | None], VulnFacts] = {}
    for f in facts:
        package = None if f.package is None else split_purl_version(f.package)[0]
        index[(f.vuln_group, package)] = f
    return lambda group, package: index.get((group, package)) or index.get((group, None))


def stale_systems(systems: Iterable[SystemHistory], as_of: datetime) -> dict[str, datetime]:
    """System → last snapshot, for systems silent for more than twice their cadence before ``as_of``."""
    cutoff = require_utc(as_of, "as_of")
    out: dict[str, datetime] = {}
    for system in systems:
        if system.retired_by(cutoff) is not None:
            continue
        # The newest of ``ordered_snapshots(system, cutoff)``, without sorting them all.
        last = max((s.observed_at for s in system.snapshots if s.observed_at <= cutoff), default=None)
        if (
            last is not None
            and system.cadence_days
            and (cutoff - last).total_seconds() > (2 * system.cadence_days * _DAY)
        ):
            out[system.system] = last
    return out


def assess_exposures(
    timeline: Timeline,
    systems: Iterable[SystemHistory],
    facts: Iterable[VulnFacts],
    as_of: datetime,
    *,
    policy: SlaPolicy = DEFAULT_POLICY,
) -> tuple[AssessedExposure, ...]:
    """Fix time, clock start, severity, SLA tier/due/status and staleness for each counted exposure."""
    as_of = require_utc(as_of, "as_of")
    systems = list(systems)
    by_name = {s.system: s for s in systems}
    stale = stale_systems(systems, as_of)
    lookup = _facts_lookup(facts)
    # Exposures share a handful of distinct (group, package, internet-exposed) combinations: derive the
    # fix, risk, severity and tier once per combination (measured: a third of the time for 60k exposures).
    derived: dict[
        tuple[str, str, bool, str], tuple[FixAvailability, RiskFacts, str, SlaTier | None, bool]
    ] = {}
    out: list[AssessedExposure] = []
    for e in timeline.exposures:
        system = by_name[e.system]
        key = (e.vuln_group, e.package, system.internet_exposed, system.criticality)
        found = derived.get(key)
        if found is None:
            f = lookup(e.vuln_group, e.package)
            risk = RiskFacts(
                exploited=f.exploited if f else False,
                internet_exposed=system.internet_exposed,
                criticality=system.criticality,
                cvss=f.cvss if f else None,
                rating=f.rating if f else None,
                epss=f.epss if f else None,
            )
            found = derived[key] = (
                fix_available(f),
                risk,
                severity_label(risk.score),
                policy.tier_for(risk),
                f.last_resort_maintainer if f else False,
            )
        fix, risk, severity, tier, last_resort = found
        start = clock_start(e, fix)
        due = due_date(start, tier) if tier else None
        status: SlaStatus | None = (
            sla_status(
                due=due, last_affected_seen=e.last_affected_seen, resolved_at=e.resolved_at, as_of=as_of
            )
            if due
            else None
        )
        if status in ("breached", "open") and in_force(e.analysis, as_of):
            status = "risk_accepted"
        out.append(
            AssessedExposure(
                e,
                system.environment,
                fix,
                start,
                risk,
                severity,
                tier.name if tier else None,
                due,
                status,
                e.system in stale,
                _days(e.resolved_at if e.resolved_at is not None else e.last_affected_seen, start),
                _days(e.last_affected_seen, start),
                last_resort,
            )
        )
    return tuple(out)


# --- figures ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    """The numbers read from one Kaplan–Meier curve."""

    km_median_days: float | None
    p90_days: float | None
    within_days: tuple[tuple[int, float], ...]
    events: int
    censored: int

    @classmethod
    def from_curve(cls, km: KaplanMeier) -> Figures:
        return cls(
            km.median,
            km.quantile(0.9),
            tuple((d, km.closed_within(d)) for d in WITHIN_DAYS),
            km.events,
            km.censored,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "km_median_days": _round(self.km_median_days),
            "p90_days": _round(self.p90_days),
            "within_days": {str(d): round(v, 4) for d, v in self.within_days},
            "events": self.events,
            "censored": self.censored,
        }


@dataclass(frozen=True, slots=True)
class Metric:
    """A metric's conservative (R − start) and optimistic (L − start) figures."""

    conservative: Figures
    optimistic: Figures
    conservative_curve: KaplanMeier

    def to_json(self) -> dict[str, Any]:
        optimistic = self.optimistic.to_json()
        del optimistic["events"], optimistic["censored"]  # identical to the conservative counts
        return {**self.conservative.to_json(), "optimistic": optimistic}


# One row per exposure for the curves: (R-or-L − start, L − start, upgraded?, closed?, decommissioned?).
# Built once per
# report and shared by the overall figures, every breakdown group and every SLA tier, so that each
# curve is two C-level transposes and two estimator runs (measured: half of the deploy-time report's
# time for 60,000 exposures went to rebuilding these per group).
_Row = tuple[float, float, bool, bool, bool]


def _row(a: AssessedExposure) -> _Row:
    resolution = a.exposure.resolution
    return (
        a.days_conservative,
        a.days_optimistic,
        resolution == "upgraded",
        resolution in {"upgraded", "removed", "decommissioned"},
        resolution == "decommissioned",
    )


def _metric_of_rows(
    conservative: Sequence[float], optimistic: Sequence[float], flags: Sequence[bool]
) -> Metric:
    curve = kaplan_meier(conservative, flags)
    return Metric(Figures.from_curve(curve), Figures.from_curve(kaplan_meier(optimistic, flags)), curve)


@dataclass(frozen=True, slots=True)
class Summary:
    """Both metrics and the counts of one set of exposures (the fleet, or one breakdown group)."""

    time_to_deploy: Metric
    exposure_window: Metric
    open: int
    upgraded: int
    removed: int
    decommissioned: int = 0

    @classmethod
    def of(cls, items: Sequence[AssessedExposure]) -> Summary:
        return cls.of_rows([_row(a) for a in items])

    @classmethod
    def of_rows(cls, rows: Sequence[_Row]) -> Summary:
        if not rows:
            empty = _metric_of_rows((), (), ())
            return cls(empty, empty, 0, 0, 0, 0)
        conservative, optimistic, upgraded_flags, closed_flags, retired_flags = zip(*rows, strict=True)
        upgraded, closed, retired = sum(upgraded_flags), sum(closed_flags), sum(retired_flags)
        return cls(
            _metric_of_rows(conservative, optimistic, upgraded_flags),
            _metric_of_rows(conservative, optimistic, closed_flags),
            len(rows) - closed,
            upgraded,
            closed - upgraded - retired,
            retired,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "time_to_deploy": self.time_to_deploy.to_json(),
            "exposure_window": self.exposure_window.to_json(),
            "open": self.open,
            "resolved": self.upgraded + self.removed + self.decommissioned,
            "upgraded": self.upgraded,
            "removed": self.removed,
            "decommissioned": self.decommissioned,
        }


@dataclass(frozen=True, slots=True)
class Precision:
    """R − L over closed exposures: how far apart the snapshots that bound each closing were."""

    median_days: float | None
    max_days: float | None
    closed: int


@dataclass(frozen=True, slots=True)
class MonthTrend:
    month: str  # "YYYY-MM", calendar month in UTC
    opened: int
    closed: int
    open_at_month_end: int  # for the month holding as_of: open at as_of

    def to_json(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "opened": self.opened,
            "closed": self.closed,
            "open_at_month_end": self.open_at_month_end,
        }


@dataclass(frozen=True, slots=True)
class StaleSystem:
    system: str
    last_snapshot: datetime
    cadence_days: float | None

    def to_json(self) -> dict[str, Any]:
        last = rfc3339(self.last_snapshot)
        return {"system": self.system, "last_snapshot": last, "cadence_days": self.cadence_days}


@dataclass(frozen=True, slots=True)
class SlaAttainment:
    """Per tier: statuses counted and the fraction closed within the tier's days, 1 − S(days) of M2."""

    tier: str
    days: float
    exposures: int
    met: int
    breached: int
    indeterminate: int
    open: int
    attainment: float | None  # None when the tier has no exposures
    risk_accepted: int = 0  # breached or open, under an accepted risk in force


# Where the fix clocks of the counted exposures come from: exact (a stated fix or release time) or
# approximated (the advisory's publication); ``unknown`` when no date at all (the clock starts at
# first_seen).
FIX_SOURCES: tuple[str, ...] = ("csaf", "akrites", "registry", "published", "unknown")
_EXACT_SOURCES = frozenset({"csaf", "akrites", "registry"})


@dataclass(frozen=True, slots=True)
class GapSplit:
    """The gap decomposed (DESIGN.md "The gap, decomposed").

    ``clocks``: counted exposures per fix-clock source (:data:`FIX_SOURCES`). ``upstream_*``: per
    vulnerability group of the counted exposures that has a disclosure time and an exact fix release
    time, the days from disclosure to the fix (median, p90 by nearest rank, number of groups).
    ``upstream_us`` / ``deployment_us``: the counted exposures' days summed, in integer microseconds
    (exact in any order): first_seen → clock start (waiting for a fix) and clock start → R, or L while
    open (waiting for deployment). ``last_resort_open`` / ``last_resort_components``: open exposures,
    and distinct (system, package) among them, whose fix comes from a last-resort maintainer.
    """

    clocks: tuple[tuple[str, int], ...] = tuple((s, 0) for s in FIX_SOURCES)
    upstream_median_days: float | None = None
    upstream_p90_days: float | None = None
    upstream_groups: int = 0
    upstream_us: int = 0
    deployment_us: int = 0
    last_resort_open: int = 0
    last_resort_components: int = 0

    def to_json(self) -> dict[str, Any]:
        clocks = dict(self.clocks)
        exact = sum(n for s, n in clocks.items() if s in _EXACT_SOURCES)
        total_us = self.upstream_us + self.deployment_us
        return {
            "fix_clocks": {"exact": exact, "approximated": sum(clocks.values()) - exact, "by_source": clocks},
            "upstream": {
                "median_days": _round(self.upstream_median_days),
                "p90_days": _round(self.upstream_p90_days),
                "groups": self.upstream_groups,
            },
            "exposure_days": {
                "total": _round(total_us / 1e6 / _DAY),
                "waiting_for_fix": _round(self.upstream_us / 1e6 / _DAY),
                "waiting_for_deployment": _round(self.deployment_us / 1e6 / _DAY),
                "upstream_share": _round(self.upstream_us / total_us, 4) if total_us else None,
                "deployment_share": _round(self.deployment_us / total_us, 4) if total_us else None,
            },
            "last_resort_maintainer": {
                "open_exposures": self.last_resort_open,
                "components": self.last_resort_components,
            },
        }


def nearest_rank(sorted_values: Sequence[float], q: float) -> float | None:
    """The q-quantile by nearest rank: the smallest value with at least q of the values at or below it."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * round(q * 100) // 100))  # ceil(q·n) in integers
    return sorted_values[rank - 1]


def upstream_days(facts: Iterable[VulnFacts], groups: Iterable[str]) -> list[float]:
    """Disclosure → exact fix release, in days, for each of ``groups`` that has both (group-wide facts,
    ``package`` None), sorted; a fix dated before its disclosure counts as 0."""
    by_group = {f.vuln_group: f for f in facts if f.package is None}
    out = []
    for group in sorted(set(groups)):
        f = by_group.get(group)
        if f is None or f.disclosed is None:
            continue
        fix = fix_available(f)
        if fix.approximated or fix.at is None:
            continue
        out.append(_days(fix.at, require_utc(f.disclosed, f"{group} disclosed")))
    return sorted(out)


def gap_split(
    clocks: Mapping[str, int],
    upstream: Sequence[float],
    *,
    upstream_us: int,
    deployment_us: int,
    last_resort_open: int,
    last_resort_components: int,
) -> GapSplit:
    """The :class:`GapSplit` of counts both report paths compute their own way."""
    return GapSplit(
        tuple((s, int(clocks.get(s, 0))) for s in FIX_SOURCES),
        statistics.median(upstream) if upstream else None,
        nearest_rank(upstream, 0.9),
        len(upstream),
        int(upstream_us),
        int(deployment_us),
        int(last_resort_open),
        int(last_resort_components),
    )


def _micro_span(later: datetime, earlier: datetime) -> int:
    return max(0, (later - earlier) // timedelta(microseconds=1))


def gap_of(items: Sequence[AssessedExposure], facts: Iterable[VulnFacts]) -> GapSplit:
    """The :class:`GapSplit` of assessed exposures, one at a time (the reference)."""
    upstream_us = deployment_us = 0
    for a in items:
        e = a.exposure
        end = e.resolved_at if e.resolved_at is not None else e.last_affected_seen
        upstream_us += _micro_span(min(a.start, end), e.first_seen)
        deployment_us += _micro_span(end, a.start)
    flagged = [a for a in items if a.last_resort_maintainer and a.exposure.resolved_at is None]
    return gap_split(
        Counter(a.fix.source or "unknown" for a in items),
        upstream_days(facts, {a.exposure.vuln_group for a in items}),
        upstream_us=upstream_us,
        deployment_us=deployment_us,
        last_resort_open=len(flagged),
        last_resort_components=len({(a.exposure.system, a.exposure.package) for a in flagged}),
    )


BREAKDOWNS: tuple[tuple[str, Callable[[AssessedExposure], str]], ...] = (
    ("system", lambda a: a.exposure.system),
    ("environment", lambda a: a.environment or "unknown"),
    ("ecosystem", lambda a: a.exposure.ecosystem),
    ("severity", lambda a: a.severity),
    ("sla_tier", lambda a: a.sla_tier or "none"),
)


@dataclass(frozen=True, slots=True)
class DeployTimeReport:
    as_of: datetime
    overall: Summary
    precision: Precision
    stale_systems: tuple[StaleSystem, ...]
    vex_excluded: int
    withdrawn_groups_skipped: tuple[str, ...]
    fix_available_approximated: int
    breakdowns: tuple[tuple[str, tuple[tuple[str, Summary], ...]], ...]
    monthly: tuple[MonthTrend, ...]
    sla: tuple[SlaAttainment, ...]
    # Triage: excluded intervals per excluding state; counted exposures per state of their record.
    excluded_by_state: tuple[tuple[str, int], ...] = ()
    risk_accepted: int = 0
    counted_by_state: tuple[tuple[str, int], ...] = ()
    gap: GapSplit = GapSplit()

    def to_json(self) -> dict[str, Any]:
        """The ``patchgap report deploy-time --format json`` document (keys are a stable contract)."""
        return self._json(breakdowns=True)

    def headline_json(self) -> dict[str, Any]:
        """:meth:`to_json` without ``breakdowns`` (a summary per system, environment, ecosystem, severity
        and tier: at 10,000 systems most of the document's cost), for the dashboard's overview."""
        return self._json(breakdowns=False)

    def _json(self, *, breakdowns: bool) -> dict[str, Any]:
        document: dict[str, Any] = {
            "as_of": rfc3339(self.as_of),
            **self.overall.to_json(),
            "precision_days": {
                "median": _round(self.precision.median_days),
                "max": _round(self.precision.max_days),
                "closed": self.precision.closed,
            },
            "stale_systems": [s.to_json() for s in self.stale_systems],
            "vex_excluded": self.vex_excluded,
            "triage": {
                "excluded": dict(self.excluded_by_state),
                "risk_accepted": self.risk_accepted,
                "counted_by_state": dict(self.counted_by_state),
            },
            "withdrawn_groups_skipped": list(self.withdrawn_groups_skipped),
            "fix_available_approximated": self.fix_available_approximated,
            **self.gap.to_json(),
            "sla": [
                {
                    "tier": s.tier,
                    "days": s.days,
                    "exposures": s.exposures,
                    "met": s.met,
                    "breached": s.breached,
                    "indeterminate": s.indeterminate,
                    "open": s.open,
                    "risk_accepted": s.risk_accepted,
                    "attainment": _round(s.attainment, 4),
                }
                for s in self.sla
            ],
        }
        if breakdowns:
            document["breakdowns"] = {
                dimension: {key: summary.to_json() for key, summary in groups}
                for dimension, groups in self.breakdowns
            }
        document["monthly"] = [m.to_json() for m in self.monthly]
        return document


def _month_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def _next_month(moment: datetime) -> datetime:
    return datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=UTC)


def monthly_trend(exposures: Sequence[Exposure], as_of: datetime) -> tuple[MonthTrend, ...]:
    """Opened, closed and open-at-month-end per UTC calendar month, first exposure month to ``as_of``.

    Open at a month's end = opened before it − closed before it (R > first_seen, so every exposure
    closed before the end was also opened before it); for the month holding ``as_of`` that is the
    number open now, since no R lies after ``as_of``.
    """
    if not exposures:
        return ()
    as_of = require_utc(as_of, "as_of")
    opened = Counter(_month_start(require_utc(e.first_seen)) for e in exposures)
    closed = Counter(_month_start(require_utc(e.resolved_at)) for e in exposures if e.resolved_at is not None)
    month = min(opened)
    out: list[MonthTrend] = []
    opened_so_far = closed_so_far = 0
    while month <= as_of:
        opened_so_far += opened[month]
        closed_so_far += closed[month]
        out.append(
            MonthTrend(month.strftime("%Y-%m"), opened[month], closed[month], opened_so_far - closed_so_far)
        )
        month = _next_month(month)
    return tuple(out)


def _sla_attainment(
    items: Sequence[AssessedExposure], policy: SlaPolicy, rows: Sequence[_Row] | None = None
) -> tuple[SlaAttainment, ...]:
    rows = rows if rows is not None else [_row(a) for a in items]
    out: list[SlaAttainment] = []
    for tier in policy.tiers:
        chosen = [i for i, a in enumerate(items) if a.sla_tier == tier.name]
        members = [items[i] for i in chosen]
        statuses = [a.sla_status for a in members]
        curve = kaplan_meier([rows[i][0] for i in chosen], [rows[i][3] for i in chosen]) if members else None
        out.append(
            SlaAttainment(
                tier.name,
                tier.days,
                len(members),
                statuses.count("met"),
                statuses.count("breached"),
                statuses.count("indeterminate"),
                statuses.count("open"),
                curve.closed_within(tier.days) if curve else None,
                statuses.count("risk_accepted"),
            )
        )
    return tuple(out)


def deploy_time_report(
    timeline: Timeline,
    systems: Iterable[SystemHistory],
    facts: Iterable[VulnFacts],
    as_of: datetime,
    *,
    policy: SlaPolicy = DEFAULT_POLICY,
    assessed: Sequence[AssessedExposure] | None = None,
) -> DeployTimeReport:
    """The whole report, evaluated at ``as_of`` (build ``timeline`` with the same ``as_of``).

    Pass ``assessed`` when the caller already ran :func:`assess_exposures` (the exposures report needs
    them too) to skip doing it twice.
    """
    as_of = require_utc(as_of, "as_of")
    facts = list(facts)
    systems = list(systems)
    items = (
        list(assessed)
        if assessed is not None
        else list(assess_exposures(timeline, systems, facts, as_of, policy=policy))
    )
    gaps = [
        _days(a.exposure.resolved_at, a.exposure.last_affected_seen)
        for a in items
        if a.exposure.resolved_at is not None and a.exposure.resolution != "decommissioned"
    ]
    stale = stale_systems(systems, as_of)
    cadence: Mapping[str, float | None] = {s.system: s.cadence_days for s in systems}
    rows = [_row(a) for a in items]
    breakdowns = []
    for dimension, key_of in BREAKDOWNS:
        groups: dict[str, list[_Row]] = {}
        for a, row in zip(items, rows, strict=True):
            groups.setdefault(key_of(a), []).append(row)
        breakdowns.append((dimension, tuple((k, Summary.of_rows(groups[k])) for k in sorted(groups))))
    return DeployTimeReport(
        as_of=as_of,
        overall=Summary.of_rows(rows),
        precision=Precision(
            statistics.median(gaps) if gaps else None, max(gaps) if gaps else None, len(gaps)
        ),
        stale_systems=tuple(StaleSystem(name, last, cadence[name]) for name, last in sorted(stale.items())),
        vex_excluded=len(timeline.vex_excluded),
        withdrawn_groups_skipped=timeline.withdrawn_groups_skipped,
        fix_available_approximated=sum(1 for a in items if a.fix.approximated),
        breakdowns=tuple(breakdowns),
        monthly=monthly_trend([a.exposure for a in items], as_of),
        sla=_sla_attainment(items, policy, rows),
        excluded_by_state=tuple(
            (state, sum(1 for e in timeline.vex_excluded if e.resolution == resolution))
            for state, resolution in _EXCLUDED_AS
        ),
        risk_accepted=sum(1 for a in items if a.sla_status == "risk_accepted"),
        counted_by_state=tuple(
            (state, n)
            for state, n in state_counts(a.exposure.analysis for a in items).items()
            if state not in EXCLUDING
        ),
        gap=gap_of(items, facts),
    )
