"""Reads and writes of the remediation plan's stored items (``store.tables.plan``).

The plan is ranked from its items' weights, due dates, KEV flags and groups (``rank_items``, read whole
once per process and then only for the systems whose items changed: ``pipeline.lists.ranking``); a page
then reads only the items of its actions (``action_items``), along the action index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from store.sql import chunks, driver_rows, rows_of
from store.sql import table_of as _t
from store.tables.lists import ExposureListState
from store.tables.plan import PlanItemRow

__all__ = [
    "NO_DUE",
    "ActionId",
    "ActionKey",
    "ActionRow",
    "PlanFilter",
    "RankRow",
    "action_items",
    "clear_items",
    "plan_items",
    "rank_items",
    "replace_items",
    "stored_stamps",
    "unfixable_items",
]

_CHUNK = 900
#: The due-date key of an action without any due date: after every real one.
NO_DUE = 10**18

#: An action's place in the plan: (−score rounded to 6 places, −KEV vulnerabilities, earliest due in
#: microseconds since the Unix epoch or ``NO_DUE``, package, from-version, to-version, ecosystem),
#: ascending.
ActionKey = tuple[float, int, int, str, str, str, str]
#: An action's identity: (package, from-version, to-version, ecosystem).
ActionId = tuple[str, str, str, str]


def replace_items(
    session: Session, system_ids: Sequence[int], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Make ``rows`` the plan items of these systems (called in the transaction that replaces their
    exposure-list rows, under its lock)."""
    table = _t(PlanItemRow)
    for chunk in chunks(sorted(set(system_ids)), _CHUNK):
        session.execute(table.delete().where(table.c.system_id.in_(chunk)))
    for batch in chunks(rows, 5000):
        session.execute(sa.insert(table), list(batch))


def clear_items(session: Session, org_id: int) -> None:
    """Forget the organization's plan items (``patchgap db rebuild`` recomputes them)."""
    table = _t(PlanItemRow)
    session.execute(table.delete().where(table.c.org_id == org_id))


@dataclass(frozen=True, slots=True)
class PlanFilter:
    """The SQL side of a plan query: one system, an environment, an owner (case-folded), tags (every
    one required), and the vulnerability groups the reader may not see (left out)."""

    system: str | None = None
    environment: str | None = None
    owner_key: str | None = None
    tags: tuple[str, ...] = ()
    hidden_groups: tuple[str, ...] = ()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(org_id: int, f: PlanFilter, *, seek: bool = True) -> list[sa.ColumnElement[bool]]:
    """The filter's conditions; without ``seek`` the organization is tested as an expression, which
    no index serves: a statement that seeks a few systems' items along the system index is then not
    planned (SQLite, without statistics) as a walk of the organization's part of the action index."""
    t = _t(PlanItemRow)
    org = t.c.org_id if seek else t.c.org_id + 0
    out: list[sa.ColumnElement[bool]] = [org == org_id]
    equal = ((t.c.system, f.system), (t.c.environment, f.environment), (t.c.owner_key, f.owner_key))
    out.extend(column == value for column, value in equal if value is not None)
    out.extend(t.c.tags_key.like(f"%|{_like_escape(tag)}|%", escape="\\") for tag in f.tags)
    if f.hidden_groups:
        out.append(t.c.vulnerability.not_in(f.hidden_groups))
    return out


def _upgrade() -> list[sa.ColumnElement[bool]]:
    t = _t(PlanItemRow)
    return [t.c.advice == "upgrade", t.c.to_version.is_not(None)]


def _group_columns() -> list[sa.ColumnElement[Any]]:
    t = _t(PlanItemRow)
    return [t.c.package, t.c.version, t.c.to_version, t.c.ecosystem]


#: One item as the ranking reads it: (system id, system, action, group, weight, due in microseconds
#: since the Unix epoch or ``None``, KEV).
RankRow = tuple[int, str, ActionId, str, float, int | None, bool]


def rank_items(
    session: Session, org_id: int, f: PlanFilter, system_ids: Sequence[int] | None = None
) -> list[RankRow]:
    """Every filtered item with upgrade advice (of these systems: sought along the system index), with
    what ranks its action, in the order the plan sums an action's weights in: system, group in
    code-point order, exposure. Read through the driver's cursor (``driver_rows``): the first page of
    a plan in a process reads every item of the organization."""
    t = _t(PlanItemRow)
    group = t.c.vulnerability
    if session.get_bind().dialect.name == "postgresql":
        group = group.collate("C")  # type: ignore[assignment]
    stmt = (
        sa.select(
            t.c.system_id,
            t.c.system,
            *_group_columns(),
            t.c.vulnerability,
            t.c.weight,
            t.c.due_us,
            t.c.kev,
        )
        .where(*_conditions(org_id, f, seek=system_ids is None), *_upgrade())
        .order_by(t.c.system, group, t.c.exposure_id)
    )
    if system_ids is None:
        statements = [stmt]
    else:
        statements = [stmt.where(t.c.system_id.in_(c)) for c in chunks(sorted(set(system_ids)), _CHUNK)]
    return [
        (r[0], r[1], (r[2], r[3], r[4], r[5]), r[6], r[7], r[8], bool(r[9]))
        for statement in statements
        for r in driver_rows(session, statement)
    ]


def _of_actions(actions: Sequence[ActionId]) -> sa.ColumnElement[bool]:
    """The items of these actions. The packages and versions are also given as plain IN lists, so
    that both databases seek them along the action index instead of testing every item's tuple."""
    t = _t(PlanItemRow)
    wanted = sorted(set(actions))
    return sa.and_(
        t.c.package.in_(sorted({a[0] for a in wanted})),
        t.c.version.in_(sorted({a[1] for a in wanted})),
        sa.tuple_(*_group_columns()).in_(wanted),
    )


