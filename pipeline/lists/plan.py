"""The remediation plan, paged: the actions of ``patchgap plan`` ranked by the risk they remove, one
keyset page at a time (``core.paging``), and the top of the plan for the overview.

Actions are exactly the plan's (``pipeline.plan``, ``reports.plan.build_plan``): the same JSON, the
same order. When the moment asked for is at or after the organization's newest snapshot (always, for
"now"), the plan is read from its stored items (``store.tables.plan``, kept with the exposures list by
``pipeline.lists.exposures.refresh_list``): one aggregate statement ranks the actions at that moment
(the past-due factor of each item's weight is applied there), and only the items of the page's actions
are read and merged into their actions. An earlier moment, or a reader entitled to embargoed records
while some are embargoed (the stored advice is the public reader's), computes the plan in memory and
pages it there.

Unfixable versions are on every page (the plan document's contract): they are their own ranking, read
from the stored items that have no single upgrade.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from core.embargo import current_view, public, viewing
from core.errors import InputError, NotFoundError
from core.paging import MAX_LIMIT, CursorValue, decode_cursor, encode_cursor
from core.time import require_utc, rfc3339, utcnow_seconds, within_range
from pipeline.embargo import hidden_groups, hidden_records
from pipeline.exposures.build import ensure_exposures
from pipeline.lists.exposures import list_version, refresh_list
from pipeline.plan import item_of_row, remediation_plan
from pipeline.systems import SystemFilter
from reports.plan import (
    Action,
    Plan,
    PlanSystem,
    PlanVulnerability,
    Unfixable,
    action_id,
    build_plan,
    days_past_due_us,
    from_micros,
    micros,
    past_due_factor,
    vulnerability_order,
)
from store.db import Database
from store.queries import lists as lq
from store.queries import plan as pq
from store.queries import systems as system_queries
from store.queries.organizations import get_organization

__all__ = ["PlanPage", "PlanQuery", "plan_document", "plan_page", "top_actions"]

_KIND = "plan"
_ORDER = "rank"
# The cursor: an action's key (``store.queries.plan.ActionKey``) and its rank.
_ARITY = 8


@dataclass(frozen=True, slots=True)
class PlanQuery:
    """Which part of the plan, at which moment (``None``: now): one system, an environment, the
    systems of an owner and carrying every one of ``tags``."""

    system: str | None = None
    environment: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()
    as_of: datetime | None = None

    def systems(self) -> SystemFilter:
        return SystemFilter.of(self.owner, self.tags)


@dataclass(frozen=True, slots=True)
class PlanPage:
    """A page of the plan: its actions' JSON (ranked), every unfixable version's JSON, the totals, and
    the cursor of the next page (``None`` on the last)."""

    as_of: datetime
    actions: list[dict[str, Any]]
    unfixable: list[dict[str, Any]]
    total_actions: int
    total_unfixable: int
    next_cursor: str | None


def action_key(action: Action, as_of: datetime) -> pq.ActionKey:
    """An action's place in the plan (the order ``build_plan`` sorts in, the ecosystem last)."""
    due = micros(action.earliest_due) if action.earliest_due is not None else pq.NO_DUE
    return (
        -round(action.score, 6),
        -action.kev,
        due,
        action.package,
        action.from_version,
        action.to_version,
        action.ecosystem,
    )


def _bounded(document: dict[str, Any], systems_shown: int | None) -> dict[str, Any]:
    if systems_shown is None or len(document["systems"]) <= systems_shown:
        return document
    return {**document, "systems": document["systems"][:systems_shown]}


@dataclass(frozen=True, slots=True)
class _Stored:
    org_id: int
    moment: datetime
    filter: pq.PlanFilter


