"""Queries behind the CRA Article 14 register: awareness facts recorded when learned, and user records.

Two facts are *recorded when they happen* (tables in ``store.tables.cra``), because the rows they
come from are overwritten later (KEV is replaced as a whole, an advisory's ``imported_at`` moves on
every changed re-import):

- :func:`record_presence` — per (system, vulnerability group), the first moment an affected match for
  a received snapshot existed: ``MIN(MAX(snapshot.received_at, advisory.imported_at))`` over the
  system's snapshots and the non-withdrawn advisories matching a package version in them. One
  ``INSERT … SELECT … ON CONFLICT DO NOTHING``: a recorded value is never moved.
- :func:`record_exploited` — per group, the first moment an exploitation fact was stored; the caller
  decides the value from ``store.queries.advisories.group_advisories`` and ``kev_entries`` (each CVE's
  ``listed_since``; ``kev_fetched_at`` for rows stored before it was kept).

Everything else is the manufacturer's own input (:func:`set_case`) and plain reads. The manufacturer
flag is an organization's (``store.queries.organizations.set_manufacturer``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from core.time import utcnow
from store.sql import chunks
from store.sql import dialect_insert as _insert
from store.sql import table_of as _t
from store.tables.advisories import Advisory, AffectedPackageRow
from store.tables.cra import CraCaseRow, CraExploitedRow, CraPresenceRow
from store.tables.packages import MatchResult
from store.tables.systems import ComponentSetMember, Snapshot, System

_CHUNK = 900


# --- presence ----------------------------------------------------------------------------------------


def record_presence(session: Session, system_ids: Sequence[int]) -> None:
    """Record, once, when each (system, group) first had an affected match (module docstring).

    Computed per distinct component set first (snapshots of a system mostly repeat a set), then
    joined to the snapshots, so the work grows with distinct contents rather than with snapshots.
    """
    if not system_ids:
        return
    snapshot, member, mr, ap, adv = (
        _t(Snapshot),
        _t(ComponentSetMember),
        _t(MatchResult),
        _t(AffectedPackageRow),
        _t(Advisory),
    )
    presence = _t(CraPresenceRow)
    greatest = sa.func.greatest if session.get_bind().dialect.name == "postgresql" else sa.func.max
    now = utcnow()
    for chunk in chunks(sorted(set(system_ids)), _CHUNK):
        sets = sa.select(snapshot.c.component_set_id).where(snapshot.c.system_id.in_(chunk)).distinct()
        per_set = (
            sa.select(
                member.c.set_id.label("set_id"),
                adv.c.group_key.label("group_key"),
                sa.func.min(adv.c.imported_at).label("imported_at"),
            )
            .select_from(
                member.join(mr, mr.c.package_version_id == member.c.package_version_id)
                .join(ap, ap.c.id == mr.c.affected_id)
                .join(adv, adv.c.id == ap.c.advisory_pk)
            )
            .where(member.c.set_id.in_(sets), mr.c.status == "affected", adv.c.withdrawn_at.is_(None))
            .group_by(member.c.set_id, adv.c.group_key)
            .cte("per_set")
        )
        # Both columns hold UTC (SQLite: the same fixed naive text form), so MAX/GREATEST compare times.
        known = sa.func.min(greatest(snapshot.c.received_at, per_set.c.imported_at))
        select = (
            sa.select(
                snapshot.c.system_id,
                per_set.c.group_key,
                sa.type_coerce(known, presence.c.known_at.type),
                sa.literal(now, presence.c.recorded_at.type),
            )
            .select_from(snapshot.join(per_set, per_set.c.set_id == snapshot.c.component_set_id))
            # The WHERE also keeps SQLite's parser from reading ON CONFLICT as part of the SELECT.
            .where(snapshot.c.system_id.in_(chunk))
            .group_by(snapshot.c.system_id, per_set.c.group_key)
        )
        stmt = (
            _insert(session, CraPresenceRow)
            .from_select(["system_id", "vuln_group", "known_at", "recorded_at"], select)
            .on_conflict_do_nothing(index_elements=["system_id", "vuln_group"])
        )
        session.execute(stmt)


def presence_missing(session: Session, groups: Mapping[int, Collection[str]]) -> list[int]:
    """The systems among ``groups`` (system id → the vulnerability groups of its exposure rows) with a
    group not recorded as present yet: those :func:`record_presence` would insert rows for. A system's
    affected matches are the observations its exposure rows are built from, so a system whose every
    group is recorded has nothing to insert (a recorded moment is never replaced)."""
    table = _t(CraPresenceRow)
    recorded: dict[int, set[str]] = defaultdict(set)
    for chunk in chunks(sorted(groups), _CHUNK):
        stmt = sa.select(table.c.system_id, table.c.vuln_group).where(table.c.system_id.in_(chunk))
        for system_id, group in session.execute(stmt):
            recorded[system_id].add(group)
    return [sid for sid, found in sorted(groups.items()) if not recorded[sid].issuperset(found)]


def presence(session: Session, org_id: int) -> dict[tuple[str, str], datetime]:
    """(system name, group) → when presence was first known, for the organization's systems."""
    table, system = _t(CraPresenceRow), _t(System)
    stmt = (
        sa.select(system.c.name, table.c.vuln_group, table.c.known_at)
        .select_from(table.join(system, system.c.id == table.c.system_id))
        .where(system.c.org_id == org_id)
    )
    return {(r[0], r[1]): r[2] for r in session.execute(stmt)}


