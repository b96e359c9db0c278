"""One refresh of an organization's list rows at a time in a process: a caller that comes while
another recomputes waits for it and finds the rows current (a reader while the keep-warm thread
absorbs an SLA-policy change), instead of recomputing every system a second time."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from bench.report import build_fleet
from pipeline.exposures.build import ensure_exposures
from pipeline.lists.exposures import refresh_list
from pipeline.sla import set_sla_policy
from reports.sla import SlaPolicy, SlaTier
from store.db import Database


def test_two_refreshes_at_once_recompute_each_system_once(db: Database) -> None:
    build_fleet(db, 30)
    ensure_exposures(db, "bench")
    assert refresh_list(db, "bench") == 30
    # A new SLA policy: every system's due dates, so every system's rows, change.
    set_sla_policy(db, "bench", SlaPolicy((SlaTier("all", 5.0),)))
    start = threading.Barrier(2)
    done: list[int] = []

    def refresh() -> None:
        start.wait()
        done.append(refresh_list(db, "bench"))

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(done) == [0, 30]
    with db.engine.connect() as conn:
        tiers = set(conn.execute(sa.text("SELECT DISTINCT sla_tier FROM exposure_list")).scalars())
    assert tiers - {None} == {"all"}  # the rows were recomputed under the new policy
