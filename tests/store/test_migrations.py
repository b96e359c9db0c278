"""The alembic migrations create exactly the tables the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
from alembic import command

from bench.report import build_fleet
from core.triage import Decision
from pipeline.exposures.build import ensure_exposures
from pipeline.triage import Actor, analysis_history, list_analyses, record_decision
from store.db import Database, make_engine
from store.migrate import alembic_config, current_revision, head_revision, schema_diff, upgrade
from store.migrations import HEAD_REVISION
from store.queries.exposures import stored_exposures
from store.queries.organizations import get_or_create_organization, organization_id
from store.schema import metadata
from store.tables.advisories import KevEntry
from tests.conftest import fresh_postgres_schema, replay_migration

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
        # The ``db`` fixture replays the migrations' statements on PostgreSQL; this runs them.
        assert schema_diff(db.engine) == []
    finally:
        db.dispose()


def _catalog(engine: sa.Engine) -> list[Any]:
    """The current schema's columns, constraints, indexes, functions and triggers (PostgreSQL), without
    the schema's name or the OIDs in the names of the triggers behind foreign keys."""
    queries = (
        "SELECT table_name, column_name, data_type, is_nullable, column_default FROM"
        " information_schema.columns WHERE table_schema = current_schema() ORDER BY 1, 2",
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2",
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1",
        "SELECT proname, prosrc FROM pg_proc WHERE pronamespace = current_schema()::regnamespace ORDER BY 1",
        "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger"
        " WHERE tgrelid::regclass::text IN (SELECT tablename FROM pg_tables WHERE schemaname ="
        " current_schema()) AND NOT tgisinternal ORDER BY 1, 2",
    )
    with engine.connect() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
        found = [[tuple(r) for r in conn.exec_driver_sql(q).all()] for q in queries]
    return [[tuple(str(v).replace(f"{schema}.", "") for v in row) for row in rows] for rows in found]


@pytest.mark.postgres
def test_the_replayed_postgres_schema_is_the_migrated_one(request: pytest.FixtureRequest) -> None:
    """The ``db`` fixture replays the migrations' recorded statements into each PostgreSQL test's
    schema (``tests/conftest.py``): what that leaves is what running the migrations leaves."""
    reason = request.getfixturevalue("_postgres_available")
    catalogs = []
    for replayed in (False, True):
        schemas = fresh_postgres_schema(reason)  # skips without a server
        url = next(schemas)
        engine = make_engine(url)
        try:
            if replayed:
                replay_migration(url, reason)
            else:
                upgrade(engine)
            catalogs.append(_catalog(engine))
        finally:
            engine.dispose()
            schemas.close()
    migrated, replayed_catalog = catalogs
    assert replayed_catalog == migrated
    assert all(migrated)  # every part of the catalog has something to compare
    assert any("append-only" in str(row) for row in migrated[3])


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


def _vex_rows_at_0008(engine: sa.Engine) -> dict[str, int]:
    """Two organizations with VEX statements as revision 0008 stored them (one scope stated by two
    sources, one statement with a free-text justification), and one excluded exposure row."""
    upgrade(engine, "0008")
    t = datetime(2024, 3, 1, tzinfo=UTC)
    with engine.begin() as conn:
        ids: dict[str, int] = {}
        for name in ("acme", "globex"):
            insert = "INSERT INTO organization (name, created_at, is_manufacturer) VALUES (:n, :t, false)"
            conn.execute(sa.text(insert), {"n": name, "t": t})
            select = sa.text("SELECT id FROM organization WHERE name = :n")
            ids[name] = conn.execute(select, {"n": name}).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO system (org_id, name, environment, internet_exposed, criticality, cadence_days,"
                " created_at) VALUES (:o, 'web', 'prod', false, 'medium', 7, :t)"
            ),
            {"o": ids["acme"], "t": t},
        )
        system_id = conn.execute(sa.text("SELECT id FROM system WHERE name = 'web'")).scalar_one()
        rows = [
            # acme: one scope, first not_affected (team), later affected (vendor): two entries, in order.
            (ids["acme"], "CVE-2024-1", '["GHSA-a"]', "pkg:npm/a", "1.0", "not_affected",
             "vulnerable_code_not_in_execute_path", "never called", "team.json", t, t + timedelta(hours=1)),
            (ids["acme"], "CVE-2024-1", '["GHSA-b"]', "pkg:npm/a", "1.0", "affected",
             None, None, "vendor.json", t + timedelta(days=2), t + timedelta(days=2)),
            (ids["acme"], "CVE-2024-2", "[]", "pkg:pypi/b", "", "under_investigation",
             None, None, "api statement", t + timedelta(days=1), t + timedelta(days=1)),
            (ids["globex"], "CVE-2024-3", "[]", "pkg:npm/c", "", "not_affected",
             "only our own YAML", None, "globex.json", t, t),
            (ids["globex"], "CVE-2024-4", "[]", "pkg:npm/d", "2.0", "fixed", None, None, "g.json", t, t),
        ]  # fmt: skip
        for r in rows:
            conn.execute(
                sa.text(
                    "INSERT INTO vex_statement (org_id, vulnerability, aliases, package, version, status,"
                    " justification, impact_statement, source, stated_at, created_at) VALUES"
                    " (:o, :v, :al, :p, :ver, :s, :j, :i, :src, :st, :c)"
                ),
                dict(zip(("o", "v", "al", "p", "ver", "s", "j", "i", "src", "st", "c"), r, strict=True)),
            )
        conn.execute(
            sa.text(
                "INSERT INTO exposure (system_id, package, ecosystem, package_name, vuln_group, versions,"
                " fixed_versions, first_seen, last_affected_seen, resolution, vex_excluded) VALUES"
                " (:s, 'pkg:npm/a', 'npm', 'a', 'CVE-2024-1', '[\"1.0\"]', '[]', :t, :t,"
                " 'vex_not_affected', true)"
            ),
            {"s": system_id, "t": t},
        )
    return ids