def _stored(db: Database, org: str, query: PlanQuery, moment: datetime, *, current: bool) -> _Stored | None:
    """Bring the stored exposures, list rows and plan items current (unless the caller just did:
    ``current``); ``None`` when the plan must be computed in memory (a moment before the newest
    snapshot, or an entitled reader during an embargo)."""
    if not current:
        ensure_exposures(db, org)
        refresh_list(db, org)
    with db.read() as session:
        org_id = get_organization(session, org).id
        assert org_id is not None
        if query.system is not None and not system_queries.org_systems(session, org_id, query.system):
            raise NotFoundError(f"system {query.system!r} does not exist in organization {org!r}")
        newest = lq.newest_moment(session, org_id)
        if current_view().entitled:
            with viewing(public(current_view().now)):
                if hidden_records(session):
                    return None
        hidden = tuple(sorted(hidden_groups(session)))
    if newest is not None and moment < newest:
        return None
    f = pq.PlanFilter(
        system=query.system,
        environment=query.environment,
        owner_key=query.owner.casefold() if query.owner else None,
        tags=query.systems().tags,
        hidden_groups=hidden,
    )
    return _Stored(org_id, moment, f)


# (database, organization id, filter) → (list version, number of actions): the count does not depend
# on the moment, only on the items, which change only when the list's version does.
_TOTALS: dict[tuple[str, int, pq.PlanFilter], tuple[str, int]] = {}


def _total(db: Database, where: _Stored) -> int:
    key = (str(db.url), where.org_id, where.filter)
    version = list_version(db, where.org_id)
    cached = _TOTALS.get(key)
    if cached is not None and version is not None and cached[0] == version:
        return cached[1]
    with db.read() as session:
        total = pq.count_actions(session, where.org_id, where.filter)
    if version is not None:
        _TOTALS[key] = (version, total)
    return total



@dataclass(frozen=True, slots=True)
class _ActionItems:
    """What an action's page entry is assembled from, whatever the moment: its groups' facts, its
    pairs' (weight, due) in the order the plan sums them, and its systems in order."""

    groups: list[Any]
    weights: list[tuple[float, int | None]]
    systems: tuple[PlanSystem, ...]


# (database, organization id, filter) → (list version, action → its items): the items of an action
# change only when the list does (a refresh moves the version), so a page of the same plan at another
# moment, or the next view of the same page, reads none of them again. One version per filter is kept.
_ITEMS: dict[tuple[str, int, pq.PlanFilter], tuple[str, dict[pq.ActionId, _ActionItems]]] = {}
_ITEMS_KEPT = 32
_ITEMS_LOCK = threading.Lock()


def _kept_items(db: Database, where: _Stored, version: str | None) -> dict[pq.ActionId, _ActionItems]:
    """The items kept for this plan under the list's current version (a new, empty store when the
    version moved; a throwaway one without a version)."""
    if version is None:
        return {}
    key = (str(db.url), where.org_id, where.filter)
    with _ITEMS_LOCK:
        found = _ITEMS.get(key)
        if found is not None and found[0] == version:
            return found[1]
        if found is None and len(_ITEMS) >= _ITEMS_KEPT:
            _ITEMS.pop(next(iter(_ITEMS)))
        kept: dict[pq.ActionId, _ActionItems] = {}
        _ITEMS[key] = (version, kept)
        return kept


def _items_of(
    ids: Sequence[pq.ActionId], groups: Sequence[Any], weights: Sequence[Any]
) -> dict[pq.ActionId, _ActionItems]:
    """Split the rows read for these actions by action (each action's rows keep their order)."""
    by_groups: dict[pq.ActionId, list[Any]] = {i: [] for i in ids}
    for g in groups:
        by_groups[g[0]].append(g)
    pairs: dict[pq.ActionId, list[tuple[float, int | None]]] = {i: [] for i in ids}
    listed: dict[pq.ActionId, list[PlanSystem]] = {i: [] for i in ids}
    for package, version, to_version, ecosystem, weight, due, system, environment, internet in weights:
        key = (package, version, to_version, ecosystem)
        pairs[key].append((weight, due))
        shown = listed[key]
        # Rows come by system: a system's first row adds it.
        if not shown or shown[-1].system != system:
            shown.append(PlanSystem(system, environment, internet))
    return {i: _ActionItems(by_groups[i], pairs[i], tuple(listed[i])) for i in ids if by_groups[i]}

