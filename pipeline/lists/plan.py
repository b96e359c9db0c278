"""The remediation plan, paged: the actions of ``patchgap plan`` ranked by the risk they remove, one
keyset page at a time (``core.paging``), and the top of the plan for the overview.

Actions are exactly the plan's (``pipeline.plan``, ``reports.plan.build_plan``): the same JSON, the
same order. When the moment asked for is at or after the organization's newest snapshot (always, for
"now"), the plan is read from its stored items (``store.tables.plan``, kept with the exposures list by
``pipeline.lists.exposures.refresh_list``): the plan's ranking, kept in the process as arrays
(``pipeline.lists.ranking``), orders the actions at that moment, and only the items of the page's
actions are read and merged into their actions; both are read again only for the systems whose items
changed. An earlier moment, or a reader entitled to embargoed records
while some are embargoed (the stored advice is the public reader's), computes the plan in memory and
pages it there; the plan so computed is kept in the process while every input of the organization's
reports is unchanged (``_COMPUTED``), so that its next pages do not compute it again.

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
from core.kept import UnderDigest
from core.paging import MAX_LIMIT, CursorValue, decode_cursor, encode_cursor
from core.time import moment_asked, now_including, rfc3339, within_range
from pipeline.embargo import hidden_groups, hidden_records
from pipeline.exposures.build import ensure_exposures
from pipeline.lists import ranking as ranking_module
from pipeline.lists.exposures import (
    changed_systems,
    kept_stamps,
    refresh_list,
    refreshed_state,
    system_stamps,
)
from pipeline.lists.ranking import ranking
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
from store.db import Database, Tx
from store.queries import lists as lq
from store.queries import plan as pq
from store.queries import systems as system_queries
from store.queries.organizations import get_organization

__all__ = ["PlanPage", "PlanQuery", "plan_document", "plan_page", "remember_plan", "top_actions"]

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


def _stored(
    db: Database, org: str, query: PlanQuery, moment: datetime, *, current: bool, now: datetime | None = None
) -> _Stored | None:
    """Bring the stored exposures, list rows and plan items current (unless the caller just did:
    ``current``); ``None`` when the plan must be computed in memory (a moment before the newest
    snapshot, or an entitled reader during an embargo). ``now``: the clock ``moment`` was cut from (a
    view of "now"), which moves it to a snapshot or decommissioning since the cut (``now_including``)."""
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
    if now is not None:
        moment = now_including(moment, newest, now)
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


# One system's aggregate of the items of one vulnerability group of one action, as the page's group
# facts aggregate them: (severity, CVSS, KEV, EPSS, last-resort maintainer, earliest due, major
# upgrade, in-major version, the groups it leaves open) — minimums (``None`` left out) and, for the
# flags, any.
_Facts = tuple[str, float | None, bool, float | None, bool, int | None, bool | None, str | None, str]


def _lesser(a: Any, b: Any) -> Any:
    """SQL's MIN of two values (``None`` is no value)."""
    if a is None:
        return b
    if b is None:
        return a
    return b if b < a else a


def _combined(a: _Facts, b: _Facts) -> _Facts:
    return (
        b[0] if b[0] < a[0] else a[0],
        _lesser(a[1], b[1]),
        a[2] or b[2],
        _lesser(a[3], b[3]),
        a[4] or b[4],
        _lesser(a[5], b[5]),
        _lesser(a[6], b[6]),
        _lesser(a[7], b[7]),
        b[8] if b[8] < a[8] else a[8],
    )


@dataclass(frozen=True, slots=True)
class _Part:
    """One system's items of one action: the system as the action lists it, its pairs' (weight, due)
    in the order the plan sums them, and its aggregate per vulnerability group."""

    system: PlanSystem
    weights: tuple[tuple[float, int | None], ...]
    groups: dict[str, _Facts]


@dataclass(frozen=True, slots=True)
class _ActionItems:
    """What an action's page entry is assembled from, whatever the moment: its groups' facts, its
    pairs' (weight, due) in the order the plan sums them, and its systems in order — all merged from
    its systems' parts (by system id), which a change of a system replaces alone."""

    groups: list[Any]
    weights: list[tuple[float, int | None]]
    systems: tuple[PlanSystem, ...]
    parts: dict[int, _Part]