def test_0009_turns_every_vex_statement_into_analysis_history_with_nothing_lost(empty_db_url: str) -> None:
    db = Database.open(empty_db_url)
    try:
        ids = _vex_rows_at_0008(db.engine)
        db.upgrade()
        assert db.revision() == HEAD_REVISION  # 0009 and every later revision
        assert schema_diff(db.engine) == []
        with db.connect() as conn:
            assert not sa.inspect(conn).has_table("vex_statement")
            excluded = conn.execute(sa.text("SELECT excluded_by, analysis_id FROM exposure")).one()
        assert tuple(excluded) == ("not_affected", None)
        acme = {(a["vulnerability"], a["package"]): a for a in list_analyses(db, "acme")}
        assert set(acme) == {("CVE-2024-1", "pkg:npm/a"), ("CVE-2024-2", "pkg:pypi/b")}
        first = acme[("CVE-2024-1", "pkg:npm/a")]
        assert (first["version"], first["system"], first["aliases"]) == ("1.0", None, ["GHSA-a", "GHSA-b"])
        assert (first["state"], first["source"]) == ("exploitable", "vendor.json")  # the latest statement
        history = analysis_history(db, "acme", first["id"])["history"]
        assert [
            (h["previous_state"], h["state"], h["justification"], h["impact_statement"], h["source"],
             h["decided_at"], h["recorded_at"])
            for h in history
        ] == [
            (None, "not_affected", "vulnerable_code_not_in_execute_path", "never called", "team.json",
             "2024-03-01T00:00:00Z", "2024-03-01T01:00:00Z"),
            ("not_affected", "exploitable", None, None, "vendor.json",
             "2024-03-03T00:00:00Z", "2024-03-03T00:00:00Z"),
        ]  # fmt: skip
        assert acme[("CVE-2024-2", "pkg:pypi/b")]["state"] == "in_triage"
        globex = {a["vulnerability"]: a for a in list_analyses(db, "globex")}
        # A free-text justification of the old table is kept as it was (new input is validated).
        assert (globex["CVE-2024-3"]["state"], globex["CVE-2024-3"]["justification"]) == (
            "not_affected",
            "only our own YAML",
        )
        assert (globex["CVE-2024-4"]["state"], globex["CVE-2024-4"]["version"]) == ("resolved", "2.0")
        assert {a["actor"] for a in list_analyses(db, "globex")} == {"globex.json", "g.json"}
        assert ids["acme"] != ids["globex"]
    finally:
        db.dispose()


def test_0009_downgrades_back_to_vex_statements(empty_db_url: str) -> None:
    db = Database.open(empty_db_url)
    try:
        _vex_rows_at_0008(db.engine)
        db.upgrade()
        with db.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0008")
        with db.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT vulnerability, version, status, source FROM vex_statement ORDER BY 1, 4")
            ).all()
            flag = conn.execute(sa.text("SELECT vex_excluded FROM exposure")).scalar_one()
        assert [tuple(r) for r in rows] == [
            ("CVE-2024-1", "1.0", "not_affected", "team.json"),
            ("CVE-2024-1", "1.0", "affected", "vendor.json"),
            ("CVE-2024-2", "", "under_investigation", "api statement"),
            ("CVE-2024-3", "", "not_affected", "globex.json"),
            ("CVE-2024-4", "2.0", "fixed", "g.json"),
        ]
        assert bool(flag) is True
        db.upgrade()
        assert schema_diff(db.engine) == []
    finally:
        db.dispose()


def test_analysis_history_is_append_only_in_the_database(db: Database) -> None:
    t = datetime(2024, 3, 1, tzinfo=UTC)
    with db.write() as session:
        org = get_or_create_organization(session, "acme")
        assert org.id is not None
        record_decision(
            session,
            org.id,
            vulnerability="CVE-2024-1",
            group=None,
            aliases=(),
            package="pkg:npm/a",
            version=None,
            system_id=None,
            decision=Decision("in_triage"),
            actor=Actor("alice", "admin", "cli"),
            decided_at=t,
            now=t,
        )
    for statement in (
        "UPDATE analysis_entry SET state = 'not_affected'",
        "DELETE FROM analysis_entry",
        "UPDATE analysis SET package = 'pkg:npm/b'",
        "DELETE FROM analysis",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(sa.text(statement))
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT state FROM analysis_entry")).scalar_one() == "in_triage"


def test_0022_rebuilds_every_exposure_with_its_steps(empty_db_url: str) -> None:
    """Rows built before 0022 have no steps: the upgrade clears every build state, and the next report
    rebuilds the rows as they were, now with them (a downgrade drops the column only)."""
    db = Database.open(empty_db_url)
    try:
        db.upgrade()
        build_fleet(db, 4)
        ensure_exposures(db, "bench")
        with db.read() as session:
            built = sorted(stored_exposures(session, organization_id(session, "bench")), key=repr)
        assert any(r.steps for r in built)
        with db.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0021")
            assert conn.execute(sa.text("SELECT count(*) FROM exposure_state")).scalar_one() == 4
        db.upgrade()
        with db.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM exposure_state")).scalar_one() == 0
            steps = conn.execute(sa.text("SELECT DISTINCT CAST(version_steps AS TEXT) FROM exposure")).all()
        assert [r[0] for r in steps] == ["[]"]
        assert ensure_exposures(db, "bench") == 4
        with db.read() as session:
            again = sorted(stored_exposures(session, organization_id(session, "bench")), key=repr)
        assert again == built
        assert [r.steps for r in again] == [r.steps for r in built]
    finally:
        db.dispose()
