"""Engines and sessions for SQLite (embedded default) and PostgreSQL (teams).

SQLite is tuned on every new connection: WAL (readers never block the writer), foreign keys on (off by
default in SQLite), a busy timeout (wait for a concurrent writer instead of failing at once) and
``synchronous=NORMAL`` (durable enough in WAL mode, and much faster). The Python driver's own
transaction handling is switched off and SQLAlchemy emits ``BEGIN`` itself, as SQLAlchemy documents, so
that SAVEPOINTs and transactional DDL (migrations) work. A connection may ask for
``BEGIN IMMEDIATE`` with the execution option ``sqlite_begin="IMMEDIATE"``: a writer that takes the
write lock up front waits on the busy timeout instead of failing on a lock upgrade.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 10_000


def normalize_url(url: str | URL) -> URL:
    """Use psycopg 3 for plain ``postgresql://`` / ``postgres://`` URLs (the only driver we install)."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; extra keyword arguments go to ``sqlalchemy.create_engine``."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, **kwargs)
        _tune_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(parsed, **kwargs)


def _tune_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy emits BEGIN itself (see the "begin" hook below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            # In-memory databases answer "memory" and keep it; files switch to WAL once and stay.
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session for one write transaction: committed on success, rolled back on any exception.

    On SQLite the transaction takes the write lock at ``BEGIN`` (see the module docstring).
    """
    with engine.connect() as plain:
        conn = plain.execution_options(sqlite_begin="IMMEDIATE")
        with Session(bind=conn) as session, session.begin():
            yield session


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reads; whatever it did is rolled back when it closes."""
    with Session(engine) as session:
        yield session