def _assembled(key: pq.ActionId, parts: dict[int, _Part]) -> _ActionItems:
    """An action's items from its systems' parts, merged as the page's statements read them whole: the
    pairs and systems in system-name order (code points, the plan's summing order), per group the
    facts aggregated over the systems and the number of systems."""
    ordered = sorted(parts.values(), key=lambda p: p.system.system)
    facts: dict[str, _Facts] = {}
    counts: dict[str, int] = {}
    for part in ordered:
        for group, mine in part.groups.items():
            have = facts.get(group)
            facts[group] = mine if have is None else _combined(have, mine)
            counts[group] = counts.get(group, 0) + 1
    groups = [
        (key, group, f[0], f[1], f[2], f[3], f[4], counts[group], f[5], f[6], f[7], f[8])
        for group, f in sorted(facts.items())
    ]
    weights = [pair for part in ordered for pair in part.weights]
    return _ActionItems(groups, weights, tuple(p.system for p in ordered), parts)


def _parts_of(rows: Sequence[pq.ActionRow]) -> dict[pq.ActionId, dict[int, _Part]]:
    """Split the items read by action and system (each system's items keep their order)."""
    weights: dict[tuple[pq.ActionId, int], list[tuple[float, int | None]]] = {}
    groups: dict[tuple[pq.ActionId, int], dict[str, _Facts]] = {}
    shown: dict[tuple[pq.ActionId, int], PlanSystem] = {}
    for (
        key,
        system_id,
        system,
        environment,
        internet,
        group,
        weight,
        due,
        severity,
        cvss,
        kev,
        epss,
        last_resort,
        major,
        in_major,
        leaves_open,
    ) in rows:
        at = (key, system_id)
        pairs = weights.get(at)
        if pairs is None:
            pairs = weights[at] = []
            groups[at] = {}
            shown[at] = PlanSystem(system, environment, internet)
        pairs.append((weight, due))
        mine = (severity, cvss, kev, epss, last_resort, due, major, in_major, leaves_open)
        by_group = groups[at]
        have = by_group.get(group)
        by_group[group] = mine if have is None else _combined(have, mine)
    out: dict[pq.ActionId, dict[int, _Part]] = {}
    for (key, system_id), pairs in weights.items():
        out.setdefault(key, {})[system_id] = _Part(
            shown[(key, system_id)], tuple(pairs), groups[(key, system_id)]
        )
    return out


@dataclass(frozen=True, slots=True)
class _Kept:
    """The items kept for one plan: per system, the stamp its items were written under as the read
    saw it, and the actions read so far."""

    stamps: dict[int, str]
    actions: dict[pq.ActionId, _ActionItems]


# (database, organization id, filter) → the items kept for that plan. A system's items change only
# when its list stamp does (``system_stamps``): after a change of a few systems, only their items are
# read again and replaced in every kept action (a system may leave an action or join one); after a
# change of many (the facts every system depends on, for one), everything is read again. A page of
# the same plan at another moment, or the next view of the same page, reads none of them again.
_ITEMS: dict[tuple[str, int, pq.PlanFilter], _Kept] = {}
_ITEMS_KEPT = 32
# Up to this many kept actions, the changed systems' items are read for those actions only.
_MERGED_ACTIONS = 256
_ITEMS_LOCK = threading.Lock()


def _stored_stamps(session: Tx, org_id: int, system_ids: Sequence[int] | None = None) -> dict[int, str]:
    """The list stamps the systems' items were written under, in this process's form (``kept_stamps``)."""
    return kept_stamps(pq.stored_stamps(session, org_id, system_ids))


def _kept_items(db: Database, where: _Stored) -> tuple[_Kept | None, set[int] | None]:
    """The items kept for this plan, and the systems whose stamps moved since they were read (``None``
    with nothing kept: a new store is started; ``None, None`` before this process refreshed the
    list: a throwaway one)."""
    stamps = system_stamps(db, where.org_id)
    if stamps is None:
        return None, None
    key = (str(db.url), where.org_id, where.filter)
    with _ITEMS_LOCK:
        found = _ITEMS.get(key)
    if found is None:
        return None, set()
    changed = changed_systems(found.stamps, stamps)
    if len(changed) > ranking_module.MERGE_SHARE * len(stamps):
        return None, set()
    return found, changed


def _keep(db: Database, where: _Stored, kept: _Kept) -> None:
    key = (str(db.url), where.org_id, where.filter)
    with _ITEMS_LOCK:
        if key not in _ITEMS and len(_ITEMS) >= _ITEMS_KEPT:
            _ITEMS.pop(next(iter(_ITEMS)))
        _ITEMS[key] = kept


