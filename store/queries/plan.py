"""Reads and writes of the remediation plan's stored items (``store.tables.plan``).

A page of actions is one aggregate statement: the organization's items with upgrade advice that pass
the filters, grouped by action (package, from-version, to-version, ecosystem), each group's score the
sum of its items' weights times the past-due factor at the moment asked for, ranked as
``reports.plan.build_plan`` ranks (score rounded to 6 places descending, KEV vulnerabilities descending,
earliest due date with none last, package, from-version, to-version), after a cursor's key, ``LIMIT n``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from store.sql import chunks
from store.sql import table_of as _t
from store.tables.plan import PlanItemRow

__all__ = [
    "NO_DUE",
    "ActionKey",
    "PlanFilter",
    "action_items",
    "clear_items",
    "count_actions",
    "plan_items",
    "rank_actions",
    "replace_items",
    "unfixable_items",
]

_CHUNK = 900
_DAY = 86_400.0
_MAX_PAST_DUE_DAYS = 365.0
#: The due-date key of an action without any due date: after every real one.
NO_DUE = 1e18

#: An action's place in the plan: (−score rounded to 6 places, −KEV vulnerabilities, earliest due as
#: Unix seconds or ``NO_DUE``, package, from-version, to-version, ecosystem) — ascending.
ActionKey = tuple[float, int, float, str, str, str, str]


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


def _conditions(org_id: int, f: PlanFilter) -> list[sa.ColumnElement[bool]]:
    t = _t(PlanItemRow)
    out: list[sa.ColumnElement[bool]] = [t.c.org_id == org_id]
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


def _ranked(session: Session, org_id: int, f: PlanFilter, moment: float) -> sa.Subquery:
    """Every action of the filtered plan with its sort key at ``moment`` (Unix seconds)."""
    t = _t(PlanItemRow)
    at = sa.literal(moment, sa.Float())
    past = at - t.c.due_at
    factor = sa.case(
        (sa.or_(t.c.due_at.is_(None), t.c.due_at >= at), sa.literal(1.0, sa.Float())),
        (past >= _MAX_PAST_DUE_DAYS * _DAY, sa.literal(1.0 + _MAX_PAST_DUE_DAYS / 30.0, sa.Float())),
        else_=1.0 + past / _DAY / 30.0,
    )
    score: sa.ColumnElement[Any] = sa.func.sum(t.c.weight * factor)
    rounded: sa.ColumnElement[Any]
    if session.get_bind().dialect.name == "postgresql":
        rounded = sa.cast(sa.func.round(sa.cast(score, sa.Numeric()), 6), sa.Float())
    else:
        rounded = sa.func.round(score, 6)
    kev = sa.func.count(sa.distinct(sa.case((t.c.kev.is_(True), t.c.vulnerability))))
    return (
        sa.select(
            (-rounded).label("score_key"),
            (-kev).label("kev_key"),
            sa.func.coalesce(sa.func.min(t.c.due_at), NO_DUE).label("due_key"),
            *_group_columns(),
        )
        .where(*_conditions(org_id, f), *_upgrade())
        .group_by(*_group_columns())
        .subquery("ranked")
    )


def rank_actions(
    session: Session,
    org_id: int,
    f: PlanFilter,
    *,
    moment: float,
    after: ActionKey | None,
    offset: int = 0,
    limit: int | None,
) -> list[ActionKey]:
    """The keys of the first ``limit`` actions (every one: ``None``) after ``after`` and ``offset``
    more, in the plan's order at ``moment``."""
    ranked = _ranked(session, org_id, f, moment)
    columns = [ranked.c[name] for name in ("score_key", "kev_key", "due_key")]
    columns += [ranked.c.package, ranked.c.version, ranked.c.to_version, ranked.c.ecosystem]
    stmt = sa.select(*columns)
    if after is not None:
        stmt = stmt.where(sa.tuple_(*columns) > sa.tuple_(*(sa.literal(v) for v in after)))
    stmt = stmt.order_by(*(c.asc() for c in columns))
    if offset:
        stmt = stmt.offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = session.execute(stmt).all()
    return [(float(r[0]), int(r[1]), float(r[2]), r[3], r[4], r[5], r[6]) for r in rows]


def count_actions(session: Session, org_id: int, f: PlanFilter) -> int:
    """How many actions the filtered plan holds (whatever the moment)."""
    groups = (
        sa.select(sa.literal(1).label("one"))
        .where(*_conditions(org_id, f), *_upgrade())
        .group_by(*_group_columns())
        .subquery("actions")
    )
    return int(session.execute(sa.select(sa.func.count()).select_from(groups)).scalar_one())


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


def action_items(
    session: Session, org_id: int, f: PlanFilter, actions: Sequence[tuple[str, str, str, str]]
) -> list[dict[str, Any]]:
    """The filtered items of these actions ((package, from-version, to-version, ecosystem) each)."""
    if not actions:
        return []
    key = sa.tuple_(*_group_columns())
    out: list[dict[str, Any]] = []
    for chunk in chunks(sorted(set(actions)), 200):
        stmt = sa.select(*_item_columns()).where(*_conditions(org_id, f), *_upgrade(), key.in_(chunk))
        out.extend(dict(r._mapping) for r in session.execute(stmt))
    return out


def plan_items(session: Session, org_id: int, f: PlanFilter) -> list[dict[str, Any]]:
    """Every filtered item of the plan."""
    stmt = sa.select(*_item_columns()).where(*_conditions(org_id, f))
    return [dict(r._mapping) for r in session.execute(stmt)]


def unfixable_items(session: Session, org_id: int, f: PlanFilter) -> list[dict[str, Any]]:
    """The filtered items no single upgrade clears (advice other than ``upgrade``)."""
    t = _t(PlanItemRow)
    stmt = sa.select(*_item_columns()).where(
        *_conditions(org_id, f), sa.or_(t.c.advice != "upgrade", t.c.to_version.is_(None))
    )
    return [dict(r._mapping) for r in session.execute(stmt)]
