"""The alembic migrations create exactly the tables the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa

from store.db import Database, make_engine
from store.migrate import current_revision, head_revision, schema_diff, upgrade
from store.migrations import HEAD_REVISION
from store.schema import metadata
from store.tables.advisories import KevEntry

# The tables every schema has since the first revisions; later areas add more.
TABLES = {
    "advisory",
    "affected_package",
    "match_result",
    "package_match_state",
    "organization",
    "system",
    "snapshot",
    "package_version",
    "component_set",
    "component_set_member",
    "not_assessable_component",
}


def test_migrated_schema_matches_the_models(db: Database) -> None:
    assert current_revision(db.engine) == head_revision()
    assert schema_diff(db.engine) == []


def test_schema_comparison_sees_a_missing_schema(empty_db_url: str) -> None:
    # The no-diff test above means something only if the comparison reports differences at all.
    db = make_engine(empty_db_url)
    try:
        added = {d[1].name for d in schema_diff(db.engine) if d[0] == "add_table"}
        assert added == set(metadata.tables)
        assert added >= TABLES
        assert current_revision(db.engine) is None
    finally:
        db.dispose()


def test_upgrade_from_empty_then_again_is_a_no_op(empty_db_url: str) -> None:
    db = make_engine(empty_db_url)
    try:
        upgrade(db.engine)
        upgrade(db.engine)
        assert current_revision(db.engine) == head_revision()
        assert set(sa.inspect(db).get_table_names()) >= TABLES
    finally:
        db.dispose()


def test_the_named_head_is_alembics_head() -> None:
    # Database.upgrade and open_database compare with the name; a new revision must update it.
    assert head_revision() == HEAD_REVISION


def test_database_reads_the_revision_as_alembic_does(empty_db_url: str) -> None:
    db = Database.open(empty_db_url)
    try:
        assert db.revision() is None
        assert current_revision(db.engine) is None
        upgrade(db.engine, "0006")
        assert db.revision() == current_revision(db.engine) == "0006"
        db.upgrade()
        assert db.revision() == current_revision(db.engine) == HEAD_REVISION
        db.upgrade()  # at the head: left as it is
        assert db.revision() == HEAD_REVISION
        assert schema_diff(db.engine) == []
    finally:
        db.dispose()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with db.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    finally:
        db.dispose()


def test_plain_postgresql_urls_use_psycopg() -> None:
    db = make_engine("postgresql://u@localhost/x")
    assert db.dialect.driver == "psycopg"
    db.dispose()


def test_0006_gives_stored_kev_rows_the_catalogs_fetch_time(empty_db_url: str) -> None:
    db = make_engine(empty_db_url)
    fetched = datetime(2024, 1, 9, 12, 0, tzinfo=UTC)
    try:
        upgrade(db, "0005")
        with db.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO kev_entry (cve_id, date_added, known_ransomware, vendor, product, name,"
                    " catalog_version) VALUES ('CVE-2024-1', :added, false, 'v', 'p', 'n', '1')"
                ),
                {"added": datetime(2024, 1, 5, tzinfo=UTC)},
            )
            conn.execute(
                sa.text("INSERT INTO feed_state (name, fetched_at) VALUES ('kev', :fetched)"),
                {"fetched": fetched},
            )
        upgrade(db.engine)
        with db.connect() as conn:
            listed = conn.execute(sa.select(col(KevEntry, "listed_since"))).scalar_one()
        assert listed == fetched
    finally:
        db.dispose()


def col(model: type[Any], name: str) -> sa.ColumnElement[Any]:
    return cast(sa.Table, model.__table__).c[name]