# --- exploitation ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExploitedRecord:
    vuln_group: str
    known_at: datetime
    sources: tuple[str, ...]
    kev_date_added: datetime | None
    known_ransomware: bool


def exploited(session: Session, groups: Iterable[str]) -> dict[str, ExploitedRecord]:
    table = _t(CraExploitedRow)
    out: dict[str, ExploitedRecord] = {}
    for chunk in chunks(sorted(set(groups)), _CHUNK):
        stmt = sa.select(
            table.c.vuln_group,
            table.c.known_at,
            table.c.sources,
            table.c.kev_date_added,
            table.c.known_ransomware,
        ).where(table.c.vuln_group.in_(chunk))
        for r in session.execute(stmt):
            out[r[0]] = ExploitedRecord(r[0], r[1], tuple(r[2] or ()), r[3], bool(r[4]))
    return out


def record_exploited(session: Session, records: Sequence[ExploitedRecord]) -> None:
    """Insert new groups; for groups already recorded, add sources and KEV facts but keep ``known_at``."""
    if not records:
        return
    now = utcnow()
    stmt = _insert(session, CraExploitedRow)
    stmt = stmt.on_conflict_do_update(
        index_elements=["vuln_group"],
        set_={c: stmt.excluded[c] for c in ("sources", "kev_date_added", "known_ransomware")},
    )
    for r in records:
        session.execute(
            stmt.values(
                vuln_group=r.vuln_group,
                known_at=r.known_at,
                sources=list(r.sources),
                kev_date_added=r.kev_date_added,
                known_ransomware=r.known_ransomware,
                recorded_at=now,
            )
        )


# --- the manufacturer's records --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseRecord:
    system: str
    vuln_group: str
    awareness_at: datetime | None
    awareness_note: str
    early_warning_at: datetime | None
    notification_at: datetime | None
    final_report_at: datetime | None
    mitigations: tuple[str, ...]
    updated_at: datetime


CASE_FIELDS = (
    "awareness_at",
    "awareness_note",
    "early_warning_at",
    "notification_at",
    "final_report_at",
    "mitigations",
)


def cases(session: Session, org_id: int) -> dict[tuple[str, str], CaseRecord]:
    """(system name, group) → what the manufacturer recorded, for the organization's systems."""
    table, system = _t(CraCaseRow), _t(System)
    stmt = (
        sa.select(system.c.name, table.c.vuln_group, *(table.c[f] for f in CASE_FIELDS), table.c.updated_at)
        .select_from(table.join(system, system.c.id == table.c.system_id))
        .where(system.c.org_id == org_id)
        .order_by(system.c.name, table.c.vuln_group)
    )
    return {
        (r[0], r[1]): CaseRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple(r[7] or ()), r[8])
        for r in session.execute(stmt)
    }


def set_case(session: Session, system_id: int, vuln_group: str, changes: dict[str, Any]) -> None:
    """Create or update the manufacturer's record of (system, group); only the given fields change."""
    unknown = set(changes) - set(CASE_FIELDS)
    if unknown:
        raise ValueError(f"not case fields: {', '.join(sorted(unknown))}")
    values = {"awareness_note": "", "mitigations": [], **changes, "updated_at": utcnow()}
    stmt = _insert(session, CraCaseRow).values(system_id=system_id, vuln_group=vuln_group, **values)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["system_id", "vuln_group"],
            set_={c: stmt.excluded[c] for c in (*changes, "updated_at")},
        )
    )
