"""The organization's overview figures (the dashboard's first page), as one document.

Every figure is the one the API answers for the same moment: the open rows of ``GET /api/v1/exposures``
(counted as fixable when they name a fixed version), ``GET /api/v1/reports/deploy-time`` and
``GET /api/v1/plan``.

Periods: ``period_days`` (30 or 90) sets the comparison: each time-to-deploy figure is given at
``as_of`` and at ``as_of − period_days`` (the *previous period*: the same report evaluated at that
earlier moment, over what was known then of the snapshots; facts such as advisories are today's).

Without ``as_of`` the overview is evaluated at the start of the current minute — or, when a snapshot or
a decommissioning came since, at its moment (``core.time.now_including``: "now" shows what has
happened) — and the previous period's moment is ``the minute's start − period_days`` rounded down to
the start of its hour, so that repeated views within the minute (the hour) show, and reuse, the same
figures.

Cost, so that nothing grows with the fleet on a repeated view (README "Scaling"):

- the counts, the tiers and the worst systems are one aggregate statement each over the stored
  exposures list (``store.queries.lists``: the columns the reports' own code computed), and the top
  actions the plan's first page from its stored items (``pipeline.lists.plan.top_actions``);
- the time-to-deploy figures, the stale systems, the survival curve, the monthly trend and the
  freshness come from the deploy-time report at the moment (the columnar summary of the stored rows),
  and the previous period's from the stored rows cut at its moment
  (``pipeline.exposures.summary.stored_time_to_deploy_before``: what recomputing the intervals from
  the snapshots up to it gives, in one pass over the same columns). Both are kept in the process
  per (database, organization, moment, embargo view) under a digest of every input the reports read
  (``pipeline.lists.exposures.refreshed_state``, with every system's cadence and decommissioning): a
  new or backfilled snapshot, a match, an advisory/KEV/EPSS/feed change that changes what is said
  about a group or package some system has, a triage decision, an SLA policy or a system's attributes
  change the digest and the figures are computed again. Beneath that, the overall summary and the gap
  depend neither on the moment nor on what the facts say of severity (KEV, EPSS, CVSS): they are kept
  under a digest of the rest (``pipeline.exposures.summary.stored_headlines``), so that a new minute
  or a KEV entry computes only the monthly trend and the stale systems again.

A moment before the organization's newest snapshot (a look back) computes the counts, the tiers, the
worst systems and the top actions from the report inputs at that moment instead, as the exposures
report and the plan do, and the figures from the deploy-time report there (the stored rows cut at it).
That document, and the plan it computed (for the plan's pages at that moment), are kept in the process
under the same digest: the moment asked again reads them while nothing changed.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from core.embargo import current_view
from core.errors import InputError
from core.kept import OneAtATime, UnderDigest, keep
from core.time import moment_asked, now_including, require_utc, rfc3339, within_range
from pipeline.embargo import hidden_groups
from pipeline.exposures.build import ensure_exposures
from pipeline.exposures.reports import deploy_time, report_inputs
from pipeline.exposures.summary import Headlines, stored_headlines, stored_time_to_deploy_before
from pipeline.lists.exposures import changed_systems, refreshed_state, system_stamps
from pipeline.lists.plan import PlanQuery, remember_plan, top_actions
from pipeline.plan import plan_from_inputs
from pipeline.sla import policy_of
from reports.deploy_time import assess_exposures
from reports.exposure_records import Exposure
from reports.plan import Plan
from reports.sla import SlaPolicy
from reports.timeline import ordered_snapshots
from store.db import Database, Tx
from store.queries import changes
from store.queries import lists as lq
from store.queries import systems as system_queries
from store.queries.advisories import feed_states
from store.queries.organizations import get_organization

__all__ = ["PERIODS", "overview"]

PERIODS = (30, 90)
_TOP_ACTIONS = 5
_WORST = 10
_STALE_SHOWN = 10

# The deploy-time document's keys that decompose the gap (``reports.deploy_time.GapSplit``).
_GAP_KEYS = ("fix_clocks", "upstream", "exposure_days", "last_resort_maintainer")


@dataclass(frozen=True, slots=True)
class _Figures:
    """What the overview takes from the deploy-time report at one moment (and the systems then)."""

    time_to_deploy: dict[str, Any]
    gap: dict[str, Any]
    monthly: list[Any]
    stale: list[dict[str, Any]]  # sorted by system
    survival: list[list[float]]
    oldest_last_sbom: datetime | None
    newest_last_sbom: datetime | None


# (database URL, organization, moment, previous moment, hidden groups) → the figures at the moment and
# the previous period's time-to-deploy figures, kept under the state digest; oldest dropped first.
_Key = tuple[str, str, datetime, datetime, tuple[str, ...]]
_KEPT: UnderDigest[_Key, tuple[_Figures, Mapping[str, Any]]] = UnderDigest(64)
_LOCK = threading.Lock()


def _figures_of(found: Headlines, moment: datetime) -> _Figures:
    curve = found.overall.time_to_deploy.conservative_curve
    gap = found.gap.to_json()
    active = [
        s.last_observed_at
        for s in found.systems
        if s.last_observed_at is not None
        and (s.decommissioned_at is None or s.decommissioned_at > moment)
        and s.last_observed_at <= moment
    ]
    return _Figures(
        time_to_deploy=found.overall.time_to_deploy.to_json(),
        gap={k: gap[k] for k in _GAP_KEYS},
        monthly=[m.to_json() for m in found.monthly],
        stale=sorted((s.to_json() for s in found.stale_systems), key=lambda s: s["system"]),
        survival=[[0.0, 0.0]] + [[step.time, 1.0 - step.survival] for step in curve.steps],
        oldest_last_sbom=min(active, default=None),
        newest_last_sbom=max(active, default=None),
    )


def _figures(db: Database, org: str, moment: datetime) -> _Figures:
    with db.read() as session:
        systems = system_queries.org_systems(session, _org_id(session, org))
    return _figures_of(Headlines.of(deploy_time(db, org, moment), {}, systems), moment)


def _previous_figures(db: Database, org: str, moment: datetime) -> dict[str, Any]:
    """The deploy-time document's ``time_to_deploy`` at the previous period's moment: from the stored
    rows cut at it (one pass over columns), else (the moment is not before the newest snapshot, or the
    embargo asks for it) the deploy-time report at that moment."""
    found = stored_time_to_deploy_before(db, org, moment)
    if found is not None:
        return found
    figures: dict[str, Any] = deploy_time(db, org, moment).headline_json()["time_to_deploy"]
    return figures


def _kept(
    db: Database, org: str, moment: datetime, previous: datetime, *, state: str, hidden: tuple[str, ...]
) -> tuple[_Figures, Mapping[str, Any]]:
    """The figures at ``moment`` and the previous period's time-to-deploy figures at ``previous``, from
    one read of the stored columns (``stored_headlines``), kept while the state digest holds (see the
    module docstring)."""
    key = (str(db.url), org, moment, previous, hidden)
    kept = _KEPT.get(key, state)
    if kept is not None:
        return kept
    found = stored_headlines(db, org, moment, previous, current=True)  # overview() just ensured it
    if found is not None:
        figures, before = _figures_of(found, moment), found.previous
    else:
        figures, before = _figures(db, org, moment), _previous_figures(db, org, previous)
    _KEPT.put(key, state, (figures, before))
    return figures, before


@dataclass(frozen=True, slots=True)
class _KeptCounts:
    """The systems' parts of the counts (``lq.overview_by_system``) as last read, under the systems'
    list stamps then (``system_stamps``) and their names."""

    stamps: Mapping[int, str]
    names: dict[int, str]
    parts: dict[str, lq.SystemOverview]
    total: lq.OverviewCounts  # of the parts


# (database URL, organization id, hidden groups) → the parts as last read. A part is read again when
# its system's list stamp moved (its list rows were computed again) or the moment left the span over
# which its figures hold (a due date passed, an acceptance expired; ``SystemOverview.holds_at``).
_COUNTS: dict[tuple[str, int, tuple[str, ...]], _KeptCounts] = {}
_COUNTS_LOCK = threading.Lock()
# Past this share of systems to read again (and past this many), one statement reads them all instead.
_COUNTS_PARTIAL = 0.3
_COUNTS_FEW = 64


def _counts(db: Database, org_id: int, moment: float, hidden: tuple[str, ...]) -> lq.OverviewCounts:
    """The counts at ``moment`` (the stored list is current: ``refreshed_state`` ran), reading again
    only the parts of the systems that changed since this process last read them (see ``_COUNTS``)."""
    stamps = system_stamps(db, org_id)
    key = (str(db.url), org_id, hidden)
    with _COUNTS_LOCK:
        kept = _COUNTS.get(key)
    with db.read() as session:
        again: set[int] | None = None
        if kept is not None and stamps is not None:
            ids_of = {name: sid for sid, name in kept.names.items()}
            expired = [ids_of.get(name) for name, part in kept.parts.items() if not part.holds_at(moment)]
            again = changed_systems(kept.stamps, stamps) | {sid for sid in expired if sid is not None}
            # A part under a name no system had when read (renamed meanwhile): read everything.
            if None in expired or len(again) > max(_COUNTS_FEW, _COUNTS_PARTIAL * len(stamps)):
                again = None
        if kept is None or again is None:
            names = system_queries.names_by_id(session, org_id)
            parts = lq.overview_by_system(session, org_id, moment, hidden)
            total = lq.overview_counts(parts.items())
        else:
            gone = {kept.names[sid] for sid in again if sid in kept.names}
            names = {sid: name for sid, name in kept.names.items() if sid not in again}
            names.update(system_queries.names_by_id(session, org_id, sorted(again)))
            parts = {name: part for name, part in kept.parts.items() if name not in gone}
            fresh = lq.overview_by_system(session, org_id, moment, hidden, sorted(again)) if again else {}
            parts.update(fresh)
            removed = [(name, kept.parts[name]) for name in gone if name in kept.parts]
            total = lq.overview_adjusted(kept.total, removed, fresh.items())
    if stamps is not None:
        with _COUNTS_LOCK:
            keep(_COUNTS, key, _KeptCounts(dict(stamps), names, parts, total))
    return total


def _org_id(session: Tx, org: str) -> int:
    org_id = get_organization(session, org).id
    assert org_id is not None
    return org_id


def _tier_order(names: set[str], policy: SlaPolicy) -> list[str]:
    """Tiers most severe (fewest days) first, then any other name, then ``none``."""
    ranked = sorted(policy.tiers, key=lambda t: (t.days, t.name))
    known = [t.name for t in ranked if t.name in names]
    rest = sorted(names - set(known) - {"none"})
    return known + rest + (["none"] if "none" in names else [])


def _ttd(figures: Mapping[str, Any]) -> dict[str, Any]:
    return {"half_life_days": figures["km_median_days"], "within_30_days": figures["within_days"]["30"]}


def overview(db: Database, org: str, as_of: datetime | None = None, period_days: int = 30) -> dict[str, Any]:
    """The overview document of ``org`` at ``as_of`` (default: now, as the module docstring says).

    Keys: ``open_fixable``, ``open_fixable_kev``, ``open_fixable_past_due`` (SLA status ``breached``),
    ``excluded_open`` (open intervals triage excludes), ``risk_accepted_open``; ``time_to_deploy``
    (half-life and within-30-days now and for the previous period); ``top_actions``/``total_actions``;
    ``worst_systems`` (most open fixable, then most KEV); ``stale_systems`` (count and the first ten
    by name); ``tiers`` (open fixable per SLA tier, most severe first); ``survival`` (points of the
    conservative time-to-deploy curve: days, share deployed); ``monthly``; ``freshness`` (last fetch
    per advisory feed, oldest and newest last SBOM of the active systems).
    """
    if period_days not in PERIODS:
        raise InputError("period_days", f"must be one of {', '.join(map(str, PERIODS))}, not {period_days}")
    if as_of is not None:
        within_range(as_of, "as_of", "overview")
        moment = require_utc(as_of, "as_of")
        return _overview(db, org, moment, moment - timedelta(days=period_days), period_days)
    moment, clock = moment_asked(None)
    moment = moment.replace(second=0)
    previous_moment = (moment - timedelta(days=period_days)).replace(minute=0)
    # One overview "now" of an organization at a time in this process: a reader that comes while
    # another computes it (the keep-warm thread absorbing a sync: 1–2 s at 10,000 systems) waits for it
    # and then finds what it kept, instead of reading the same rows alongside it. (A moment asked for,
    # a look back among them, is not held up behind another.)
    with _COMPUTING((str(db.url), org)):
        return _overview(db, org, moment, previous_moment, period_days, clock=clock)


# (database URL, organization name) → the lock its overviews "now" take in this process.
_COMPUTING: OneAtATime[tuple[str, str]] = OneAtATime()

# (database URL, organization id) → (the change clock's number, its systems' schedules at it, their token).
_SCHEDULES: dict[tuple[str, int], tuple[int, Mapping[int, tuple[Any, ...]], str]] = {}


def _schedules_token(session: Tx, url: str, org_id: int) -> str:
    """A digest of what staleness and activity follow from besides the snapshots: every system's
    cadence and decommissioning (``lq.system_schedules``; the list stamps cover the rest), reading
    again only the systems whose inputs the change clock names as changed (a change of either moves
    it)."""
    key = (url, org_id)
    with _LOCK:
        kept = _SCHEDULES.get(key)
    seq, schedules = changes.per_system_since(
        session,
        org_id,
        None if kept is None else (kept[0], kept[1]),
        lambda ids: lq.system_schedules(session, org_id, ids),
        lambda: system_queries.system_count(session, org_id),
        inputs_only=True,
    )
    if kept is not None and schedules is kept[1]:
        token = kept[2]
    else:
        token = hashlib.sha256(repr(sorted(schedules.items())).encode()).hexdigest()
    with _LOCK:
        keep(_SCHEDULES, key, (seq, schedules, token))
    return token


def _overview(
    db: Database,
    org: str,
    moment: datetime,
    previous_moment: datetime,
    period_days: int,
    *,
    clock: datetime | None = None,
) -> dict[str, Any]:
    """The overview at ``moment``; ``clock``: the clock ``moment`` was cut from (a view of "now"),
    which moves it to a snapshot or decommissioning since the cut (``now_including``)."""
    ensure_exposures(db, org)
    org_id, listed = refreshed_state(db, org)
    with db.read() as session:
        newest = lq.newest_moment(session, org_id)
        hidden = tuple(sorted(hidden_groups(session)))
        policy = policy_of(session, org_id, org)
        state = listed + _schedules_token(session, str(db.url), org_id)
    if clock is not None:
        moment = now_including(moment, newest, clock)
    if newest is not None and moment < newest:
        return _looked_back(
            db, (org, org_id), moment, previous_moment, period_days, state=(state, listed), hidden=hidden
        )
    top = _alongside(db, lambda: top_actions(db, org, moment, _TOP_ACTIONS, current=True))
    counts = _counts(db, org_id, moment.timestamp(), hidden)
    tiers: Counter[str] = Counter()
    for tier, n in counts.tiers.items():
        tiers[tier or "none"] += n
    worst = sorted(counts.systems.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))[:_WORST]
    with db.connect() as conn:
        feeds = [{"source": f.name, "fetched_at": rfc3339(f.fetched_at)} for f in feed_states(conn)]
    now, before = _kept(db, org, moment, previous_moment, state=state, hidden=hidden)
    top_found, total_actions = top()
    return _document(
        org=org,
        moment=moment,
        previous_moment=previous_moment,
        period_days=period_days,
        counts=counts,
        tiers={t: tiers[t] for t in _tier_order(set(tiers), policy)},
        worst=[{"system": name, "open_fixable": n, "kev": kev} for name, (n, kev) in worst],
        figures=now,
        previous=before,
        top_actions=top_found,
        total_actions=total_actions,
        feeds=feeds,
    )


# On PostgreSQL the plan's first page is read in one of these threads while the caller's counts and
# takes the figures: after a change of many systems each reads a few tenths of a second of rows, and
# the server reads one while the process reads the other. SQLite reads in the process itself, where the
# two would only take turns (and an in-memory database is one per thread): there it runs in the caller's.
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="patchgap-overview")
T = TypeVar("T")


def _alongside(db: Database, work: Callable[[], T]) -> Callable[[], T]:
    """Start ``work`` in another thread (PostgreSQL); returns what waits for its result (its exception
    raised again)."""
    if db.url.get_backend_name() == "sqlite":
        return work
    return _POOL.submit(work).result


def _document(
    *,
    org: str,
    moment: datetime,
    previous_moment: datetime,
    period_days: int,
    counts: lq.OverviewCounts,
    tiers: dict[str, int],
    worst: list[dict[str, Any]],
    figures: _Figures,
    previous: Mapping[str, Any],
    top_actions: list[dict[str, Any]],
    total_actions: int,
    feeds: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "organization": org,
        "as_of": rfc3339(moment),
        "period_days": period_days,
        "previous_as_of": rfc3339(previous_moment),
        "open_fixable": counts.open_fixable,
        "open_fixable_kev": counts.open_fixable_kev,
        "open_fixable_past_due": counts.open_fixable_past_due,
        "excluded_open": counts.excluded_open,
        "risk_accepted_open": counts.risk_accepted_open,
        "time_to_deploy": {**_ttd(figures.time_to_deploy), "previous": _ttd(previous)},
        # The gap decomposed: fix clocks by source, upstream's figure, exposure-days split, last resort.
        "gap": figures.gap,
        "top_actions": top_actions,
        "total_actions": total_actions,
        "worst_systems": worst,
        "stale_systems": {"count": len(figures.stale), "first": figures.stale[:_STALE_SHOWN]},
        "tiers": [{"tier": t, "open_fixable": n} for t, n in tiers.items()],
        "survival": figures.survival,
        "monthly": figures.monthly,
        "freshness": {
            "advisory_feeds": feeds,
            "oldest_last_sbom": rfc3339(figures.oldest_last_sbom),
            "newest_last_sbom": rfc3339(figures.newest_last_sbom),
        },
    }


def _key(e: Exposure) -> tuple[str, str, str, str]:
    return (e.system, e.package, e.vuln_group, e.version)


# (database URL, organization id, moment, previous moment, period, the reader's entitlement, the groups
# hidden from them) → the overview's document, kept under the state digest it was computed under. A
# look back computes every interval open then (tens of seconds at 10,000 systems); the same moment
# asked again (the dashboard's links keep it) is read from here while the digest holds, as the figures
# are.
_LOOKED_BACK: UnderDigest[tuple[Any, ...], dict[str, Any]] = UnderDigest(8)


def _looked_back(
    db: Database,
    org: tuple[str, int],
    moment: datetime,
    previous_moment: datetime,
    period_days: int,
    *,
    state: tuple[str, str],
    hidden: tuple[str, ...],
) -> dict[str, Any]:
    """The overview at a moment before the newest snapshot (:func:`_look_back`), kept under
    ``state`` (the digest of every input with the systems' schedules, and the digest of the reports'
    inputs alone: ``refreshed_state``; both read before it is computed) with the plan it computed
    (``pipeline.lists.plan.remember_plan``, under the second)."""
    key = (str(db.url), org[1], moment, previous_moment, period_days, current_view().entitled, hidden)
    kept = _LOOKED_BACK.get(key, state[0])
    if kept is not None:
        return copy.deepcopy(kept)
    document, plan = _look_back(db, org[0], moment, previous_moment, period_days)
    remember_plan(db, org[1], PlanQuery(as_of=moment), hidden=hidden, state=state[1], plan=plan)
    _LOOKED_BACK.put(key, state[0], copy.deepcopy(document))
    return document


def _look_back(
    db: Database, org: str, moment: datetime, previous_moment: datetime, period_days: int
) -> tuple[dict[str, Any], Plan]:
    """The overview at a moment before the newest snapshot, and the organization's plan then: every
    figure from the report inputs at that moment (what the exposures report, the deploy-time report
    and the plan compute then)."""
    # Every figure below counts intervals open then (counted or excluded): only those are read and cut,
    # and assessed once for the counts and the plan (the fields the exposures report shows of them).
    inputs = report_inputs(db, org, moment, open_only=True)
    assessed = assess_exposures(
        inputs.timeline, inputs.systems, inputs.facts, inputs.as_of, policy=inputs.policy
    )
    rows = [a for a in assessed if a.exposure.resolved_at is None]
    fixable = [a for a in rows if inputs.fixed.get(_key(a.exposure))]
    plan = plan_from_inputs(inputs, assessed)
    tiers = Counter(str(a.sla_tier or "none") for a in fixable)
    per_system = Counter(a.exposure.system for a in fixable)
    kev_system = Counter(a.exposure.system for a in fixable if a.risk.exploited)
    worst = sorted(per_system, key=lambda name: (-per_system[name], -kev_system[name], name))[:_WORST]
    figures = _figures(db, org, moment)
    active = [
        snaps[-1].observed_at
        for s in inputs.systems
        if s.retired_by(moment) is None and (snaps := ordered_snapshots(s, moment))
    ]
    figures = _Figures(
        figures.time_to_deploy,
        figures.gap,
        figures.monthly,
        figures.stale,
        figures.survival,
        min(active, default=None),
        max(active, default=None),
    )
    with db.connect() as conn:
        feeds = [{"source": f.name, "fetched_at": rfc3339(f.fetched_at)} for f in feed_states(conn)]
    counts = lq.OverviewCounts(
        open_fixable=len(fixable),
        open_fixable_kev=sum(1 for a in fixable if a.risk.exploited),
        open_fixable_past_due=sum(1 for a in fixable if a.sla_status == "breached"),
        risk_accepted_open=sum(1 for a in rows if a.sla_status == "risk_accepted"),
        excluded_open=sum(1 for e in inputs.timeline.vex_excluded if e.resolved_at is None),
        tiers={},
        systems={},
    )
    document = _document(
        org=org,
        moment=moment,
        previous_moment=previous_moment,
        period_days=period_days,
        counts=counts,
        tiers={t: tiers[t] for t in _tier_order(set(tiers), inputs.policy)},
        worst=[{"system": n, "open_fixable": per_system[n], "kev": kev_system[n]} for n in worst],
        figures=figures,
        previous=_previous_figures(db, org, previous_moment),
        top_actions=[a.to_json(rank) for rank, a in enumerate(plan.actions[:_TOP_ACTIONS], start=1)],
        total_actions=len(plan.actions),
        feeds=feeds,
    )
    return document, plan