#: One item of an action as a page assembles it: (action, system id, system, environment,
#: internet-exposed, group, weight, due, severity, CVSS, KEV, EPSS, last-resort maintainer, major
#: upgrade, in-major version, the groups it leaves open as JSON).
ActionRow = tuple[
    ActionId,
    int,
    str,
    str,
    bool,
    str,
    float,
    int | None,
    str,
    float | None,
    bool,
    float | None,
    bool,
    bool | None,
    str | None,
    str,
]


def action_items(
    session: Session,
    org_id: int,
    f: PlanFilter,
    *,
    actions: Sequence[ActionId] | None = None,
    system_ids: Sequence[int] | None = None,
) -> list[ActionRow]:
    """Every filtered item with upgrade advice of these actions (``None``: any) on these systems
    (``None``: any), each system's items of an action in the order the plan computed in memory sums
    them (group in code-point order, then exposure). The items of a few systems are sought along the
    system index, those of a page's actions along the action index."""
    if actions is not None and not actions:
        return []
    t = _t(PlanItemRow)
    group = t.c.vulnerability
    if session.get_bind().dialect.name == "postgresql":
        group = group.collate("C")  # type: ignore[assignment]
    stmt = (
        sa.select(
            *_group_columns(),
            t.c.system_id,
            t.c.system,
            t.c.environment,
            t.c.internet_exposed,
            t.c.vulnerability,
            t.c.weight,
            t.c.due_us,
            t.c.severity,
            t.c.cvss,
            t.c.kev,
            t.c.epss,
            t.c.last_resort_maintainer,
            t.c.major_upgrade,
            t.c.in_major,
            t.c.in_major_leaves_open,
        )
        .where(*_conditions(org_id, f, seek=system_ids is None), *_upgrade())
        .order_by(*_group_columns(), t.c.system, group, t.c.exposure_id)
    )
    if actions is not None:
        stmt = stmt.where(_of_actions(actions))
    statements = [stmt]
    if system_ids is not None:
        wanted = sorted(set(system_ids))
        statements = [stmt.where(t.c.system_id.in_(chunk)) for chunk in chunks(wanted, _CHUNK)]
    return [
        (
            (r[0], r[1], r[2], r[3]),
            r[4],
            r[5],
            r[6],
            bool(r[7]),
            r[8],
            r[9],
            r[10],
            r[11],
            r[12],
            bool(r[13]),
            r[14],
            bool(r[15]),
            None if r[16] is None else bool(r[16]),
            r[17],
            r[18],
        )
        for statement in statements
        for r in session.execute(statement)
    ]


def stored_stamps(session: Session, org_id: int, system_ids: Sequence[int] | None = None) -> dict[int, str]:
    """The stamp each system's list rows and plan items were written under (of these systems, or of
    every one of the organization), as this transaction sees them."""
    state = _t(ExposureListState)
    stmt = sa.select(state.c.system_id, state.c.stamp).where(state.c.org_id == org_id)
    return {r[0]: r[1] for r in rows_of(session, stmt, state.c.system_id, system_ids, _CHUNK)}


def _item_columns() -> list[sa.ColumnElement[Any]]:
    t = _t(PlanItemRow)
    names = (
        "exposure_id",
        "system",
        "environment",
        "internet_exposed",
        "package",
        "ecosystem",
        "version",
        "vulnerability",
        "severity",
        "cvss",
        "kev",
        "epss",
        "sla_due",
        "advice",
        "to_version",
        "advice_detail",
        "major_upgrade",
        "in_major",
        "in_major_leaves_open",
        "last_resort_maintainer",
    )
    return [t.c[name] for name in names]


def plan_items(session: Session, org_id: int, f: PlanFilter) -> list[dict[str, Any]]:
    """Every filtered item of the plan."""
    stmt = sa.select(*_item_columns()).where(*_conditions(org_id, f))
    return [dict(r._mapping) for r in session.execute(stmt)]


def unfixable_items(
    session: Session, org_id: int, f: PlanFilter, system_ids: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """The filtered items no single upgrade clears (advice other than ``upgrade``), each with its
    ``system_id`` (of these systems only: sought along the system index)."""
    t = _t(PlanItemRow)
    # Three parts — the advice below and above "upgrade", and upgrade advice without a version (which
    # the plan also counts as unfixable) — each sought along the action index instead of scanning it
    # (the third part cannot be: it walks the organization's upgrade items, a few hundredths of a
    # second at 10,000 systems, which is why pages keep these items per system).
    parts = (
        t.c.advice < "upgrade",
        t.c.advice > "upgrade",
        sa.and_(t.c.advice == "upgrade", t.c.to_version.is_(None)),
    )
    columns = [*_item_columns(), t.c.system_id]
    if system_ids is None:
        stmt = sa.union_all(*(sa.select(*columns).where(*_conditions(org_id, f), p) for p in parts))
        return [dict(r._mapping) for r in session.execute(stmt)]
    out: list[dict[str, Any]] = []
    for chunk in chunks(sorted(set(system_ids)), _CHUNK):
        of_systems = sa.select(*columns).where(
            *_conditions(org_id, f, seek=False), t.c.system_id.in_(chunk), sa.or_(*parts)
        )
        out.extend(dict(r._mapping) for r in session.execute(of_systems))
    return out