def _stored_actions(
    db: Database,
    where: _Stored,
    after: pq.ActionKey | None,
    offset: int,
    limit: int | None,
    *,
    systems_shown: int | None = None,
) -> list[tuple[pq.ActionKey, Action, int]] | None:
    """The actions after ``after`` (or from ``offset``), at most ``limit``, with their keys and system
    counts, in order (each listing its first ``systems_shown`` systems); ``None`` when the items
    changed between the reads (the caller refreshes and asks again).

    Each action is assembled from aggregates of its items, exactly as ``build_plan`` merges them: the
    score sums the pairs' weights in the order the plan computed in memory sums them (a float sum
    depends on its order), days past due are computed from exact microseconds; the facts of a
    vulnerability group are the same on each of its items.
    """
    at = micros(where.moment)
    version = list_version(db, where.org_id)
    kept = _kept_items(db, where, version)
    with db.read() as session:
        keys = pq.rank_actions(
            session,
            where.org_id,
            where.filter,
            moment_us=at,
            after=after,
            offset=offset,
            limit=limit,
        )
        ids = [k[3:] for k in keys]
        missing = [i for i in ids if i not in kept]
        if missing:
            read_groups = pq.vulnerability_facts(session, where.org_id, where.filter, missing)
            read_weights = pq.pair_weights(session, where.org_id, where.filter, missing)
    if missing:
        fresh = _items_of(missing, read_groups, read_weights)
        if version is not None:
            with _ITEMS_LOCK:
                kept.update(fresh)
    else:
        fresh = {}
    found_items = {i: kept.get(i) or fresh.get(i) for i in ids}
    groups = [g for i in ids if (f := found_items[i]) is not None for g in f.groups]
    advice = {g[0]: (g[9], g[10], g[11]) for g in groups}
    if len(advice) != len(keys) or any(i not in advice for i in ids):
        return None
    score: dict[pq.ActionId, float] = dict.fromkeys(ids, 0.0)
    past: dict[pq.ActionId, int] = dict.fromkeys(ids, 0)
    listed: dict[pq.ActionId, tuple[PlanSystem, ...]] = {}
    for key in ids:
        items = found_items[key]
        assert items is not None
        total, late = 0.0, 0
        for weight, due in items.weights:
            days = days_past_due_us(due, at)
            total = total + weight * past_due_factor(days)
            if days > 0:
                late += 1
        score[key], past[key], listed[key] = total, late, items.systems
    vulnerabilities: dict[pq.ActionId, list[PlanVulnerability]] = {i: [] for i in ids}
    for key, group, severity, cvss, kev, epss, last_resort, count, due, *_ in groups:
        vulnerabilities[key].append(
            PlanVulnerability(
                group,
                severity,
                cvss,
                kev,
                epss,
                count,
                from_micros(due) if due is not None else None,
                days_past_due_us(due, at),
                last_resort,
            )
        )
    out = []
    for k in keys:
        key = k[3:]
        package, from_version, to_version, ecosystem = key
        major, in_major, leaves_open = advice[key]
        systems = listed[key]
        count = len(systems)
        if systems_shown is not None:
            systems = systems[:systems_shown]
        found = sorted(vulnerabilities[key], key=vulnerability_order)
        dues = [v.earliest_due for v in found if v.earliest_due is not None]
        action = Action(
            action_id(ecosystem, package, from_version, to_version),
            package,
            ecosystem,
            from_version,
            to_version,
            major,
            in_major,
            tuple(json.loads(leaves_open)),
            score[key],
            tuple(systems),
            tuple(found),
            past[key],
            max((v.max_days_past_due for v in found), default=0.0),
            min(dues) if dues else None,
        )
        out.append((k, action, count))
    return out


