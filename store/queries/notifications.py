"""Queries on the event outbox, notification rules and deliveries (``store.tables.notifications``).

:func:`add_event` is called inside the transaction of the change that causes the event; it inserts with
``ON CONFLICT DO NOTHING`` on the dedupe key, so recording the same fact twice (a rebuild repeated, two
workers evaluating the same deadline) leaves one row. Reads are scoped by organization: an organization
sees its own events and the installation's (``org_id IS NULL``), never another's.

Rules and deliveries are read and changed within one organization. The workers' queries span every
organization: :func:`claim_unfanned_events` takes the events no worker has turned into deliveries yet,
:func:`claim_due_deliveries` the messages due now; both lock what they take with ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so concurrent workers take distinct rows, and SQLite's write transaction
(``BEGIN IMMEDIATE``) serializes them instead. A claimed message's ``next_attempt_at`` is its lease: a
worker that dies while sending leaves it to be claimed again once the lease has passed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from core.errors import ConflictError, NotFoundError
from core.events import EVENT_KINDS
from core.time import utcnow
from store.sql import chunks, dialect_insert, storable_id
from store.sql import table_of as _table
from store.tables.notifications import Delivery, Event, EventFanout, NotificationRule
from store.tables.organizations import Organization


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
    session: Session | Connection,
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


def add_events(session: Session | Connection, events: Sequence[Mapping[str, Any]]) -> int:
    """Record many events (each a mapping of :func:`add_event`'s arguments) with one ``INSERT … ON
    CONFLICT DO NOTHING`` executed for all of them; returns how many were new.

    A rebuild of a fleet announces thousands of exposures at once: one statement per event would cost
    a round trip each (measured in ``bench/report.py``'s rebuild)."""
    rows: dict[str, dict[str, Any]] = {}
    for e in events:
        kind = e["kind"]
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        key = dedupe_key(e["org_id"], kind, e["subject"])
        # The same fact twice in one call is one event, dropped here before the database sees it.
        rows.setdefault(
            key,
            {
                "org_id": e["org_id"],
                "kind": kind,
                "dedupe_key": key,
                "system_id": e.get("system_id"),
                "vuln_group": e.get("vuln_group"),
                "payload": dict(e["payload"]),
                "created_at": e.get("now") or utcnow(),
            },
        )
    if not rows:
        return 0
    stmt = (
        dialect_insert(session, Event)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(_table(Event).c.id)
    )
    # One statement compiled once, sent as multi-row batches by the driver layer ("insertmanyvalues");
    # compiling a 200-row VALUES statement per batch instead took ten times as long (9,000 events: 4.7 s).
    return len(session.execute(stmt, list(rows.values())).all())


@contextmanager
def session_over(conn: Connection) -> Iterator[Session]:
    """An ORM session inside the transaction of a Core connection (a feed or advisory import), for code
    that announces events through session-based queries; it never commits, the connection's owner does."""
    with Session(bind=conn, join_transaction_mode="rollback_only") as session:
        yield session


def list_events(
    session: Session,
    org_id: int,
    *,
    after_id: int = 0,
    kinds: Sequence[str] | None = None,
    limit: int = 100,
    hidden_groups: Collection[str] = (),
) -> list[EventRow]:
    """The organization's events (and the installation's) with ids above ``after_id``, oldest first;
    none about ``hidden_groups`` (vulnerability groups the reader may not see)."""
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
    return [EventRow(*row) for row in session.execute(_not_about(stmt, hidden_groups))]


def _not_about(stmt: sa.Select[Any], groups: Collection[str]) -> sa.Select[Any]:
    """``stmt`` without the events about these vulnerability groups (events about none stay)."""
    if not groups:
        return stmt
    event = _table(Event)
    return stmt.where(sa.or_(event.c.vuln_group.is_(None), event.c.vuln_group.not_in(sorted(groups))))


def _event_columns() -> list[sa.ColumnElement[Any]]:
    event = _table(Event)
    return [
        event.c.id,
        event.c.org_id,
        event.c.kind,
        event.c.system_id,
        event.c.vuln_group,
        event.c.payload,
        event.c.created_at,
    ]


# --- rules -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleRow:
    """A notification rule, its secret included (to sign with; never shown after creation)."""

    id: int
    org_id: int
    org: str
    name: str
    event_kinds: list[str]
    environments: list[str]
    tiers: list[str]
    systems: list[str]
    owners: list[str]
    tags: list[str]
    kev_only: bool
    channel: str
    url: str | None
    secret: str | None
    recipients: list[str]
    mode: str
    digest_hour: int
    enabled: bool
    created_at: datetime


_RULE_FIELDS = [f for f in RuleRow.__dataclass_fields__ if f != "org"]


def _rule_select() -> sa.Select[Any]:
    rule, org = _table(NotificationRule), _table(Organization)
    return sa.select(*(rule.c[f] for f in _RULE_FIELDS), org.c.name.label("org")).join(
        org, org.c.id == rule.c.org_id
    )


def _rule_row(row: sa.Row[Any]) -> RuleRow:
    values = row._asdict()
    return RuleRow(**values)


def insert_rule(
    session: Session, org_id: int, name: str, values: Mapping[str, Any], now: datetime
) -> RuleRow:
    """Create a rule named ``name`` in the organization; a name already taken there is a conflict."""
    rule = _table(NotificationRule)
    taken = sa.select(rule.c.id).where(rule.c.org_id == org_id, rule.c.name == name)
    if session.execute(taken).first() is not None:
        raise ConflictError(f"a notification rule named {name!r} already exists")
    rule_id = session.execute(
        sa.insert(rule).values(org_id=org_id, name=name, created_at=now, **values).returning(rule.c.id)
    ).scalar_one()
    return get_rule(session, org_id, rule_id)


def list_rules(session: Session, org_id: int) -> list[RuleRow]:
    rule = _table(NotificationRule)
    stmt = _rule_select().where(rule.c.org_id == org_id).order_by(rule.c.name)
    return [_rule_row(row) for row in session.execute(stmt)]


def enabled_rules(session: Session) -> list[RuleRow]:
    """Every organization's enabled rules (the fan-out matches each event against its own and, for the
    installation's events, every organization's)."""
    rule = _table(NotificationRule)
    stmt = _rule_select().where(rule.c.enabled.is_(True)).order_by(rule.c.id)
    return [_rule_row(row) for row in session.execute(stmt)]


def get_rule(session: Session, org_id: int, rule_id: int) -> RuleRow:
    """The organization's rule ``rule_id``; another organization's is "not found" like a missing one."""
    rule = _table(NotificationRule)
    row = None
    if storable_id(rule_id):
        row = session.execute(_rule_select().where(rule.c.id == rule_id, rule.c.org_id == org_id)).first()
    if row is None:
        raise NotFoundError(f"notification rule {rule_id} does not exist")
    return _rule_row(row)


def find_rule_by_name(session: Session, org_id: int, name: str) -> RuleRow | None:
    rule = _table(NotificationRule)
    row = session.execute(_rule_select().where(rule.c.org_id == org_id, rule.c.name == name)).first()
    return None if row is None else _rule_row(row)


def delete_rule(session: Session, org_id: int, rule_id: int) -> RuleRow:
    """Remove a rule and its deliveries; returns what was removed."""
    found = get_rule(session, org_id, rule_id)
    rule, delivery = _table(NotificationRule), _table(Delivery)
    # Digest items point at their digest (digest_id), so they go first; then the rest.
    session.execute(
        sa.delete(delivery).where(delivery.c.rule_id == rule_id, delivery.c.digest_id.is_not(None))
    )
    session.execute(sa.delete(delivery).where(delivery.c.rule_id == rule_id))
    session.execute(sa.delete(rule).where(rule.c.id == rule_id))
    return found


# --- fan-out -----------------------------------------------------------------------------------------


def claim_unfanned_events(session: Session, limit: int, held_groups: Collection[str] = ()) -> list[EventRow]:
    """The oldest events not yet fanned out (at most ``limit``), locked for this transaction's worker;
    events about ``held_groups`` stay where they are (not fanned out until they are no longer held)."""
    event, fanout = _table(Event), _table(EventFanout)
    done = sa.select(fanout.c.event_id).where(fanout.c.event_id == event.c.id).exists()
    stmt = _not_about(sa.select(*_event_columns()).where(~done), held_groups)
    stmt = stmt.order_by(event.c.id).limit(limit).with_for_update(skip_locked=True)
    return [EventRow(*row) for row in session.execute(stmt)]


def mark_fanned_out(session: Session, event_ids: Sequence[int], now: datetime) -> None:
    if not event_ids:
        return
    stmt = dialect_insert(session, EventFanout).on_conflict_do_nothing(index_elements=["event_id"])
    session.execute(stmt, [{"event_id": event_id, "done_at": now} for event_id in event_ids])


def insert_deliveries(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert deliveries (columns of ``Delivery``); one already there for its rule and event, or with its
    idempotency key, is kept as it is. Returns how many were new."""
    added = 0
    for part in chunks(list(rows), 500):
        for row in part:
            stmt = (
                dialect_insert(session, Delivery)
                .values(**row)
                .on_conflict_do_nothing()
                .returning(_table(Delivery).c.id)
            )
            added += session.execute(stmt).scalar_one_or_none() is not None
    return added


def create_due_digests(session: Session, now: datetime, key: Callable[[int, datetime], str]) -> int:
    """Gather the held events whose digest is due (``next_attempt_at <= now``) into one pending digest
    per rule and due time (idempotency key ``key(rule_id, due_at)``); returns how many digests."""
    delivery = _table(Delivery)
    groups = session.execute(
        sa.select(delivery.c.rule_id, delivery.c.org_id, delivery.c.next_attempt_at)
        .where(delivery.c.status == "held", delivery.c.next_attempt_at <= now)
        .group_by(delivery.c.rule_id, delivery.c.org_id, delivery.c.next_attempt_at)
        .order_by(delivery.c.next_attempt_at, delivery.c.rule_id)
    ).all()
    made = 0
    for rule_id, org_id, due_at in groups:
        digest_id = session.execute(
            dialect_insert(session, Delivery)
            .values(
                org_id=org_id,
                rule_id=rule_id,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                idempotency_key=key(rule_id, due_at),
                created_at=now,
            )
            .on_conflict_do_nothing()
            .returning(delivery.c.id)
        ).scalar_one_or_none()
        if digest_id is None:  # pragma: no cover - the held rows are locked by the write transaction
            continue
        session.execute(
            sa.update(delivery)
            .where(
                delivery.c.rule_id == rule_id,
                delivery.c.status == "held",
                delivery.c.next_attempt_at == due_at,
            )
            .values(status="digested", digest_id=digest_id)
        )
        made += 1
    return made


# --- sending -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: int
    org_id: int
    rule_id: int
    event_id: int | None
    digest_id: int | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    idempotency_key: str
    created_at: datetime
    sent_at: datetime | None


_DELIVERY_FIELDS = list(DeliveryRow.__dataclass_fields__)


def claim_due_deliveries(
    session: Session, now: datetime, lease_until: datetime, limit: int
) -> list[DeliveryRow]:
    """Claim up to ``limit`` messages due at ``now`` (pending ones, and claimed ones whose lease has
    passed): they become ``sending`` with ``next_attempt_at = lease_until`` when this transaction commits."""
    delivery = _table(Delivery)
    due = sa.and_(delivery.c.status.in_(["pending", "sending"]), delivery.c.next_attempt_at <= now)
    ids = list(
        session.execute(
            sa.select(delivery.c.id)
            .where(due)
            .order_by(delivery.c.next_attempt_at, delivery.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    if not ids:
        return []
    session.execute(
        sa.update(delivery)
        .where(delivery.c.id.in_(ids))
        .values(status="sending", next_attempt_at=lease_until)
    )
    rows = session.execute(
        sa.select(*(delivery.c[f] for f in _DELIVERY_FIELDS))
        .where(delivery.c.id.in_(ids))
        .order_by(delivery.c.id)
    )
    return [DeliveryRow(*row) for row in rows]


def rules_by_id(session: Session, rule_ids: Sequence[int]) -> dict[int, RuleRow]:
    rule = _table(NotificationRule)
    if not rule_ids:
        return {}
    rows = session.execute(_rule_select().where(rule.c.id.in_(list(set(rule_ids)))))
    return {r.id: r for r in map(_rule_row, rows)}


def delivery_events(session: Session, delivery_row: DeliveryRow) -> list[EventRow]:
    """The events a message carries: its one event, or a digest's, oldest first."""
    event, delivery = _table(Event), _table(Delivery)
    if delivery_row.event_id is not None:
        stmt = sa.select(*_event_columns()).where(event.c.id == delivery_row.event_id)
    else:
        stmt = (
            sa.select(*_event_columns())
            .join(delivery, delivery.c.event_id == event.c.id)
            .where(delivery.c.digest_id == delivery_row.id)
            .order_by(event.c.id)
        )
    return [EventRow(*row) for row in session.execute(stmt)]


def finish_delivery(
    session: Session,
    delivery_id: int,
    *,
    status: str,
    attempts: int,
    next_attempt_at: datetime,
    error: str | None,
    sent_at: datetime | None,
) -> None:
    """Record an attempt's outcome: ``sent``, ``pending`` again (a retry at ``next_attempt_at``) or
    ``failed``."""
    delivery = _table(Delivery)
    session.execute(
        sa.update(delivery)
        .where(delivery.c.id == delivery_id)
        .values(
            status=status,
            attempts=attempts,
            next_attempt_at=next_attempt_at,
            last_error=error,
            sent_at=sent_at,
        )
    )


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """A message as the lists show it: the delivery with its rule's name and what it carried."""

    delivery: DeliveryRow
    rule: str
    channel: str
    event_kind: str | None  # None for a digest
    summary: str | None
    events: int  # 1, or how many a digest carries


def list_deliveries(
    session: Session, org_id: int, *, statuses: Sequence[str] | None = None, limit: int = 100
) -> list[DeliveryView]:
    """The organization's messages, newest first; events waiting in a digest (``held``, ``digested``)
    appear through their digest, not one by one, unless ``statuses`` asks for them."""
    delivery, rule, event = _table(Delivery), _table(NotificationRule), _table(Event)
    items = sa.alias(delivery, "item")
    count = (
        sa.select(sa.func.count())
        .select_from(items)
        .where(items.c.digest_id == delivery.c.id)
        .scalar_subquery()
    )
    stmt = (
        sa.select(
            *(delivery.c[f] for f in _DELIVERY_FIELDS),
            rule.c.name,
            rule.c.channel,
            event.c.kind,
            event.c.payload,
            count,
        )
        .join(rule, rule.c.id == delivery.c.rule_id)
        .outerjoin(event, event.c.id == delivery.c.event_id)
        .where(delivery.c.org_id == org_id)
        .order_by(delivery.c.id.desc())
        .limit(limit)
    )
    wanted = list(statuses) if statuses else ["pending", "sending", "sent", "failed"]
    stmt = stmt.where(delivery.c.status.in_(wanted))
    views = []
    for row in session.execute(stmt):
        values = tuple(row)
        d = DeliveryRow(*values[: len(_DELIVERY_FIELDS)])
        name, channel, kind, payload, items_count = values[len(_DELIVERY_FIELDS) :]
        summary = payload.get("summary") if isinstance(payload, dict) else None
        views.append(
            DeliveryView(d, name, channel, kind, summary, 1 if d.event_id is not None else int(items_count))
        )
    return views


def organization_names(session: Session, org_ids: Sequence[int]) -> dict[int, str]:
    org = _table(Organization)
    if not org_ids:
        return {}
    rows = session.execute(sa.select(org.c.id, org.c.name).where(org.c.id.in_(list(set(org_ids)))))
    return {row.id: row.name for row in rows}


def list_all_events(
    session: Session,
    *,
    after_id: int = 0,
    kinds: Sequence[str] | None = None,
    limit: int = 100,
    hidden_groups: Collection[str] = (),
) -> list[tuple[EventRow, str | None]]:
    """Every organization's events and the installation's, each with its organization's name (``None``
    for the installation's), oldest first: what an operator of the installation reads (the CLI); none
    about ``hidden_groups``."""
    event, org = _table(Event), _table(Organization)
    stmt = (
        sa.select(
            event.c.id,
            event.c.org_id,
            event.c.kind,
            event.c.system_id,
            event.c.vuln_group,
            event.c.payload,
            event.c.created_at,
            org.c.name,
        )
        .select_from(event.outerjoin(org, org.c.id == event.c.org_id))
        .where(event.c.id > after_id)
        .order_by(event.c.id)
        .limit(limit)
    )
    if kinds:
        stmt = stmt.where(event.c.kind.in_(list(kinds)))
    return [(EventRow(*row[:7]), row[7]) for row in session.execute(_not_about(stmt, hidden_groups))]


def every_organization(session: Session) -> dict[int, str]:
    """Organization id → name, for the events of every organization (an installation has few)."""
    org = _table(Organization)
    return {r[0]: r[1] for r in session.execute(sa.select(org.c.id, org.c.name).order_by(org.c.id))}
