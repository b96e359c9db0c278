"""The embedded database's planner statistics follow the fleet: the rebuild of exposures and the
recomputation of lists take them again when the tables grew past them (``store.queries.statistics``);
PostgreSQL is left to its autovacuum."""

from __future__ import annotations

import sqlalchemy as sa

from bench.report import build_fleet
from pipeline.database import refresh_statistics
from pipeline.exposures.build import ensure_exposures, rebuild_all
from pipeline.lists.exposures import refresh_list
from store.db import Database
from store.queries.statistics import stale


def _stale(db: Database) -> list[str]:
    with db.read() as session:
        return stale(session)


def _counted(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT tbl, stat FROM sqlite_stat1")).all()
    return {table: int(str(stat).split(" ")[0]) for table, stat in rows}


def test_statistics_are_taken_as_the_fleet_grows(db: Database) -> None:
    build_fleet(db, 40)  # 2,080 snapshots
    if db.dialect == "postgresql":
        assert _stale(db) == []
        assert refresh_statistics(db) is False
        return
    with db.engine.begin() as conn:  # the bench analyzes its fleets; a user's database never was
        conn.execute(sa.text("DELETE FROM sqlite_stat1"))
    assert _stale(db) == ["snapshot"]
    ensure_exposures(db, "bench")  # builds every system's exposures, then analyzes
    assert _stale(db) == []
    counted = _counted(db)
    # Sampled (PRAGMA analysis_limit): the counts are estimates.
    assert 1000 < counted["snapshot"] <= 2080
    assert counted["exposure"] > 1000
    assert "exposure_list" not in counted  # empty when analyzed
    refresh_list(db, "bench")  # writes a list row per exposure row: analyzed again
    assert _stale(db) == []
    assert _counted(db)["exposure_list"] > 1000
    assert refresh_statistics(db) is False  # nothing grew since
    # Rebuilt rows take new row ids, which run ahead of the rows (at 10,000 systems: 1.1 million for
    # 295,000 plan items): past the snapshots, only missing statistics count.
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE sqlite_stat1 SET stat = '100 1' WHERE tbl = 'exposure_list'"))
    assert _stale(db) == []
    assert rebuild_all(db, "bench").systems == 40
    assert _stale(db) == []
    # Snapshots are appended: twice the snapshots counted is growth.
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE sqlite_stat1 SET stat = '1000 1' WHERE tbl = 'snapshot'"))
    assert _stale(db) == ["snapshot"]
    assert refresh_statistics(db) is True
    assert _stale(db) == []