def _merged(
    kept: _Kept, changed: set[int], stamps: dict[int, str], rows: Sequence[pq.ActionRow]
) -> _Kept:
    """The kept actions with the parts of the changed systems replaced by theirs as read (``rows``: the
    changed systems' items, of every action): a system leaves the actions it no longer has items of
    and joins the kept ones it now has; an action left by every system is forgotten."""
    read = _parts_of(rows)
    actions = dict(kept.actions)
    for key, items in kept.actions.items():
        joined = read.get(key)
        if joined is None and changed.isdisjoint(items.parts):
            continue
        parts = {sid: part for sid, part in items.parts.items() if sid not in changed}
        if joined is not None:
            parts.update(joined)
        if parts:
            actions[key] = _assembled(key, parts)
        else:
            del actions[key]
    merged = {sid: stamp for sid, stamp in kept.stamps.items() if sid not in changed}
    merged.update(stamps)
    return _Kept(merged, actions)


def _stored_actions(
    db: Database,
    where: _Stored,
    after: pq.ActionKey | None,
    offset: int,
    limit: int | None,
    *,
    systems_shown: int | None = None,
) -> tuple[list[tuple[pq.ActionKey, Action, int]], int] | None:
    """The actions after ``after`` (or from ``offset``), at most ``limit``, with their keys and system
    counts, in order (each listing its first ``systems_shown`` systems), and the number of actions of
    the plan; ``None`` when the items changed between the reads (the caller refreshes and asks again).
    The order comes from the plan's kept ranking (``pipeline.lists.ranking``).

    Each action is assembled from aggregates of its items, exactly as ``build_plan`` merges them: the
    score sums the pairs' weights in the order the plan computed in memory sums them (a float sum
    depends on its order), days past due are computed from exact microseconds; the facts of a
    vulnerability group are the same on each of its items.

    The items are kept per system (``_ITEMS``), with the stamp each system's items were written under
    as read in the same transaction: a system whose items were read before a refresh wrote them, or
    after a newer one, has a stamp other than the list's and is read again next time.
    """
    at = micros(where.moment)
    kept, changed = _kept_items(db, where)
    with db.read() as session:
        ranked = ranking(
            db,
            where.org_id,
            where.filter,
            lambda ids: (
                pq.rank_items(session, where.org_id, where.filter, ids),
                _stored_stamps(session, where.org_id, ids),
            ),
        )
        keys, actions_total = ranked.page(at, after, offset, limit), ranked.total
        ids = [k[3:] for k in keys]
        renewed = bool(changed) or (kept is None and changed is not None)
        if kept is not None and changed:
            moved = sorted(changed)
            # Only the kept actions' items: a changed system's items of any other action are read
            # with that action when a page first shows it.
            wanted = list(kept.actions) if len(kept.actions) <= _MERGED_ACTIONS else None
            rows = pq.action_items(session, where.org_id, where.filter, actions=wanted, system_ids=moved)
            kept = _merged(kept, changed, _stored_stamps(session, where.org_id, moved), rows)
        elif kept is None and changed is not None:
            kept = _Kept(_stored_stamps(session, where.org_id), {})
        have = kept.actions if kept is not None else {}
        missing = [i for i in ids if i not in have]
        read = pq.action_items(session, where.org_id, where.filter, actions=missing) if missing else []
    fresh = {key: _assembled(key, parts) for key, parts in _parts_of(read).items()}
    if kept is not None and (fresh or renewed):
        _keep(db, where, _Kept(kept.stamps, {**have, **fresh}))
    found_items = {i: have.get(i) or fresh.get(i) for i in ids}
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
    return out, actions_total


def _build(rows: list[dict[str, Any]], moment: datetime) -> Plan:
    """``build_plan`` over stored items, taken in the order the plan computed in memory takes them
    (its exposures' order: system, package, group): an action's score is a sum of floats, and the same
    sum in another order can differ in its last bits, which rounding can show."""
    rows.sort(key=lambda r: (r["system"], r["package"], r["vulnerability"], r["exposure_id"]))
    return build_plan([item_of_row(r) for r in rows], moment)


@dataclass(frozen=True, slots=True)
class _KeptUnfixable:
    """The unfixable items kept for one plan, by system, with the stamp each system's items were
    written under as the read saw it (as ``_Kept``)."""

    stamps: dict[int, str]
    rows: dict[int, list[dict[str, Any]]]


# (database, organization id, filter) → its unfixable items: read whole once (the statement walks every
# upgrade item of the organization), then only those of the few systems that changed (``_ITEMS``).
_UNFIXABLE: dict[tuple[str, int, pq.PlanFilter], _KeptUnfixable] = {}


