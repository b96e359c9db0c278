"""Queries on the event outbox (``store.tables.notifications``).

:func:`add_event` is called inside the transaction of the change that causes the event; it inserts with
``ON CONFLICT DO NOTHING`` on the dedupe key, so recording the same fact twice (a rebuild repeated, two
workers evaluating the same deadline) leaves one row. Reads are scoped by organization: an organization
sees its own events and the installation's (``org_id IS NULL``), never another's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from core.events import EVENT_KINDS
from core.time import utcnow
from store.sql import dialect_insert
from store.sql import table_of as _table
from store.tables.notifications import Event


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    org_id: int | None
    kind: str
    system_id: int | None
    vuln_group: str | None
    payload: dict[str, Any]
    created_at: datetime


def dedupe_key(org_id: int | None, kind: str, subject: str) -> str:
    """The outbox's identity of a fact: the same (organization, kind, subject) is one event."""
    raw = f"{org_id if org_id is not None else '-'}\x00{kind}\x00{subject}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def add_event(
    session: Session,
    org_id: int | None,
    kind: str,
    subject: str,
    payload: Mapping[str, Any],
    *,
    system_id: int | None = None,
    vuln_group: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Record an event in the caller's transaction; ``False`` when this fact was already recorded.

    ``subject`` names what the event is about, uniquely for its kind (an exposure's interval key, a
    deadline, a job run); it is hashed into the dedupe key, never shown.
    """
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    stmt = (
        dialect_insert(session, Event)
        .values(
            org_id=org_id,
            kind=kind,
            dedupe_key=dedupe_key(org_id, kind, subject),
            system_id=system_id,
            vuln_group=vuln_group,
            payload=dict(payload),
            created_at=now or utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(_table(Event).c.id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def add_events(session: Session, events: Sequence[Mapping[str, Any]]) -> int:
    """Record many events (each a mapping of :func:`add_event`'s arguments); returns how many were new."""
    return sum(
        add_event(
            session,
            e["org_id"],
            e["kind"],
            e["subject"],
            e["payload"],
            system_id=e.get("system_id"),
            vuln_group=e.get("vuln_group"),
            now=e.get("now"),
        )
        for e in events
    )


def list_events(
    session: Session,
    org_id: int,
    *,
    after_id: int = 0,
    kinds: Sequence[str] | None = None,
    limit: int = 100,
) -> list[EventRow]:
    """The organization's events (and the installation's) with ids above ``after_id``, oldest first."""
    event = _table(Event)
    stmt = (
        sa.select(
            event.c.id,
            event.c.org_id,
            event.c.kind,
            event.c.system_id,
            event.c.vuln_group,
            event.c.payload,
            event.c.created_at,
        )
        .where(sa.or_(event.c.org_id == org_id, event.c.org_id.is_(None)), event.c.id > after_id)
        .order_by(event.c.id)
        .limit(limit)
    )
    if kinds:
        stmt = stmt.where(event.c.kind.in_(list(kinds)))
    return [EventRow(*row) for row in session.execute(stmt)]
