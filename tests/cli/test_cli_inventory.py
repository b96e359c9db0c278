"""``patchgap systems list`` (sort, limit, streamed JSON) and ``patchgap components search`` on the demo
fleet, through typer's CliRunner on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from cli.main import app
from pipeline.lists.components import ComponentQuery, iter_components
from pipeline.lists.systems import SystemQuery, iter_systems
from store.db import Database


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_systems_list_sorts_limits_and_streams_json(db_url: str) -> None:
    assert run("--db", db_url, "demo", "--org", "fleet").exit_code == 0
    as_json = run("--db", db_url, "systems", "list", "--org", "fleet", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.stdout)
    db = Database.open(db_url)
    try:
        assert [r["name"] for r in rows] == [r.system.name for r in iter_systems(db, "fleet")]
        by_open = [
            r.to_json()
            for r in iter_systems(db, "fleet", SystemQuery(sort="open_exposures", descending=True))
        ]
        # Streamed JSON is the pipeline's rows as they are, and the sort options reach it.
        sorted_json = run(
            "--db", db_url, "systems", "list", "--org", "fleet", "--format", "json",
            "--sort", "open_exposures", "--desc",
        )  # fmt: skip
        assert json.loads(sorted_json.stdout)[: len(by_open)] == by_open
    finally:
        db.dispose()
    assert len(rows) == 5
    assert {"stale", "open_exposures", "open_kev"} <= set(rows[0])
    assert any(r["open_exposures"] for r in rows)
    table = run("--db", db_url, "systems", "list", "--org", "fleet", "--limit", "2")
    assert table.exit_code == 0, table.output
    assert "2 of 5 systems shown" in table.stdout
    assert "admin-portal" in table.stdout
    assert "shop-web" not in table.stdout
    limited = run("--db", db_url, "systems", "list", "--org", "fleet", "--format", "json", "--limit", "1")
    assert [r["name"] for r in json.loads(limited.stdout)] == ["admin-portal"]
    bad = run("--db", db_url, "systems", "list", "--org", "fleet", "--sort", "size")
    assert bad.exit_code == 2
    assert "sort:" in bad.stderr


def test_components_search(db_url: str) -> None:
    assert run("--db", db_url, "demo", "--org", "fleet").exit_code == 0
    versions = run("--db", db_url, "components", "search", "express", "--org", "fleet")
    assert versions.exit_code == 0, versions.output
    assert "pkg:npm/express" in versions.stdout
    as_json = run("--db", db_url, "components", "search", "lodash", "--org", "fleet", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    db = Database.open(db_url)
    try:
        expected = [r.to_json() for r in iter_components(db, "fleet", ComponentQuery.of("lodash"))]
    finally:
        db.dispose()
    assert json.loads(as_json.stdout) == expected
    assert expected
    listed = run(
        "--db", db_url, "components", "search", "lodash", "--org", "fleet", "--systems", "--sort", "system"
    )
    assert expected[0]["system"] in listed.stdout
    bad = run("--db", db_url, "components", "search", "lodash", "--org", "fleet", "--version", "<~1")
    assert bad.exit_code == 2
    assert "version:" in bad.stderr
    nothing = run("--db", db_url, "components", "search", "lodash", "--org", "fleet", "--version", "<0.0.1")
    assert "no system of 'fleet' runs 'lodash'" in nothing.stdout
