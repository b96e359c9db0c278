"""The event outbox: one row per fact, written only by a committed transaction, read per organization."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from core.events import EXPOSURE_OPENED, SYNC_FAILED
from store.db import Database
from store.queries.notifications import add_event, add_events, list_events
from store.queries.organizations import get_or_create_organization


def _org(session: Session, name: str) -> int:
    org_id = get_or_create_organization(session, name).id
    assert org_id is not None
    return org_id


def test_the_same_fact_is_recorded_once(db: Database) -> None:
    with db.write() as session:
        org = _org(session, "acme")
        assert add_event(session, org, EXPOSURE_OPENED, "web|pkg:npm/x|CVE-1|2026-01-01", {"n": 1})
        assert not add_event(session, org, EXPOSURE_OPENED, "web|pkg:npm/x|CVE-1|2026-01-01", {"n": 2})
        assert add_event(session, org, EXPOSURE_OPENED, "web|pkg:npm/x|CVE-2|2026-01-01", {"n": 3})
    with db.read() as session:
        assert [e.payload["n"] for e in list_events(session, org)] == [1, 3]


def test_a_rolled_back_change_records_no_event(db: Database) -> None:
    with db.write() as session:
        org = _org(session, "acme")

    def failing_change() -> None:
        with db.write() as session:
            add_event(session, org, EXPOSURE_OPENED, "s", {})
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    with db.read() as session:
        assert list_events(session, org) == []


def test_an_organization_reads_its_own_events_and_the_installations(db: Database) -> None:
    with db.write() as session:
        acme = _org(session, "acme")
        other = _org(session, "other")
        add_event(session, acme, EXPOSURE_OPENED, "a", {"who": "acme"})
        add_event(session, other, EXPOSURE_OPENED, "a", {"who": "other"})
        add_event(session, None, SYNC_FAILED, "run-1", {"who": "installation"})
    with db.read() as session:
        assert [e.payload["who"] for e in list_events(session, acme)] == ["acme", "installation"]
        assert [e.payload["who"] for e in list_events(session, other)] == ["other", "installation"]
        first = list_events(session, acme)[0].id
        assert [e.payload["who"] for e in list_events(session, acme, after_id=first)] == ["installation"]
        assert [e.kind for e in list_events(session, acme, kinds=[SYNC_FAILED])] == [SYNC_FAILED]


def test_an_unknown_kind_is_refused(db: Database) -> None:
    with db.write() as session:
        org = _org(session, "acme")
        with pytest.raises(ValueError, match="unknown event kind"):
            add_event(session, org, "exposure.invented", "s", {})


def test_a_batch_records_each_new_fact_once_in_order(db: Database) -> None:
    def event(org: int, subject: str, n: int) -> dict[str, object]:
        return {"org_id": org, "kind": EXPOSURE_OPENED, "subject": subject, "payload": {"n": n}}

    with db.write() as session:
        org = _org(session, "acme")
        add_event(session, org, EXPOSURE_OPENED, "known", {"n": 0})
        batch = [event(org, f"s{i}", i + 1) for i in range(1500)]
        # A fact already stored and a fact repeated within the batch are each one row.
        assert add_events(session, [*batch, event(org, "known", -1), event(org, "s3", -2)]) == 1500
        assert add_events(session, batch) == 0
        assert add_events(session, []) == 0
    with db.read() as session:
        stored = [e.payload["n"] for e in list_events(session, org, limit=2000)]
    assert stored == list(range(1501))
