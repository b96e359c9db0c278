"""A serving process reads each organization's first pages once after start-up (``pipeline.warmup``):
afterwards the first overview and plan page of a reader use what it kept instead of reading every
stored row; it then keeps them warm, so that a change of many systems' rows is read before a reader
comes."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa

from bench.change import _kev_with
from bench.report import build_fleet
from pipeline import warmup
from pipeline.advisories.tables import import_table
from pipeline.exposures.build import ensure_exposures
from pipeline.lists.exposures import refresh_list
from pipeline.lists.plan import PlanQuery, plan_page
from pipeline.overview import overview
from pipeline.warmup import WarmUp, next_pass, warm_up
from store.db import Database
from store.queries import lists as lq
from store.queries import plan as pq
from store.schema import metadata


def _spy(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, position: int) -> list[Any]:
    """The systems each call of ``module.name`` asked for (its argument at ``position``, or
    ``system_ids``; ``None``: every one)."""
    calls: list[Any] = []
    real = getattr(module, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[position] if len(args) > position else kwargs.get("system_ids"))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


def test_after_the_warm_up_the_first_pages_read_nothing_whole(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_fleet(db, 12)
    took = warm_up(db)
    assert list(took) == ["bench"]
    ranked = _spy(monkeypatch, pq, "rank_items", 3)
    counted = _spy(monkeypatch, lq, "overview_by_system", 4)
    overview(db, "bench")
    plan_page(db, "bench", PlanQuery(), limit=50)
    assert None not in ranked  # the plan's ranking was kept: no read of every item
    assert None not in counted  # nor of every system's overview counts


def _kev_of_most_systems(db: Database) -> bytes:
    """The stored KEV catalog with the open group most systems have added (as a sync would bring it)."""
    exposure = metadata.tables["exposure"]
    kev = metadata.tables["kev_entry"]
    with db.engine.connect() as conn:
        listed = set(conn.execute(sa.select(kev.c.cve_id)).scalars())
        systems = sa.func.count(sa.distinct(exposure.c.system_id))
        stmt = (
            sa.select(exposure.c.vuln_group)
            .where(exposure.c.resolved_at.is_(None), exposure.c.vuln_group.like("CVE-%"))
            .group_by(exposure.c.vuln_group)
            .order_by(systems.desc(), exposure.c.vuln_group)
        )
        cve = next(g for g in conn.execute(stmt).scalars() if g not in listed)
    return _kev_with(db, cve)


@pytest.mark.parametrize(("every", "look_every"), [(None, 5.0), (0.05, 3600.0), (3600.0, 0.05)])
def test_keeping_warm_absorbs_a_sync_before_the_next_reader(
    db: Database, monkeypatch: pytest.MonkeyPatch, every: float | None, look_every: float
) -> None:
    """A KEV entry that concerns several systems arrives (the sync job, here or in another process,
    recomputes their list rows): kept warm — at the interval, or as soon as the thread sees something
    changed (``changes_token``) — the thread's next pass reads their parts again, and the next overview
    and plan page read none; warmed up once only, the next overview reads them."""
    build_fleet(db, 12)
    # The thread sees the database's changes only once the gate opens (as the change by "another
    # process" is then complete): a pass it starts then reads all of it.
    gate, real, before = threading.Event(), warmup.changes_token, warmup.changes_token(db)
    monkeypatch.setattr(warmup, "changes_token", lambda d: real(d) if gate.is_set() else before)
    warming = WarmUp(db, every=every, look_every=look_every)
    warming.start()
    try:
        assert warming.wait_rounds(1, 120)
        if every == 3600.0:
            assert not warming.wait_rounds(2, 0.5)  # nothing changed: no pass before the interval
        import_table(db, "kev", _kev_of_most_systems(db), origin="kev.json")
        ensure_exposures(db, "bench")
        assert refresh_list(db, "bench") >= 2
        done = warming.rounds
        gate.set()
        if every is not None:
            # At the interval, a pass may be under way: the one after it started after the change.
            assert warming.wait_rounds(done + (2 if every < 1 else 1), 120)
    finally:
        warming.stop()
    counted = _spy(monkeypatch, lq, "overview_by_system", 4)
    items = _spy(monkeypatch, pq, "action_items", 99)
    overview(db, "bench")
    plan_page(db, "bench", PlanQuery(), limit=50)
    if every is None:
        assert counted, counted
        assert all(c for c in counted), counted  # the changed systems' parts
    else:
        assert counted == []
        assert items == []


def test_passes_at_the_interval_fall_right_after_the_clock_s_multiples() -> None:
    """With 30 s, a pass a second after each minute starts (the overview's figures are the minute's)
    and one in its middle."""
    assert next_pass(1_800_000_000.0, 30) == 1_800_000_031.0
    assert next_pass(1_800_000_029.9, 30) == 1_800_000_031.0
    assert next_pass(1_800_000_030.0, 30) == 1_800_000_061.0
    assert next_pass(1_800_000_000.0, 45) == 1_800_000_046.0


def test_a_database_that_is_down_is_logged_once_not_at_every_look(caplog: pytest.LogCaptureFixture) -> None:
    down = Database.open("postgresql+psycopg://patchgap@127.0.0.1:9/none?connect_timeout=2")
    warming = WarmUp(down, every=3600.0, look_every=0.01)
    try:
        with caplog.at_level("INFO", logger="pipeline.warmup"):
            warming.start()
            assert warming.wait_rounds(1, 60)
            assert warming.state == "failed"  # the first requests read the pages, as without it
            threading.Event().wait(0.5)  # dozens of looks
    finally:
        warming.stop()
        down.dispose()
    looks = [r for r in caplog.records if r.getMessage().startswith("looking for changes failed")]
    assert len(looks) == 1


def test_a_reader_during_a_pass_waits_for_it_instead_of_reading_alongside(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two overviews "now" at once after a KEV change of several systems (the keep-warm pass and a
    reader): the changed systems' parts are read once; the second finds them kept."""
    build_fleet(db, 24)
    warm_up(db)
    import_table(db, "kev", _kev_of_most_systems(db), origin="kev.json")
    ensure_exposures(db, "bench")
    assert refresh_list(db, "bench") >= 2
    counted: list[Any] = []
    real = lq.overview_by_system

    def slow(*args: Any, **kwargs: Any) -> Any:
        counted.append(args[4] if len(args) > 4 else None)
        threading.Event().wait(0.3)  # the other reader comes meanwhile
        return real(*args, **kwargs)

    monkeypatch.setattr(lq, "overview_by_system", slow)
    start = threading.Barrier(2)

    def read() -> None:
        start.wait()
        overview(db, "bench")

    threads = [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(counted) == 1, counted