def _stored_unfixable(db: Database, where: _Stored) -> tuple[Unfixable, ...]:
    key = (str(db.url), where.org_id, where.filter)
    stamps = system_stamps(db, where.org_id)
    with _ITEMS_LOCK:
        kept = _UNFIXABLE.get(key) if stamps is not None else None
    changed = changed_systems(kept.stamps, stamps) if kept is not None and stamps is not None else None
    if changed is not None and len(changed) > ranking_module.MERGE_SHARE * len(stamps or ()):
        changed = None
    if kept is not None and changed == set():
        rows = kept.rows
    else:
        with db.read() as session:
            if kept is not None and changed is not None:
                moved = sorted(changed)
                read = pq.unfixable_items(session, where.org_id, where.filter, moved)
                fresh = _stored_stamps(session, where.org_id, moved)
                rows = {sid: r for sid, r in kept.rows.items() if sid not in changed}
                merged = {sid: stamp for sid, stamp in kept.stamps.items() if sid not in changed}
                merged.update(fresh)
            else:
                read = pq.unfixable_items(session, where.org_id, where.filter)
                merged = _stored_stamps(session, where.org_id) if stamps is not None else {}
                rows = {}
        for row in read:
            rows.setdefault(row["system_id"], []).append(row)
        if stamps is not None:
            with _ITEMS_LOCK:
                if key not in _UNFIXABLE and len(_UNFIXABLE) >= _ITEMS_KEPT:
                    _UNFIXABLE.pop(next(iter(_UNFIXABLE)))
                _UNFIXABLE[key] = _KeptUnfixable(merged, rows)
    return _build([r for system in rows.values() for r in system], where.moment).unfixable


def _in_memory(db: Database, org: str, query: PlanQuery) -> Plan:
    """The plan computed from the report inputs at ``query.as_of`` (the moment, already resolved),
    kept in the process while every input of the organization's reports is unchanged (``_COMPUTED``)."""
    org_id, state = refreshed_state(db, org)
    with db.read() as session:
        hidden = tuple(sorted(hidden_groups(session)))
    kept = _COMPUTED.get(_plan_key(db, org_id, query, hidden), state)
    if kept is not None:
        return kept
    plan = remediation_plan(
        db,
        org,
        system=query.system,
        environment=query.environment,
        as_of=query.as_of,
        only=query.systems(),
    )
    remember_plan(db, org_id, query, hidden=hidden, state=state, plan=plan)
    return plan


def remember_plan(
    db: Database, org_id: int, query: PlanQuery, *, hidden: tuple[str, ...], state: str, plan: Plan
) -> None:
    """Keep ``plan``, computed in memory for ``query`` at its moment by a reader of the current view
    who may not see the ``hidden`` groups, under ``state`` (:func:`refreshed_state`'s digest read
    before it was computed): the overview at an earlier moment computes the organization's plan there
    and keeps it, so that the plan's pages it links to find it."""
    _COMPUTED.put(_plan_key(db, org_id, query, hidden), state, plan)


def _plan_key(db: Database, org_id: int, query: PlanQuery, hidden: tuple[str, ...]) -> _PlanKey:
    return (str(db.url), org_id, query, current_view().entitled, hidden)


# (database URL, organization id, query with its moment, the reader's entitlement, the groups hidden
# from them) → the plan, kept under the digest of every input of the organization's reports it was
# computed under. A plan at an earlier moment computes every interval open then (tens of seconds at
# 10,000 systems); its next pages, and the plan the overview at that moment computed, are read from
# here while the digest holds. A few plans: each holds every action of an organization.
_PlanKey = tuple[str, int, PlanQuery, bool, tuple[str, ...]]
_COMPUTED: UnderDigest[_PlanKey, Plan] = UnderDigest(4)


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
    moment, now = moment_asked(query.as_of)
    start = (int(after[7]) if after is not None else offset) + 1  # type: ignore[arg-type]
    where = _stored(db, org, query, moment, current=current, now=now)
    moment = where.moment if where is not None else moment
    query = replace(query, as_of=moment)
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
        ranked, total = found
        keyed = [(k, a) for k, a, _ in ranked]
        counts = {id(a): n for _, a, n in ranked}
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
    moment, now = moment_asked(query.as_of)
    where = _stored(db, org, query, moment, current=False, now=now)
    moment = where.moment if where is not None else moment
    query = replace(query, as_of=moment)
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
