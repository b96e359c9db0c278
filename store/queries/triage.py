"""Queries behind triage: analysis records of an organization and their append-only history.

Writes only ever insert (``ensure_analysis`` finds or creates a record's scope, ``append_entry`` adds a
decision); there is no update or delete here, and the database refuses both (migration 0009). Reads
fold each record's entries into its current decision in Python: an organization holds hundreds of
records, not millions, and the folding rule (latest ``decided_at``, then latest recorded) is one line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from core.errors import NotFoundError
from store.sql import chunks, storable_id
from store.sql import dialect_insert as _insert
from store.sql import table_of as _t
from store.tables.systems import System
from store.tables.triage import AnalysisEntryRow, AnalysisRow

_CHUNK = 900


def scope_key(vulnerability: str, package: str, version: str, system_id: int | None) -> str:
    """The identity of a record's scope (unique per organization; migration 0009 has a frozen copy)."""
    raw = "\x00".join((vulnerability, package, version, "" if system_id is None else str(system_id)))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Scope:
    """What a record is about: ``version`` ``""`` is every version, ``system_id`` ``None`` every system."""

    vulnerability: str
    package: str
    version: str = ""
    system_id: int | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NewEntry:
    state: str
    justification: str | None
    impact_statement: str | None
    comment: str | None
    expires_at: datetime | None
    approver: str | None
    actor: str
    actor_role: str
    source: str
    decided_at: datetime
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class EntryView:
    id: int
    analysis_id: int
    state: str
    previous_state: str | None
    justification: str | None
    impact_statement: str | None
    comment: str | None
    expires_at: datetime | None
    approver: str | None
    actor: str
    actor_role: str
    source: str
    decided_at: datetime
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class AnalysisView:
    """A record's scope (the system by name) and its current decision."""

    id: int
    vulnerability: str
    aliases: tuple[str, ...]
    package: str
    version: str
    system: str | None
    created_at: datetime
    current: EntryView


_ENTRY_FIELDS = [f.name for f in fields(EntryView)]


def _current(entries: Sequence[EntryView]) -> EntryView:
    return max(entries, key=lambda e: (e.decided_at, e.id))


def ensure_analysis(session: Session, org_id: int, scope: Scope, now: datetime) -> int:
    """The id of the organization's record of ``scope``, created when there is none yet."""
    key = scope_key(scope.vulnerability, scope.package, scope.version, scope.system_id)
    table = _t(AnalysisRow)
    session.execute(
        _insert(session, AnalysisRow)
        .values(
            org_id=org_id,
            vulnerability=scope.vulnerability,
            aliases=list(scope.aliases),
            package=scope.package,
            version=scope.version,
            system_id=scope.system_id,
            scope_key=key,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["org_id", "scope_key"])
    )
    found = session.execute(
        sa.select(table.c.id).where(table.c.org_id == org_id, table.c.scope_key == key)
    ).scalar_one()
    return int(found)


def entries_of(session: Session, analysis_ids: Sequence[int]) -> list[EntryView]:
    """Every entry of these records, in the order they were recorded."""
    table = _t(AnalysisEntryRow)
    out: list[EntryView] = []
    for chunk in chunks(sorted(set(analysis_ids)), _CHUNK):
        stmt = (
            sa.select(*(table.c[name] for name in _ENTRY_FIELDS))
            .where(table.c.analysis_id.in_(chunk))
            .order_by(table.c.id)
        )
        out.extend(EntryView(*r) for r in session.execute(stmt))
    out.sort(key=lambda e: e.id)
    return out


def append_entry(session: Session, analysis_id: int, entry: NewEntry) -> EntryView | None:
    """Append ``entry`` to the record's history, saying the state it changes from; ``None`` (nothing
    written) when the history already holds the same decision with the same time, actor and source —
    a VEX document imported twice records its statements once."""
    history = entries_of(session, [analysis_id])
    same = ("state", "justification", "impact_statement", "comment", "expires_at", "approver", "actor")
    for old in history:
        if (
            old.decided_at == entry.decided_at
            and old.source == entry.source
            and all(getattr(old, f) == getattr(entry, f) for f in same)
        ):
            return None
    previous = _current(history).state if history else None
    values = {f.name: getattr(entry, f.name) for f in fields(NewEntry)}
    table = _t(AnalysisEntryRow)
    new_id = session.execute(
        sa.insert(table)
        .values(analysis_id=analysis_id, previous_state=previous, **values)
        .returning(table.c.id)
    ).scalar_one()
    return EntryView(new_id, analysis_id, previous_state=previous, **values)


def org_analyses(session: Session, org_id: int, analysis_id: int | None = None) -> list[AnalysisView]:
    """The organization's records (or the one with ``analysis_id``) with their current decisions,
    ordered by id. Records are written with their first entry in one transaction, so each has one."""
    table, system = _t(AnalysisRow), _t(System)
    stmt = (
        sa.select(
            table.c.id,
            table.c.vulnerability,
            table.c.aliases,
            table.c.package,
            table.c.version,
            system.c.name,
            table.c.created_at,
        )
        .select_from(table.outerjoin(system, system.c.id == table.c.system_id))
        .where(table.c.org_id == org_id)
        .order_by(table.c.id)
    )
    if analysis_id is not None:
        stmt = stmt.where(table.c.id == analysis_id)
    rows = session.execute(stmt).all()
    by_record: dict[int, list[EntryView]] = {}
    for e in entries_of(session, [r[0] for r in rows]):
        by_record.setdefault(e.analysis_id, []).append(e)
    return [
        AnalysisView(
            r[0],
            r[1],
            tuple(r[2] or ()),
            r[3],
            r[4],
            r[5],
            r[6],
            _current(by_record[r[0]]),
        )
        for r in rows
        if r[0] in by_record
    ]


def get_analysis(session: Session, org_id: int, org_name: str, analysis_id: int) -> AnalysisView:
    """One record of the organization (another organization's id is "not found", like a missing one)."""
    found = org_analyses(session, org_id, analysis_id) if storable_id(analysis_id) else []
    if not found:
        raise NotFoundError(f"analysis {analysis_id} does not exist in organization {org_name!r}")
    return found[0]


def history_state(session: Session, org_id: int) -> tuple[int, int]:
    """(number of entries, highest entry id) of the organization's records: what changes whenever a
    decision is recorded (entries are never rewritten), for the exposures' input digest."""
    entry, table = _t(AnalysisEntryRow), _t(AnalysisRow)
    row = session.execute(
        sa.select(sa.func.count(), sa.func.max(entry.c.id))
        .select_from(entry.join(table, table.c.id == entry.c.analysis_id))
        .where(table.c.org_id == org_id)
    ).one()
    return int(row[0]), int(row[1] or 0)
