"""Which records and vulnerability groups are under Akrites embargo at a moment (``core.embargo``).

Both reads start from the Akrites records whose ``disclosed_at`` lies after the moment (few, and found
through the ``(source, advisory_id)`` index), so they cost next to nothing when nothing is embargoed.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from core.embargo import AKRITES
from store.sql import table_of
from store.tables.advisories import Advisory
from store.tables.exposures import ExposureRow
from store.tables.systems import System

_ADVISORY = table_of(Advisory)


def _embargoed(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        _ADVISORY.c.source == AKRITES,
        _ADVISORY.c.disclosed_at.is_not(None),
        _ADVISORY.c.disclosed_at > now,
    )


def embargoed_records(bind: Session | Connection, now: datetime) -> set[tuple[str, str]]:
    """(source, advisory id) of every non-withdrawn record under embargo at ``now``."""
    stmt = sa.select(_ADVISORY.c.source, _ADVISORY.c.advisory_id).where(
        _embargoed(now), _ADVISORY.c.withdrawn_at.is_(None)
    )
    return {(r[0], r[1]) for r in bind.execute(stmt)}


def embargoed_groups(bind: Session | Connection, now: datetime) -> set[str]:
    """The groups whose every non-withdrawn record is under embargo at ``now``."""
    candidates = sa.select(_ADVISORY.c.group_key).where(_embargoed(now), _ADVISORY.c.withdrawn_at.is_(None))
    public = sa.func.sum(sa.case((_embargoed(now), 0), else_=1))
    stmt = (
        sa.select(_ADVISORY.c.group_key)
        .where(_ADVISORY.c.group_key.in_(candidates), _ADVISORY.c.withdrawn_at.is_(None))
        .group_by(_ADVISORY.c.group_key)
        .having(public == 0)
    )
    return {r[0] for r in bind.execute(stmt)}


def disclosures(bind: Session | Connection, after: datetime, until: datetime) -> dict[datetime, set[str]]:
    """Disclosure moment → the groups of the live Akrites records disclosed then, in (``after``,
    ``until``]: what became public in that span."""
    stmt = sa.select(_ADVISORY.c.disclosed_at, _ADVISORY.c.group_key).where(
        _ADVISORY.c.source == AKRITES,
        _ADVISORY.c.disclosed_at > after,
        _ADVISORY.c.disclosed_at <= until,
        _ADVISORY.c.withdrawn_at.is_(None),
    )
    out: dict[datetime, set[str]] = {}
    for moment, group in bind.execute(stmt):
        out.setdefault(moment, set()).add(group)
    return out


def excluded_in_groups(bind: Session | Connection, org_id: int, groups: Collection[str]) -> bool:
    """Whether the organization has stored rows of these groups that triage excludes."""
    if not groups:
        return False
    exposure, system = table_of(ExposureRow), table_of(System)
    stmt = (
        sa.select(sa.literal(1))
        .select_from(exposure.join(system, system.c.id == exposure.c.system_id))
        .where(
            system.c.org_id == org_id,
            exposure.c.excluded_by != "",
            exposure.c.vuln_group.in_(sorted(groups)),
        )
        .limit(1)
    )
    return bind.execute(stmt).first() is not None
