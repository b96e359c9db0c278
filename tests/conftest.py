"""Shared fixtures: databases (SQLite and PostgreSQL, schema created by the migrations) and test data.

``db`` is parametrized over both databases, so every storage test runs on each:

- ``sqlite``: a file in the test's tmp directory. The schema is migrated once per session into a
  template file, which each test copies (a file copy is far cheaper than running the migrations again).
- ``postgresql``: the server at ``postgresql+psycopg://postgres@127.0.0.1:5432/test`` (override with
  ``PATCHGAP_TEST_POSTGRES_URL``). Each test gets a fresh schema of its own, selected through the
  connection's ``search_path``, and dropped afterwards, so tests are isolated (also under
  pytest-xdist) without dropping anything else in the database. Skipped with the reason when no server
  answers. The migrations run once per session into a schema of their own while their statements are
  recorded; each test's schema replays those statements in one transaction, which is about half the
  cost of running the migrations again (an empty schema leaves the migrations nothing to read that
  could change what they write). ``tests/store/test_migrations.py`` runs the migrations themselves.
  A schema a test leaves in the shape it found it (see ``_shape``) is emptied (``TRUNCATE``) and kept
  for the worker's next test instead of being dropped: that is about a third of the cost of a new
  schema with the migrations replayed. One whose shape changed (a test's trigger, another revision) is
  dropped; every kept schema is dropped at the end of the session.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from hypothesis import settings
from sqlalchemy.engine import make_url

from store.db import Database, make_engine
from store.migrate import upgrade

# CI runs the property tests derandomized, so a submission's result does not depend on the draw; on a
# developer's machine they keep exploring new examples (and hypothesis keeps the failures it finds).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SAMPLES = Path(__file__).resolve().parents[1] / "sbom_samples"


def postgres_url() -> str:
    return os.environ.get("PATCHGAP_TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)


@pytest.fixture(scope="session")
def _postgres_available() -> str | None:
    """``None`` when the server answers, else why not (the reason the PostgreSQL tests skip with)."""
    url = make_url(postgres_url())
    try:
        conn = psycopg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            dbname=url.database,
            connect_timeout=3,
        )
    except psycopg.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"no PostgreSQL server answers at {url.render_as_string(hide_password=True)}: {first_line}"
    conn.close()
    return None


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection closing checkpoints the WAL into the file
    return path


def fresh_postgres_schema(reason: str | None) -> Generator[str, None, None]:
    """Create a schema of its own, yield a URL whose connections use it, drop it afterwards."""
    if reason is not None:
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = make_engine(postgres_url())
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(postgres_url()).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


Statement = tuple[str, Any]
_MIGRATION: list[Statement] = []


def _postgres_migration(reason: str | None) -> list[Statement]:
    """The statements the migrations send to an empty PostgreSQL schema, recorded on the first call
    of the session (reads of the catalog and of the empty tables left out)."""
    if not _MIGRATION:
        for url in fresh_postgres_schema(reason):
            _MIGRATION.extend(_recorded_upgrade(url))
    return _MIGRATION


def replay_migration(url: str, reason: str | None) -> None:
    """Bring the empty PostgreSQL schema of ``url`` to the head by replaying the migrations' recorded
    statements in one transaction."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for statement, parameters in _postgres_migration(reason):
                conn.exec_driver_sql(statement, parameters)
    finally:
        engine.dispose()


def _recorded_upgrade(url: str) -> list[Statement]:
    engine = make_engine(url)
    recorded: list[Statement] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _record(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if not statement.lstrip().upper().startswith("SELECT"):
            recorded.append((statement, parameters or None))

    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return recorded


# What a schema holds besides its rows: its relations (tables, indexes, sequences), columns, triggers,
# functions and revision. A test that adds a trigger or migrates elsewhere changes it.
_SHAPE_SQL = """
SELECT (SELECT version_num FROM alembic_version),
       (SELECT string_agg(c.relname || ':' || c.relkind::text || ':' || c.relnatts::text, ','
                          ORDER BY c.relname)
          FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace),
       (SELECT string_agg(t.tgname, ',' ORDER BY t.tgname) FROM pg_trigger t
          JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = current_schema()::regnamespace),
       (SELECT string_agg(p.proname, ',' ORDER BY p.proname) FROM pg_proc p
          WHERE p.pronamespace = current_schema()::regnamespace)
"""


def _shape(conn: psycopg.Connection[Any]) -> tuple[Any, ...]:
    row = conn.execute(_SHAPE_SQL).fetchone()
    assert row is not None
    return tuple(row)


def _connect(schema: str) -> psycopg.Connection[Any]:
    url = make_url(postgres_url())
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database,
        options=f"-csearch_path={schema}",
        autocommit=True,
    )