def _build(rows: list[dict[str, Any]], moment: datetime) -> Plan:
    """``build_plan`` over stored items, taken in the order the plan computed in memory takes them
    (its exposures' order: system, package, group): an action's score is a sum of floats, and the same
    sum in another order can differ in its last bits, which rounding can show."""
    rows.sort(key=lambda r: (r["system"], r["package"], r["vulnerability"], r["exposure_id"]))
    return build_plan([item_of_row(r) for r in rows], moment)


def _stored_unfixable(db: Database, where: _Stored) -> tuple[Unfixable, ...]:
    with db.read() as session:
        rows = pq.unfixable_items(session, where.org_id, where.filter)
    return _build(rows, where.moment).unfixable


def _in_memory(db: Database, org: str, query: PlanQuery) -> Plan:
    return remediation_plan(
        db,
        org,
        system=query.system,
        environment=query.environment,
        as_of=query.as_of,
        only=query.systems(),
    )


def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError("limit", f"must be between 1 and {MAX_LIMIT}, not {limit}")
    return limit


def plan_page(
    db: Database,
    org: str,
    query: PlanQuery,
    *,
    limit: int,
    cursor: str | None = None,
    offset: int = 0,
    systems_shown: int | None = None,
    unfixable: bool = True,
    current: bool = False,
) -> PlanPage:
    """The ``limit`` actions of the plan that follow ``cursor`` (or skip ``offset`` of them), ranked
    from where they stand in the whole plan, every unfixable version (without ``unfixable``: none),
    the totals, and the cursor of the next page.

    ``systems_shown`` bounds the systems each action and unfixable version lists (the dashboard's
    pages; ``system_count`` still counts them all); the API and the CLI list every one. ``current``:
    the caller has just brought the stored exposures and the list current (the overview).
    """
    _check_limit(limit)
    if offset < 0:
        raise InputError("offset", "must not be negative")
    after: tuple[CursorValue, ...] | None = None
    if cursor:
        after = decode_cursor(cursor, _KIND, _ORDER, _ARITY)
        if not isinstance(after[7], int) or isinstance(after[7], bool) or after[7] < 0:
            raise InputError("cursor", "not a cursor this service issued (use the `next` link as given)")
        offset = 0
    if query.as_of is not None:
        within_range(query.as_of, "as_of", "plan")
    moment = require_utc(query.as_of, "as_of") if query.as_of is not None else utcnow_seconds()
    query = replace(query, as_of=moment)
    start = (int(after[7]) if after is not None else offset) + 1  # type: ignore[arg-type]
    where = _stored(db, org, query, moment, current=current)
    apart: Sequence[Unfixable]
    counts: dict[int, int] = {}
    if where is None:
        plan = _in_memory(db, org, query)
        keyed = [(action_key(a, plan.as_of), a) for a in plan.actions]
        if after is not None:
            bound = tuple(after[:7])
            keyed = [(k, a) for k, a in keyed if k > bound]
        else:
            keyed = keyed[offset:]
        keyed = keyed[: limit + 1]
        total, apart = len(plan.actions), plan.unfixable if unfixable else ()
    else:
        bound_key = _action_key_of(after) if after is not None else None
        for _ in range(3):
            found = _stored_actions(db, where, bound_key, offset, limit + 1, systems_shown=systems_shown)
            if found is not None:
                break
            ensure_exposures(db, org)
            refresh_list(db, org)
        else:
            raise RuntimeError("the plan's items changed under three reads of the same page")
        keyed = [(k, a) for k, a, _ in found]
        counts = {id(a): n for _, a, n in found}
        total = _total(db, where)
        apart = _stored_unfixable(db, where) if unfixable else ()
    items = keyed[:limit]
    next_cursor = None
    if len(keyed) > limit:
        last = (*items[-1][0], start + len(items) - 1)
        next_cursor = encode_cursor(_KIND, _ORDER, last)
    actions = []
    for rank, (_, a) in enumerate(items, start=start):
        document = _bounded(a.to_json(rank), systems_shown)
        document["system_count"] = counts.get(id(a), document["system_count"])
        actions.append(document)
    return PlanPage(
        moment,
        actions,
        [_bounded(u.to_json(), systems_shown) for u in apart],
        total,
        len(apart),
        next_cursor,
    )


