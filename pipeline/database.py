"""Opening the database for a command or a server: the one place the CLI and the API get a Database.

Schema policy: commands that write bring the database to the current schema themselves
(``upgrade=True``), so that a first ``patchgap ingest`` in an empty directory just works; commands that
only read never change the database and ask for ``patchgap db upgrade`` when the schema is missing or
older than this version.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import PatchgapError
from store.db import Database, Tx, display_url
from store.migrations import HEAD_REVISION
from store.queries import statistics

__all__ = [
    "Database",
    "Tx",
    "database_problem",
    "display_url",
    "open_database",
    "refresh_statistics",
    "upgrade_database",
]


def open_database(url: str, *, upgrade: bool) -> Database:
    """A Database on ``url``, migrated first (``upgrade``) or checked to be at the current schema.

    Reading must not leave an empty database file behind: a missing SQLite file is refused unless
    ``upgrade`` is asked for.
    """
    db = Database.open(url)
    try:
        if db.dialect == "sqlite" and not upgrade:
            name = db.url.database
            if name not in (None, "", ":memory:") and not Path(str(name)).exists():
                missing = f"the database {db.display_url} does not exist"
                raise PatchgapError(f"{missing}: run `patchgap db upgrade`")
        if upgrade:
            db.upgrade()
        else:
            current, head = db.revision(), HEAD_REVISION
            if current != head:
                state = "has no patchgap schema" if current is None else f"is at schema {current}, not {head}"
                raise PatchgapError(f"the database {db.display_url} {state}: run `patchgap db upgrade`")
    except BaseException:
        db.dispose()
        raise
    return db


def database_problem(db: Database) -> str | None:
    """Why ``db`` cannot serve this version now, in one line (the server does not answer, the schema
    is missing or another version's), or ``None``: what a readiness probe asks."""
    try:
        current = db.revision()
    except PatchgapError as exc:
        return str(exc)
    if current != HEAD_REVISION:
        state = "has no patchgap schema" if current is None else f"is at schema {current}"
        return f"the database {state}, not {HEAD_REVISION}: run `patchgap db upgrade`"
    return None


def upgrade_database(db: Database) -> None:
    """Bring ``db`` to the current schema (a no-op when it is there)."""
    db.upgrade()


def refresh_statistics(db: Database) -> bool:
    """Take the query planner's statistics again when the tables that grow with the fleet have grown
    past them (SQLite: ``store.queries.statistics``; PostgreSQL's autovacuum does it); whether it did.
    Run after writes that add many rows: the rebuild of exposures and the recomputation of lists."""
    if db.dialect != "sqlite":  # no transaction for nothing after every rebuild and list refresh
        return False
    with db.read() as session:
        if not statistics.stale(session):
            return False
    with db.write() as session:
        statistics.analyze(session)
    return True
