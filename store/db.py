"""The database: :class:`Database`, the one unit of work use-cases receive, over SQLite or PostgreSQL.

``pipeline`` use-cases take a :class:`Database` and open their transactions through it
(:meth:`Database.write`, :meth:`Database.read`, and for bulk Core work :meth:`Database.begin` /
:meth:`Database.connect`); they never see an engine and never import SQLAlchemy. What the transactions
yield is handed, unexamined, to the query functions of ``store.queries``.


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
from typing import Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import Session

from core.errors import StorageError
from store.migrations import HEAD_REVISION

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Where alembic records the revision a database is at (its default name, which env.py keeps).
_VERSION_TABLE = "alembic_version"

#: An open ORM transaction, as :meth:`Database.write` / :meth:`Database.read` yield it. Use-cases pass it
#: on to query functions without looking inside (the name keeps SQLAlchemy out of their imports).
Tx: TypeAlias = Session
#: A Core connection, as :meth:`Database.begin` / :meth:`Database.connect` yield it (bulk work).
Conn: TypeAlias = Connection


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


def display_url(url: str | URL) -> str:
    """``url`` with any password hidden, for messages."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.render_as_string(hide_password=True)


@contextmanager
def _translated(url: URL) -> Iterator[None]:
    """Let a driver error leave as :class:`StorageError`: ``database: <first line> (<url>)``."""
    try:
        yield
    except DBAPIError as exc:
        original = str(exc.orig).strip() if exc.orig is not None else ""
        reason = original.splitlines()[0] if original else str(exc)
        shown = url.render_as_string(hide_password=True)
        # Only the connection and the server's state (OperationalError: gone, locked, timed out;
        # InterfaceError: the driver lost the connection) can change on a retry; DataError,
        # IntegrityError and the like refuse the values themselves.
        transient = isinstance(exc, OperationalError | InterfaceError)
        raise StorageError(f"database: {reason} ({shown})", transient=transient) from exc


class Database:
    """One database and its transactions: the unit of work every use-case receives.

    Opening is cheap (no connection is made until the first transaction). An error of the database
    driver (server down, file unreadable, lock timeout, a constraint or trigger refusing a write)
    leaves a transaction as :class:`core.errors.StorageError` naming the database (the driver's error
    chained), after the transaction was rolled back; callers above ``store`` never catch a SQLAlchemy
    type.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | URL, **engine_options: Any) -> Database:
        return cls(make_engine(url, **engine_options))

    @property
    def url(self) -> URL:
        return self.engine.url

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for messages."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction (see :func:`write_session`): committed on success, else rolled back."""
        with _translated(self.engine.url), write_session(self.engine) as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session; whatever it did is rolled back when it closes."""
        with _translated(self.engine.url), read_session(self.engine) as session:
            yield session

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A Core connection in one write transaction (bulk imports): committed on success."""
        with _translated(self.engine.url), self.engine.connect() as plain:
            conn = plain.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A Core connection whose transactions the caller manages (reads, or several commits in a row)."""
        with _translated(self.engine.url), self.engine.connect() as conn:
            yield conn

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` (``store.migrate.upgrade``); a database already at the head
        revision is left as it is without loading alembic (every ``patchgap ingest`` asks)."""
        if revision in ("head", HEAD_REVISION) and self.revision() == HEAD_REVISION:
            return
        from store.migrate import upgrade  # noqa: PLC0415 - alembic loads only when a command migrates

        with _translated(self.engine.url):
            upgrade(self.engine, revision)

    def revision(self) -> str | None:
        """The schema revision the database is at; ``None`` without patchgap's schema.

        Read from alembic's version table directly: the same answer as
        ``store.migrate.current_revision``, without loading alembic. More than one row (branched
        revisions, which patchgap never has) is left to alembic, which refuses it.
        """
        with _translated(self.engine.url), self.engine.connect() as conn:
            if not sa.inspect(conn).has_table(_VERSION_TABLE):
                return None
            version = sa.select(sa.column("version_num", sa.String)).select_from(sa.table(_VERSION_TABLE))
            rows = list(conn.execute(version).scalars())
        if len(rows) <= 1:
            return rows[0] if rows else None
        from store.migrate import current_revision  # noqa: PLC0415 - as in upgrade

        with _translated(self.engine.url):
            return current_revision(self.engine)

    def dispose(self) -> None:
        """Close the pooled connections (end of a command, or after a fork)."""
        self.engine.dispose()
