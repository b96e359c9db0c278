"""The per-organization change clock (``store.tables.systems.OrgChange``, ``System.changed_seq``).

Every write that changes what a system's exposure rows or list rows are computed from — a snapshot
stored or deleted, a system created, changed, decommissioned or deleted, its exposure rows rebuilt,
the organization's list forgotten — moves the clock in its transaction: :func:`mark_changed` moves the
organization's sequence number by one and stamps the systems changed with it (``changed_seq``), and
those whose exposure inputs changed — all but list writes and rebuilds — in ``inputs_seq`` too: the
exposure check looks only at those (``changed_since(inputs_only=True)``), the list refresh at all.
The writers of ``store.queries`` call :func:`mark_at_commit`, which calls it just before their
transaction commits: as late as can be (from the mark to the commit the organization's other writers
wait), and once per organization and transaction whatever the writers did in it (an upload storing
several snapshots and creating the system, a decommissioning and the rebuild it runs). A writer that
marked earlier could deadlock: an upload holding the clock while it waits for a package version row
that a concurrent upload of the same organization inserted before waiting for the clock.

On PostgreSQL the upsert's row lock on ``org_change`` is held until the writer commits, so concurrent
writers of one organization take their numbers one after the other, in commit order: a reader that sees
sequence N sees every change numbered N or less, committed. (Ids drawn from a sequence have no such
order: a transaction can commit a row whose id is below one a reader already saw.) SQLite has one
writer at a time anyway. A reader that remembers N asks :func:`changed_since` for the systems changed
after it — one statement, so the new number and the systems agree.

Lock order (PostgreSQL): a writer locks the system rows it changes before the organization's clock
row (:func:`mark_changed` takes them first, ``store.queries.exposures.lock_states`` before the build
states), so that a writer holding the clock never waits for a system row another writer holds while
waiting for the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import sqlalchemy as sa
from sqlmodel import Session

from store.sql import chunks
from store.sql import dialect_insert as _insert
from store.sql import table_of as _t
from store.tables.systems import OrgChange, System

_CHUNK = 900

__all__ = [
    "FEW_SYSTEMS",
    "changed_since",
    "clock_of",
    "current_seq",
    "lock_systems",
    "mark_at_commit",
    "mark_changed",
    "per_system_since",
]


def lock_systems(session: Session, system_ids: Sequence[int]) -> None:
    """Lock these system rows for the rest of the transaction, in id order (PostgreSQL; SQLite's write
    lock already serializes writers): the first lock of the order :func:`mark_changed` keeps."""
    if not system_ids or session.get_bind().dialect.name != "postgresql":
        return
    system = _t(System)
    for chunk in chunks(sorted(set(system_ids)), _CHUNK):
        session.execute(
            sa.select(system.c.id)
            .where(system.c.id.in_(chunk))
            .order_by(system.c.id)
            .with_for_update(key_share=True)
        ).all()


def mark_changed(
    session: Session,
    org_id: int,
    system_ids: Sequence[int] = (),
    *,
    every: bool = False,
    inputs: Sequence[int] | None = None,
    every_input: bool | None = None,
) -> int:
    """Move the organization's change clock by one in the caller's transaction and stamp these of its
    systems (``every``: all of them) with the new number — none for a change that no system row
    carries, such as a deletion; returns the number. ``inputs`` (``every_input``: all of them) are
    those among them whose exposure inputs changed, stamped in ``inputs_seq`` too (by default every
    one): a list write or a rebuild changes what lists are computed from, not what exposure rows are.
    From here to the commit the organization's other writers wait (PostgreSQL): writers call
    :func:`mark_at_commit` instead, unless this is the last thing their transaction does."""
    system = _t(System)
    named = sorted(set(system_ids))
    if every:
        mine = sa.select(system.c.id).where(system.c.org_id == org_id)
        named = [int(i) for i in session.execute(mine).scalars()]
    lock_systems(session, named)
    clock = _t(OrgChange)
    upsert = _insert(session, OrgChange).values(org_id=org_id, seq=1)
    bump = upsert.on_conflict_do_update(index_elements=["org_id"], set_={"seq": clock.c.seq + 1})
    seq = int(session.execute(bump.returning(clock.c.seq)).scalar_one())
    every_input = every if every_input is None else every_input
    input_ids = named if inputs is None else sorted(set(inputs))
    stamps: list[tuple[dict[str, int], bool, Sequence[int]]] = [
        ({"changed_seq": seq}, every, named),
        ({"inputs_seq": seq}, every_input, input_ids),
    ]
    if (every, named) == (every_input, input_ids):  # one statement for both (an upload, a system's change)
        stamps = [({"changed_seq": seq, "inputs_seq": seq}, every, named)]
    for values, everyone, ids in stamps:
        update = sa.update(system).values(values)
        if everyone:
            session.execute(update.where(system.c.org_id == org_id))
            continue
        for chunk in chunks(sorted(set(ids)), _CHUNK):
            session.execute(update.where(system.c.id.in_(chunk), system.c.org_id == org_id))
    return seq


# session.info key → {organization id: _Pending} to mark when the session commits.
_PENDING = "patchgap.changed"


@dataclass(slots=True)
class _Pending:
    every: bool = False
    ids: set[int] = field(default_factory=set)
    # Of those, the systems whose exposure inputs changed (``inputs_seq``).
    every_input: bool = False
    inputs: set[int] = field(default_factory=set)


def mark_at_commit(
    session: Session, org_id: int, system_ids: Sequence[int] = (), *, every: bool = False, inputs: bool = True
) -> None:
    """:func:`mark_changed` of the organization (and these of its systems, or ``every`` one) when the
    session's transaction commits: just before, in it. Marks of one transaction merge, one number per
    organization. Without ``inputs`` the systems' exposure inputs did not change (a list write, a
    rebuild): the exposure check does not look at them again (``changed_since(inputs_only=True)``)."""
    pending: dict[int, _Pending] = session.info.setdefault(_PENDING, {})
    found = pending.setdefault(org_id, _Pending())
    found.every |= every
    found.ids.update(system_ids)
    if inputs:
        found.every_input |= every
        found.inputs.update(system_ids)


@sa.event.listens_for(Session, "before_commit")
def _mark_pending(session: Session) -> None:
    pending: dict[int, _Pending] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    # Every system row first, in id order, then the clocks in organization order (the module's lock order).
    system = _t(System)
    everyone = [org_id for org_id, p in pending.items() if p.every]
    ids = {sid for p in pending.values() for sid in p.ids}
    if everyone:
        stmt = sa.select(system.c.id).where(system.c.org_id.in_(everyone))
        ids.update(int(i) for i in session.execute(stmt).scalars())
    lock_systems(session, sorted(ids))
    for org_id, p in sorted(pending.items()):
        mark_changed(
            session, org_id, sorted(p.ids), every=p.every, inputs=sorted(p.inputs), every_input=p.every_input
        )


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, _previous: object) -> None:
    session.info.pop(_PENDING, None)


def clock_of(org_id: int) -> sa.ColumnElement[int]:
    """The organization's sequence number as a column (0 before its first change): for a reader that
    reads it in one statement with other aggregates."""
    clock = _t(OrgChange)
    return sa.func.coalesce(sa.select(clock.c.seq).where(clock.c.org_id == org_id).scalar_subquery(), 0)


def current_seq(session: Session, org_id: int) -> int:
    """The organization's change sequence number (0 before its first change)."""
    return int(session.execute(sa.select(clock_of(org_id))).scalar_one())


