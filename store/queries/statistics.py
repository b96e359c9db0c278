"""The query planner's statistics of the embedded database (SQLite).

SQLite plans a statement from ``sqlite_stat1``, which only ``ANALYZE`` writes; without it, or with
statistics taken when the tables were small, it picks indexes by guesswork. Measured at 10,000 systems
(``bench/RESULTS.md``): the exposures list's first page took 0.26 s instead of 0.06 s, the overview
0.97 s instead of 0.59 s. PostgreSQL's autovacuum keeps its own statistics (README "Scaling").

:func:`stale` tells, in a few index lookups, whether a table that grows with the fleet has rows
and no statistics, or whether the snapshots — appended, never rewritten, so their largest row id counts
them — have grown past twice what the statistics counted (the other tables grow with them; their
rows are replaced by rebuilds, so their row ids run ahead of their counts). :func:`analyze` then
samples at most :data:`ANALYSIS_LIMIT` rows per index (``PRAGMA analysis_limit``): about half a second
on a 1.4 GB database of 10,000 systems, whatever its size.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

__all__ = ["ANALYSIS_LIMIT", "TRACKED", "analyze", "stale"]

#: Rows sampled per index by ``ANALYZE``.
ANALYSIS_LIMIT = 1000
#: The tables whose size decides whether statistics are stale: they grow with snapshots and systems.
TRACKED = ("snapshot", "exposure", "exposure_list", "plan_item")
# Below this many rows a table's plan hardly matters; past this factor of growth of the snapshots,
# statistics are stale.
_SMALL = 1000
_GROWTH = 2
_APPENDED = "snapshot"


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def stale(session: Session) -> list[str]:
    """The tracked tables (SQLite) with rows and no statistics, and ``snapshot`` when it holds twice
    the rows its statistics counted. Always empty on PostgreSQL."""
    if not _sqlite(session):
        return []
    counted: dict[str, int] = {}
    has_stats = session.execute(
        sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
    ).first()
    if has_stats is not None:
        for table, stat in session.execute(sa.text("SELECT tbl, stat FROM sqlite_stat1")):
            rows = int(str(stat).split(" ", 1)[0] or 0)
            counted[table] = max(rows, counted.get(table, 0))
    out: list[str] = []
    for table in TRACKED:
        largest = session.execute(sa.text(f"SELECT max(rowid) FROM {table}")).scalar() or 0  # noqa: S608
        if largest <= _SMALL:
            continue
        if table not in counted or (table == _APPENDED and largest > _GROWTH * counted[table]):
            out.append(table)
    return out


def analyze(session: Session) -> None:
    """Take the planner's statistics of every table again (SQLite; sampled, see the module docstring)."""
    if _sqlite(session):
        session.execute(sa.text(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}"))
        session.execute(sa.text("ANALYZE"))