class _SchemaPool:
    """This worker's emptied schemas at the head revision, and the shape a fresh one has."""

    def __init__(self) -> None:
        self.free: list[str] = []
        self.fresh: tuple[Any, ...] | None = None

    def url(self, schema: str) -> str:
        """A URL of ``schema`` that no earlier test was given: what the process keeps per database
        (keyed by its URL, and the organization's id, which starts again from 1) is never found by
        the next test of a schema used again."""
        options = {"options": f"-csearch_path={schema}", "application_name": uuid.uuid4().hex}
        return make_url(postgres_url()).update_query_dict(options).render_as_string(hide_password=False)

    def take(self, reason: str | None) -> str:
        if reason is not None:
            pytest.skip(reason)
        if self.free:
            return self.free.pop()
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with _connect(schema) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        replay_migration(self.url(schema), reason)
        if self.fresh is None:
            with _connect(schema) as conn:
                self.fresh = _shape(conn)
        return schema

    def give_back(self, schema: str) -> None:
        """Empty ``schema`` for the next test when its shape is a fresh one's, else drop it."""
        try:
            with _connect(schema) as conn:
                if _shape(conn) == self.fresh:
                    tables = [
                        r[0]
                        for r in conn.execute(
                            "SELECT tablename FROM pg_tables WHERE schemaname = %s "
                            "AND tablename <> 'alembic_version'",
                            (schema,),
                        )
                    ]
                    conn.execute("SET lock_timeout = '10s'")
                    # Replica role: the append-only triggers refuse a TRUNCATE of the analysis tables.
                    conn.execute("SET session_replication_role = replica")
                    conn.execute(
                        "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                    )
                    self.free.append(schema)
                    return
        except psycopg.Error:
            pass  # dropped below, as a schema of an unknown shape
        self.drop(schema)

    def drop(self, schema: str) -> None:
        with _connect("public") as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def close(self) -> None:
        for schema in self.free:
            self.drop(schema)
        self.free.clear()


@pytest.fixture(scope="session")
def _schema_pool() -> Iterator[_SchemaPool]:
    pool = _SchemaPool()
    yield pool
    pool.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db_url(
    request: pytest.FixtureRequest, tmp_path: Path, _postgres_available: str | None
) -> Iterator[str]:
    """A URL of an empty database (no schema), on each database in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        yield from fresh_postgres_schema(_postgres_available)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    _postgres_available: str | None,
    _sqlite_template: Path,
    _schema_pool: _SchemaPool,
) -> Iterator[str]:
    """A URL of a database migrated to head, on each database in turn."""
    if request.param == "sqlite":
        path = tmp_path / "patchgap.db"
        shutil.copyfile(_sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    schema = _schema_pool.take(_postgres_available)
    try:
        yield _schema_pool.url(schema)
    finally:
        _schema_pool.give_back(schema)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A Database migrated to head (SQLite and PostgreSQL, see the module docstring)."""
    database = Database.open(db_url)
    yield database
    database.dispose()


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the project; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA.resolve()}")
    return SHARED_DATA.resolve()


CycloneDx = Callable[..., bytes]


def cyclonedx_json(
    components: Sequence[tuple[str, str | None, str | None]],
    *,
    timestamp: str | None = "2024-01-01T00:00:00Z",
    serial: str | None = None,
) -> bytes:
    """The bytes of a small CycloneDX 1.5 JSON SBOM with components ``(name, version, purl)``."""
    metadata: dict[str, object] = {"component": {"type": "application", "name": "app", "version": "1"}}
    if timestamp is not None:
        metadata["timestamp"] = timestamp
    document: dict[str, object] = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": metadata,
        "components": [
            {"type": "library", "name": name, "bom-ref": f"c{i}"}
            | ({"version": version} if version else {})
            | ({"purl": purl} if purl else {})
            for i, (name, version, purl) in enumerate(components)
        ],
    }
    if serial is not None:
        document["serialNumber"] = serial
    return json.dumps(document, indent=1).encode()


@pytest.fixture
def cyclonedx() -> CycloneDx:
    """Builder of CycloneDX JSON bytes (see ``cyclonedx_json``), for tests that need SBOMs of a shape."""
    return cyclonedx_json
