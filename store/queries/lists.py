"""Reads and writes of the exposures list's stored columns (``store.tables.lists``).

A page is one statement: the rows of the organization in the wanted states that pass the filters,
after the cursor's key in the sort column's order and then the row identity's, ``LIMIT n`` — walked
along the index (org, state, column, identity). ``all`` (open and resolved) reads the two states
separately and merges, so that each follows its own index.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from core.embargo import AKRITES, current_view
from store.queries.changes import mark_at_commit
from store.sql import chunks
from store.sql import table_of as _t
from store.tables.advisories import Advisory, EpssScore, FeedState, KevEntry
from store.tables.exposures import ExposureRow, ExposureState, SlaPolicyRow
from store.tables.lists import SORT_COLUMNS, ExposureListRow, ExposureListState
from store.tables.plan import PlanItemRow
from store.tables.systems import System

_CHUNK = 900
# The high half of the advisory lock key that serializes list refreshes (the low half: the organization).
_LOCK_SPACE = 0x6C697374

__all__ = [
    "SORT_COLUMNS",
    "ListFilter",
    "ListInputs",
    "OverviewCounts",
    "OverviewGroup",
    "SystemOverview",
    "built_count",
    "count_rows",
    "facts_token",
    "list_inputs",
    "overview_adjusted",
    "overview_by_system",
    "overview_counts",
    "page_rows",
    "policy_token",
    "replace_list",
    "restamp",
    "system_schedules",
]


def facts_token(session: Session) -> str:
    """What list rows depend on besides their system and the organization's SLA policy: aggregates
    that change whenever advisories, KEV, EPSS or a feed change (counts, newest times and sums of the
    values the rows show). When it moves, each system's rows are compared by the facts of its own
    vulnerability groups and packages (``pipeline.lists.exposures``), not recomputed wholesale."""
    adv, kev, epss, feed = _t(Advisory), _t(KevEntry), _t(EpssScore), _t(FeedState)
    parts: list[Any] = []
    parts.extend(
        session.execute(
            sa.select(
                sa.func.count(),
                sa.func.max(adv.c.id),
                sa.func.max(adv.c.imported_at),
                sa.func.max(adv.c.modified_at),
                sa.func.max(adv.c.withdrawn_at),
                sa.func.count(adv.c.withdrawn_at),
                sa.func.sum(adv.c.severity_score),
            )
        ).one()
    )
    parts.extend(
        session.execute(
            sa.select(
                sa.func.count(),
                sa.func.max(kev.c.date_added),
                sa.func.sum(sa.func.length(kev.c.cve_id)),
                sa.func.min(kev.c.cve_id),
                sa.func.max(kev.c.cve_id),
            )
        ).one()
    )
    parts.extend(
        session.execute(
            sa.select(sa.func.count(), sa.func.sum(epss.c.epss), sa.func.max(epss.c.cve_id))
        ).one()
    )
    parts.extend(
        session.execute(sa.select(feed.c.name, feed.c.fetched_at, feed.c.sha256).order_by(feed.c.name))
    )
    # A disclosure changes the facts of its group without a write (``core.embargo``): the Akrites
    # records disclosed by the moment of the reading.
    disclosed = sa.and_(adv.c.source == AKRITES, adv.c.disclosed_at <= current_view().moment())
    released = sa.select(sa.func.count(), sa.func.max(adv.c.disclosed_at)).where(disclosed)
    parts.extend(session.execute(released).one())
    return repr(parts)


def policy_token(session: Session, org_id: int) -> str:
    """When the organization's SLA policy last changed: every list row's due date depends on it."""
    policy = _t(SlaPolicyRow)
    return repr(session.execute(sa.select(policy.c.updated_at).where(policy.c.org_id == org_id)).scalar())


def restamp(session: Session, org_id: int, stamps: Mapping[int, tuple[str, str]]) -> None:
    """Replace the stamps of these systems' list rows (system id → (stamp read, new stamp)) where the
    stamp is still the one read, leaving the rows as they are: the facts their rows were computed
    from are unchanged under a new facts token. Serialized with :func:`replace_list`.

    The systems do not count as changed on the organization's clock: their inputs and rows are what
    they were, and a process that kept their old stamps moved to the new facts token too, so it reads
    every stamp again (marking them would make every process check every system's exposures and list
    inputs again after a KEV or EPSS import that changed nothing of them)."""
    state = _t(ExposureListState)
    if not stamps:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock((_LOCK_SPACE << 32) + org_id)))
    stmt = (
        state.update()
        .where(
            state.c.system_id == sa.bindparam("sid"),
            state.c.org_id == org_id,
            state.c.stamp == sa.bindparam("old"),
        )
        .values(stamp=sa.bindparam("new"))
    )
    params = [{"sid": sid, "old": old, "new": new} for sid, (old, new) in sorted(stamps.items())]
    for batch in chunks(params, 5000):
        session.execute(stmt, list(batch))


@dataclass(frozen=True, slots=True)
class ListInputs:
    """A system's own inputs to its list rows: its exposure rows' build state and the attributes the
    rows show or are filtered by."""

    system_id: int
    digest: str
    built_at: object  # as the driver returns it (text on SQLite): compared, never computed with
    name: str
    environment: str
    internet_exposed: bool
    criticality: str
    owner: str | None
    tags: str  # the JSON text as stored
    stamp: str | None = None  # the stamp of its list rows (``None``: not computed)


def list_inputs(session: Session, org_id: int, system_ids: Sequence[int] | None = None) -> list[ListInputs]:
    """The built systems of the organization (or these of them) with their list inputs and the stamp
    their list rows were computed under."""
    state, system, listed = _t(ExposureState), _t(System), _t(ExposureListState)
    stmt = (
        sa.select(
            state.c.system_id,
            state.c.inputs_digest,
            # Read raw: parsing 10,000 timestamps would cost more than the rest of the check.
            sa.type_coerce(state.c.built_at, sa.Text),
            system.c.name,
            system.c.environment,
            system.c.internet_exposed,
            system.c.criticality,
            system.c.owner,
            sa.cast(system.c.tags, sa.Text),
            listed.c.stamp,
        )
        .select_from(
            state.join(system, system.c.id == state.c.system_id).outerjoin(
                listed, listed.c.system_id == state.c.system_id
            )
        )
        .where(system.c.org_id == org_id)
    )
    if system_ids is None:
        return [ListInputs(*r) for r in session.execute(stmt)]
    out: list[ListInputs] = []
    for chunk in chunks(sorted(set(system_ids)), _CHUNK):
        out.extend(ListInputs(*r) for r in session.execute(stmt.where(state.c.system_id.in_(chunk))))
    return out


def built_count(session: Session, org_id: int) -> int:
    """How many systems of the organization are built (have a build state): those :func:`list_inputs`
    reads."""
    state, system = _t(ExposureState), _t(System)
    stmt = (
        sa.select(sa.func.count())
        .select_from(state.join(system, system.c.id == state.c.system_id))
        .where(system.c.org_id == org_id)
    )
    return int(session.execute(stmt).scalar_one())


def replace_list(
    session: Session,
    org_id: int,
    system_ids: Sequence[int],
    rows: Sequence[Mapping[str, Any]],
    states: Mapping[int, tuple[str, datetime | None]],
) -> None:
    """Make ``rows`` the list rows of these systems, computed from the inputs ``states`` stamp.

    Concurrent refreshes of one organization are serialized (PostgreSQL: a transaction-scoped advisory
    lock; SQLite's write lock already does it), so that two lists answering at once replace the rows
    one after the other instead of inserting the same rows twice. The stamps are list inputs (what
    :func:`list_inputs` returns): the organization's change clock moves for these systems at commit, so
    that a process that kept the inputs sees a stamp that a concurrent refresh wrote from older inputs
    than its own (``pipeline.lists.exposures``)."""
    table, state = _t(ExposureListRow), _t(ExposureListState)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock((_LOCK_SPACE << 32) + org_id)))
    mark_at_commit(session, org_id, system_ids, inputs=False)
    for chunk in chunks(sorted(set(system_ids)), _CHUNK):
        session.execute(table.delete().where(table.c.system_id.in_(chunk)))
        session.execute(state.delete().where(state.c.system_id.in_(chunk)))
    for batch in chunks(rows, 5000):
        session.execute(sa.insert(table), list(batch))
    if states:
        session.execute(
            sa.insert(state),
            [
                {"system_id": sid, "org_id": org_id, "stamp": stamp, "newest": newest}
                for sid, (stamp, newest) in states.items()
            ],
        )


def clear_list(session: Session, org_id: int) -> None:
    """Forget the organization's list rows and plan items (``patchgap db rebuild`` recomputes them);
    every system of it counts as changed (``store.queries.changes``), so that a process that kept the
    list's inputs reads them again."""
    table, state, items = _t(ExposureListRow), _t(ExposureListState), _t(PlanItemRow)
    mark_at_commit(session, org_id, every=True, inputs=False)
    session.execute(table.delete().where(table.c.org_id == org_id))
    session.execute(items.delete().where(items.c.org_id == org_id))
    session.execute(state.delete().where(state.c.org_id == org_id))


@dataclass(frozen=True, slots=True)
class ListFilter:
    """The SQL side of an exposures query (``pipeline.lists.exposures.ExposureQuery``).

    ``states``: the stored states wanted; ``accepted_after``: only risk candidates under an accepted
    risk whose expiry is after this Unix time; ``owner_key``: case-folded owner; ``tags``: every one
    required; ``package_prefix`` or ``package_leaf``: the package filter.
    """

    states: tuple[str, ...]
    system: str | None = None
    environment: str | None = None
    owner_key: str | None = None
    tags: tuple[str, ...] = ()
    tier: str | None = None
    severity: str | None = None
    kev: bool | None = None
    package_prefix: str | None = None
    package_leaf: str | None = None
    accepted_after: float | None = None
    # Vulnerability groups the reader may not see (``pipeline.embargo``): their rows are left out.
    hidden_groups: tuple[str, ...] = ()
    # An earlier moment (a look back): ``states`` are the states then, read from each row's interval
    # (``exposure``): a counted row was open then when first seen by then and resolved after it or
    # never, resolved then when resolved by then; an excluded row is listed when first seen by then.
    # Nothing else a filter or a sort reads depends on the moment (facts and due dates are an
    # interval's, whenever it is seen).
    at: datetime | None = None


# A state at an earlier moment → the states now it can come from (a resolved interval stays resolved).
_STATES_NOW = {"open": ("open", "resolved"), "resolved": ("resolved",), "excluded": ("excluded",)}


def _sources(f: ListFilter) -> dict[str, sa.ColumnElement[bool] | None]:
    """State now → what else its rows must meet (``None``: nothing) for the filter's states."""
    if f.at is None:
        return dict.fromkeys(f.states)
    e, at = _t(ExposureRow), f.at
    then = {
        "open": sa.and_(e.c.first_seen <= at, sa.or_(e.c.resolved_at.is_(None), e.c.resolved_at > at)),
        "resolved": sa.and_(e.c.resolved_at.is_not(None), e.c.resolved_at <= at),
        "excluded": e.c.first_seen <= at,
    }
    wanted: dict[str, list[sa.ColumnElement[bool]]] = {}
    for state in f.states:
        for now in _STATES_NOW[state]:
            wanted.setdefault(now, []).append(then[state])
    return {now: sa.or_(*conditions) for now, conditions in wanted.items()}


def _from(stmt: sa.Select[Any], condition: sa.ColumnElement[bool] | None) -> sa.Select[Any]:
    """``stmt`` over the list rows, joined to their intervals when ``condition`` reads them."""
    if condition is None:
        return stmt
    t, e = _t(ExposureListRow), _t(ExposureRow)
    return stmt.join_from(t, e, e.c.id == t.c.exposure_id).where(condition)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(org_id: int, f: ListFilter) -> list[sa.ColumnElement[bool]]:
    t = _t(ExposureListRow)
    out: list[sa.ColumnElement[bool]] = [t.c.org_id == org_id]
    equal = (
        (t.c.system, f.system),
        (t.c.environment, f.environment),
        (t.c.owner_key, f.owner_key),
        (t.c.sla_tier, f.tier),
        (t.c.severity, f.severity),
        (t.c.kev, f.kev),
        (t.c.package_leaf, f.package_leaf),
    )
    out.extend(column == value for column, value in equal if value is not None)
    out.extend(t.c.tags_key.like(f"%|{_like_escape(tag)}|%", escape="\\") for tag in f.tags)
    if f.package_prefix is not None:
        # The package itself, or the packages under it as a path ("pkg:npm/vuln-1" is not a prefix of
        # "pkg:npm/vuln-10"; "pkg:maven/org.example" is one of "pkg:maven/org.example/core").
        under = f.package_prefix if f.package_prefix.endswith("/") else f.package_prefix + "/"
        out.append(
            sa.or_(
                t.c.package == f.package_prefix,
                t.c.package.like(f"{_like_escape(under)}%", escape="\\"),
            )
        )
    if f.accepted_after is not None:
        out.append(t.c.risk_candidate.is_(True))
        out.append(t.c.accepted_until > f.accepted_after)
    if f.hidden_groups:
        out.append(t.c.vulnerability.not_in(f.hidden_groups))
    return out


def page_rows(
    session: Session,
    org_id: int,
    f: ListFilter,
    *,
    sort: str,
    descending: bool,
    after: tuple[Any, str] | None,
    limit: int,
) -> list[tuple[int, int, Any, str]]:
    """(exposure id, system id, sort value, identity) of the first ``limit`` rows after ``after`` (a
    sort value and an identity), in order."""
    if sort not in SORT_COLUMNS:
        raise ValueError(f"not a list sort column: {sort}")
    t = _t(ExposureListRow)
    column = t.c[sort]
    key = sa.tuple_(column, t.c.ident)
    order = [column.desc(), t.c.ident.desc()] if descending else [column.asc(), t.c.ident.asc()]
    selects = []
    for state, condition in _sources(f).items():
        stmt = _from(
            sa.select(t.c.exposure_id, t.c.system_id, column, t.c.ident).where(
                t.c.state == state, *_conditions(org_id, f)
            ),
            condition,
        )
        if after is not None:
            bound = sa.tuple_(sa.literal(after[0]), sa.literal(after[1]))
            stmt = stmt.where(key < bound if descending else key > bound)
        selects.append(stmt.order_by(*order).limit(limit))
    if len(selects) == 1:
        rows = session.execute(selects[0]).all()
    else:
        # Each state along its own index; merged here (at most ``limit`` rows from each).
        rows = [r for s in selects for r in session.execute(s).all()]
        rows.sort(key=lambda r: (r[2], r[3]), reverse=descending)
    return [(r[0], r[1], r[2], r[3]) for r in rows[:limit]]


def count_rows(session: Session, org_id: int, f: ListFilter) -> int:
    """How many rows the filtered list holds."""
    t = _t(ExposureListRow)
    if f.at is None:
        where = [t.c.state.in_(f.states), *_conditions(org_id, f)]
        return int(session.execute(sa.select(sa.func.count()).select_from(t).where(*where)).scalar_one())
    total = 0
    for state, condition in _sources(f).items():
        stmt = sa.select(sa.func.count()).select_from(t).where(t.c.state == state, *_conditions(org_id, f))
        total += int(session.execute(_from(stmt, condition)).scalar_one())
    return total


def newest_moment(session: Session, org_id: int) -> datetime | None:
    """The newest last snapshot or decommissioning of the organization's systems with list rows."""
    state = _t(ExposureListState)
    return session.execute(sa.select(sa.func.max(state.c.newest)).where(state.c.org_id == org_id)).scalar()


@dataclass(frozen=True, slots=True)
class OverviewCounts:
    """The overview's figures from the stored list at one moment (``pipeline.overview``): open rows
    naming a fixed version, those of them on the KEV list and past due (SLA status ``breached``), open
    rows under an accepted risk in force, excluded rows whose interval is still open; open fixable rows
    per SLA tier (``None``: no tier) and per system (rows, of them KEV)."""

    open_fixable: int
    open_fixable_kev: int
    open_fixable_past_due: int
    risk_accepted_open: int
    excluded_open: int
    tiers: dict[str | None, int]
    systems: dict[str, tuple[int, int]]


# A system's overview figures at a moment, by (state, fixable, tier): (state, fixable, tier, rows, KEV,
# past due, under accepted risk, interval still open).
OverviewGroup = tuple[str, bool, str | None, int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class SystemOverview:
    """One system's part of :class:`OverviewCounts` at a moment ``since``, and how long it holds: the
    figures that depend on the moment (past due, accepted risk in force) stay as they are for every
    moment from ``since`` up to and including ``due_by`` (its rows' least due date not before
    ``since``) and before ``accepted_by`` (its rows' least acceptance expiry after ``since``)."""

    groups: tuple[OverviewGroup, ...]
    since: float
    due_by: float | None
    accepted_by: float | None

    def holds_at(self, moment: float) -> bool:
        return (
            self.since <= moment
            and (self.due_by is None or moment <= self.due_by)
            and (self.accepted_by is None or moment < self.accepted_by)
        )


def overview_by_system(
    session: Session,
    org_id: int,
    moment: float,
    hidden_groups: Sequence[str] = (),
    system_ids: Sequence[int] | None = None,
) -> dict[str, SystemOverview]:
    """Per system name (those with open or excluded rows), its :class:`SystemOverview` at ``moment``
    (Unix seconds): one statement along the covering index ``ix_exposure_list_overview`` (or, for
    ``system_ids``, along the system index), grouped by (system, state, fixable, tier). Past due as
    ``reports.sla.sla_status`` says of an open row: seen affected at or after the due date, or the
    moment after it; unless an accepted risk is in force (then ``risk_accepted``)."""
    t = _t(ExposureListRow)
    accepted = sa.and_(t.c.risk_candidate.is_(True), t.c.accepted_until > moment)
    past_due = sa.and_(
        t.c.due_at.is_not(None),
        sa.or_(t.c.seen_past_due.is_(True), t.c.due_at < moment),
        sa.not_(accepted),
    )

    def count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    keys = (t.c.state, t.c.fixable, t.c.system, t.c.sla_tier)
    stmt = (
        sa.select(
            *keys,
            sa.func.count(),
            count(t.c.kev.is_(True)),
            count(past_due),
            count(accepted),
            count(t.c.interval_open.is_(True)),
            sa.func.min(sa.case((t.c.due_at >= moment, t.c.due_at))),
            sa.func.min(sa.case((accepted, t.c.accepted_until))),
        )
        .where(t.c.state.in_(("open", "excluded")))
        .group_by(*keys)
    )
    if hidden_groups:
        stmt = stmt.where(t.c.vulnerability.not_in(hidden_groups))
    found: dict[str, list[Any]] = {}
    parts = [None] if system_ids is None else list(chunks(sorted(system_ids), _CHUNK))
    for part in parts:
        # A few systems are sought along the system index: "+ 0" keeps the planner from scanning the
        # organization's part of the covering index for them instead.
        chosen = (
            stmt.where(t.c.org_id == org_id)
            if part is None
            else stmt.where(t.c.org_id + 0 == org_id, t.c.system_id.in_(part))
        )
        for state, fixable, system, tier, rows, kevs, dues, accepting, still_open, due_by, by in (
            session.execute(chosen)
        ):
            group = (state, bool(fixable), tier, rows, int(kevs), int(dues), int(accepting), int(still_open))
            entry = found.setdefault(system, [[], None, None])
            entry[0].append(group)
            if due_by is not None:
                entry[1] = due_by if entry[1] is None else min(entry[1], due_by)
            if by is not None:
                entry[2] = by if entry[2] is None else min(entry[2], by)
    return {
        system: SystemOverview(tuple(groups), moment, due_by, by)
        for system, (groups, due_by, by) in found.items()
    }


def overview_counts(systems: Iterable[tuple[str, SystemOverview]]) -> OverviewCounts:
    """:class:`OverviewCounts` summed over the systems' parts (:func:`overview_by_system`)."""
    fixable = kev = due = accepted_open = excluded_open = 0
    tiers: dict[str | None, int] = {}
    per_system: dict[str, tuple[int, int]] = {}
    for system, part in systems:
        for state, is_fixable, tier, rows, kevs, dues, accepting, still_open in part.groups:
            if state == "excluded":
                excluded_open += still_open
                continue
            accepted_open += accepting
            if not is_fixable:
                continue
            fixable += rows
            kev += kevs
            due += dues
            tiers[tier] = tiers.get(tier, 0) + rows
            n, k = per_system.get(system, (0, 0))
            per_system[system] = (n + rows, k + kevs)
    return OverviewCounts(fixable, kev, due, accepted_open, excluded_open, tiers, per_system)


def overview_adjusted(
    total: OverviewCounts,
    removed: Iterable[tuple[str, SystemOverview]],
    added: Iterable[tuple[str, SystemOverview]],
) -> OverviewCounts:
    """``total`` without the ``removed`` systems' parts and with the ``added`` ones': what
    :func:`overview_counts` of the parts so changed gives, without summing them all again."""
    removed, added = list(removed), list(added)
    minus, plus = overview_counts(removed), overview_counts(added)
    tiers = dict(total.tiers)
    for tier, n in minus.tiers.items():
        tiers[tier] -= n
    for tier, n in plus.tiers.items():
        tiers[tier] = tiers.get(tier, 0) + n
    systems = dict(total.systems)
    for name, _ in removed:
        systems.pop(name, None)
    systems.update(plus.systems)
    return OverviewCounts(
        total.open_fixable - minus.open_fixable + plus.open_fixable,
        total.open_fixable_kev - minus.open_fixable_kev + plus.open_fixable_kev,
        total.open_fixable_past_due - minus.open_fixable_past_due + plus.open_fixable_past_due,
        total.risk_accepted_open - minus.risk_accepted_open + plus.risk_accepted_open,
        total.excluded_open - minus.excluded_open + plus.excluded_open,
        {tier: n for tier, n in tiers.items() if n},
        systems,
    )


def system_schedules(
    session: Session, org_id: int, system_ids: Sequence[int] | None = None
) -> dict[int, tuple[Any, ...]]:
    """System id → what staleness and activity follow from besides the snapshots: its cadence and
    decommissioning (as the driver returns it: compared, never computed with), of the organization's
    systems (or of these of its systems)."""
    s = _t(System)
    stmt = sa.select(s.c.id, s.c.cadence_days, sa.type_coerce(s.c.decommissioned_at, sa.Text)).where(
        s.c.org_id == org_id
    )
    if system_ids is None:
        return {r[0]: (r[1], r[2]) for r in session.execute(stmt)}
    parts = (stmt.where(s.c.id.in_(c)) for c in chunks(sorted(set(system_ids)), _CHUNK))
    return {r[0]: (r[1], r[2]) for part in parts for r in session.execute(part)}