def changed_since(
    session: Session, org_id: int, seq: int, *, inputs_only: bool = False
) -> tuple[int, list[int]]:
    """(the organization's sequence number now, its systems changed after ``seq``), read in one
    statement: every change numbered up to the first is committed and seen, and the systems it
    changed are among the second (those deleted since are not: a reader notices them otherwise).
    ``inputs_only``: the systems whose exposure inputs changed (not by a list write or a rebuild only)."""
    system = _t(System)
    stamp = system.c.inputs_seq if inputs_only else system.c.changed_seq
    now = sa.select(clock_of(org_id).label("seq")).subquery()
    stmt = (
        sa.select(now.c.seq, system.c.id)
        .select_from(now.outerjoin(system, sa.and_(system.c.org_id == org_id, stamp > seq)))
        .order_by(system.c.id)
    )
    rows = session.execute(stmt).all()
    current = int(rows[0][0]) if rows else 0
    return current, [int(r[1]) for r in rows if r[1] is not None]


V = TypeVar("V")

#: Past this many systems named as changed, a reader reads every system: one statement, not their ids
#: in chunks.
FEW_SYSTEMS = 500


def per_system_since(
    session: Session,
    org_id: int,
    kept: tuple[int, Mapping[int, V]] | None,
    read: Callable[[Sequence[int] | None], Mapping[int, V]],
    count: Callable[[], int],
    *,
    inputs_only: bool = False,
) -> tuple[int, Mapping[int, V]]:
    """(the sequence number, system id → value) of what ``read`` reads per system of the organization
    (``None``: every system; else these of them, those without a value left out), reading only the
    systems :func:`changed_since` names after ``kept`` (a number and the values read at it): a value
    changes only in a transaction that moves the clock for its system (``inputs_only``: its inputs'
    number, when only such changes move the value). A system deleted leaves no row to name it: when
    the values so merged are not ``count()`` many, every system is read again; so too when many are
    named. Returns ``kept``'s own mapping when nothing changed."""
    if kept is not None:
        seq, moved = changed_since(session, org_id, kept[0], inputs_only=inputs_only)
        if seq == kept[0] and not moved:
            return seq, kept[1]
        if len(moved) <= FEW_SYSTEMS:
            values = dict(kept[1])
            for sid in moved:
                values.pop(sid, None)
            if moved:
                values.update(read(moved))
            if len(values) == count():
                return seq, values
    # Every system, the clock read first, so that every change up to it is in what follows.
    seq = current_seq(session, org_id)
    return seq, read(None)