def _action_key_of(values: tuple[CursorValue, ...]) -> pq.ActionKey:
    """A cursor's action key, its types checked (a cursor is user input)."""
    score, kev, due, *texts = values[:7]
    if (
        not isinstance(score, int | float)
        or isinstance(score, bool)
        or not isinstance(kev, int)
        or isinstance(kev, bool)
        or not isinstance(due, int)
        or isinstance(due, bool)
        or not all(isinstance(t, str) for t in texts)
    ):
        raise InputError("cursor", "not a cursor this service issued (use the `next` link as given)")
    package, from_version, to_version, ecosystem = (str(t) for t in texts)
    return (float(score), kev, due, package, from_version, to_version, ecosystem)


def plan_document(
    db: Database,
    org: str,
    query: PlanQuery,
    *,
    limit: int | None = None,
    cursor: str | None = None,
    offset: int = 0,
    systems_shown: int | None = None,
) -> tuple[dict[str, Any], str | None]:
    """The plan document (README "Remediation plan") of a page, and the next page's cursor: ``actions``
    ranked from the cursor or ``offset`` (at most ``limit`` of them; every one without), every
    ``unfixable`` version, and the totals."""
    if offset < 0 or (limit is not None and limit < 0):
        raise InputError("plan", "offset and limit must not be negative")
    if limit == 0 or limit is None:
        # No page: the whole plan (or none of its actions), merged as ``build_plan`` merges it.
        page = _whole(db, org, query, offset, limit)
    else:
        page = plan_page(
            db, org, query, limit=limit, cursor=cursor, offset=offset, systems_shown=systems_shown
        )
    document = {
        "organization": org,
        "as_of": rfc3339(page.as_of),
        "system": query.system,
        "environment": query.environment,
        "total_actions": page.total_actions,
        "total_unfixable": page.total_unfixable,
        "actions": page.actions,
        "unfixable": page.unfixable,
    }
    return document, page.next_cursor


def _whole(db: Database, org: str, query: PlanQuery, offset: int, limit: int | None) -> PlanPage:
    """Every action from ``offset`` (``limit`` 0: none), in ``build_plan``'s own order."""
    if query.as_of is not None:
        within_range(query.as_of, "as_of", "plan")
    moment = require_utc(query.as_of, "as_of") if query.as_of is not None else utcnow_seconds()
    query = replace(query, as_of=moment)
    where = _stored(db, org, query, moment, current=False)
    if where is None:
        plan = _in_memory(db, org, query)
    else:
        with db.read() as session:
            rows = pq.plan_items(session, where.org_id, where.filter)
        plan = _build(rows, moment)
    end = len(plan.actions) if limit is None else offset + limit
    return PlanPage(
        moment,
        [a.to_json(rank) for rank, a in enumerate(plan.actions[offset:end], start=offset + 1)],
        [u.to_json() for u in plan.unfixable],
        len(plan.actions),
        len(plan.unfixable),
        None,
    )


def top_actions(
    db: Database,
    org: str,
    as_of: datetime | None,
    n: int,
    only: SystemFilter | None = None,
    *,
    current: bool = False,
) -> tuple[list[dict[str, Any]], int]:
    """The first ``n`` actions of the organization's plan at ``as_of`` (``None``: now) as their JSON,
    ranked 1..n exactly as the plan ranks them, and how many actions the whole plan holds (``current``
    as for :func:`plan_page`)."""
    only = only or SystemFilter()
    query = PlanQuery(owner=only.owner, tags=only.tags, as_of=as_of)
    page = plan_page(db, org, query, limit=min(max(n, 1), MAX_LIMIT), unfixable=False, current=current)
    return page.actions[: max(n, 0)], page.total_actions
