"""The per-organization change clock (``store.queries.changes``): writers of one organization take
their numbers one after the other, in commit order, and a reader sees a number only with the changes it
numbers; marks asked for at commit are made once per transaction, and forgotten with a rollback."""

from __future__ import annotations

import threading

import pytest

from store.db import Database
from store.queries.changes import changed_since, mark_at_commit, mark_changed
from store.queries.organizations import get_or_create_organization
from store.queries.systems import get_or_create_system


def _fleet(db: Database) -> tuple[int, int, int]:
    with db.write() as session:
        org = get_or_create_organization(session, "acme")
        a = get_or_create_system(session, org, "a")
        b = get_or_create_system(session, org, "b")
        assert org.id is not None
        assert a.id is not None
        assert b.id is not None
        return org.id, a.id, b.id


def test_writers_take_numbers_in_commit_order(db: Database) -> None:
    org_id, a, b = _fleet(db)
    with db.read() as session:
        start, _ = changed_since(session, org_id, 0)
    taken: list[int] = []
    done = threading.Event()

    def second() -> None:
        with db.write() as session:
            taken.append(mark_changed(session, org_id, [b]))
        done.set()

    with db.write() as session:
        first = mark_changed(session, org_id, [a])
        assert first == start + 1
        thread = threading.Thread(target=second)
        thread.start()
        # The second writer waits for the first's commit (PostgreSQL: the clock's row lock; SQLite:
        # the write lock), and a reader sees neither number yet.
        assert not done.wait(0.5)
        with db.read() as reader:
            assert changed_since(reader, org_id, start) == (start, [])
    thread.join(20)
    assert taken == [first + 1]
    with db.read() as session:
        assert changed_since(session, org_id, start) == (first + 1, [a, b])
        assert changed_since(session, org_id, first) == (first + 1, [b])


def _marked_then_failed(db: Database, org_id: int, system_id: int) -> None:
    with db.write() as session:
        mark_at_commit(session, org_id, [system_id])
        raise KeyError("rolled back")


def test_marks_at_commit_are_one_number_and_go_with_a_rollback(db: Database) -> None:
    org_id, a, b = _fleet(db)
    with db.read() as session:
        start, _ = changed_since(session, org_id, 0)
    with db.write() as session:
        mark_at_commit(session, org_id, [a])
        mark_at_commit(session, org_id, [b])
    with db.read() as session:
        assert changed_since(session, org_id, start) == (start + 1, [a, b])
    with pytest.raises(KeyError):
        _marked_then_failed(db, org_id, a)
    with db.write() as session:
        mark_at_commit(session, org_id, every=True)
    with db.read() as session:
        assert changed_since(session, org_id, start + 1) == (start + 2, [a, b])
