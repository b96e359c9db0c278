"""Replacing list stamps (``store.queries.lists.restamp``): only a stamp that is still the one read is
replaced, the rows stay, and the organization's clock does not move (nothing of the systems changed)."""

from __future__ import annotations

import sqlalchemy as sa

from store.db import Database
from store.queries.changes import changed_since
from store.queries.lists import replace_list, restamp
from store.queries.organizations import get_or_create_organization
from store.queries.systems import get_or_create_system


def _stamps(db: Database) -> dict[int, str]:
    with db.engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT system_id, stamp FROM exposure_list_state")).all())


def test_only_the_stamp_read_is_replaced(db: Database) -> None:
    with db.write() as session:
        org = get_or_create_organization(session, "acme")
        a, b, c = (get_or_create_system(session, org, name).id for name in ("a", "b", "c"))
        assert org.id is not None
        assert a is not None
        assert b is not None
        assert c is not None
        org_id = org.id
    with db.write() as session:
        replace_list(session, org_id, [a, b, c], [], {a: ("a1", None), b: ("b1", None), c: ("c1", None)})
    with db.read() as session:
        start, _ = changed_since(session, org_id, 0)
    with db.write() as session:
        # b's stamp was rewritten since it was read (as "b0"): it stays.
        restamp(session, org_id, {a: ("a1", "a2"), b: ("b0", "b2")})
    assert _stamps(db) == {a: "a2", b: "b1", c: "c1"}
    with db.read() as session:
        assert changed_since(session, org_id, start) == (start, [])
