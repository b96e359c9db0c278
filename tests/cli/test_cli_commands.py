"""The ``patchgap`` commands through typer's CliRunner, against SQLite files and PostgreSQL schemas."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from pipeline.ingest import NO_TIMESTAMP
from store.db import Database
from store.migrate import head_revision
from store.queries.organizations import find_organization

SAMPLES = Path(__file__).resolve().parents[2] / "sbom_samples"
PROTON = sorted((SAMPLES / "proton-bridge").glob("*.json"))
LARAVEL = SAMPLES / "laravel" / "laravel-7.12.0.cdx.xml"
CycloneDx = Callable[..., bytes]  # the conftest fixture ``cyclonedx``


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def org_exists(url: str, name: str) -> bool:
    db = Database.open(url)
    try:
        with db.read() as session:
            return find_organization(session, name) is not None
    finally:
        db.dispose()


def test_ingest_then_again_lists_created_then_unchanged(db_url: str) -> None:
    first = run(
        "--db",
        db_url,
        "ingest",
        "--create-org",
        *PROTON,
        "--org",
        "demo",
        "--system",
        "bridge",
        "--env",
        "prod",
    )
    assert first.exit_code == 0, first.output
    assert [line.split(": ")[1].split()[0] for line in first.stdout.splitlines()] == ["created", "created"]
    assert "201 components (0 not assessable)" in first.stdout
    again = run("--db", db_url, "ingest", "--create-org", *PROTON, "--org", "demo", "--system", "bridge")
    assert again.exit_code == 0, again.output
    assert [line.split(": ")[1].split()[0] for line in again.stdout.splitlines()] == [
        "unchanged",
        "unchanged",
    ]

    systems = run("--db", db_url, "systems", "list", "--org", "demo")
    assert systems.exit_code == 0, systems.output
    row = next(line.split() for line in systems.stdout.splitlines() if "bridge" in line)
    assert row[:3] == ["bridge", "prod", "2"]

    snapshots = run("--db", db_url, "snapshots", "list", "--org", "demo", "--system", "bridge")
    assert snapshots.exit_code == 0, snapshots.output
    observed = [line.split()[1:3] for line in snapshots.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert observed == [["2021-05-16", "15:08:44Z"], ["2021-05-16", "15:10:53Z"]]


def test_first_ingest_into_an_empty_database_creates_the_schema(empty_db_url: str) -> None:
    result = run(
        "--db", empty_db_url, "ingest", "--create-org", PROTON[0], "--org", "demo", "--system", "bridge"
    )
    assert result.exit_code == 0, result.output
    assert "created" in result.stdout


def test_reading_commands_ask_for_db_upgrade_and_change_nothing(empty_db_url: str) -> None:
    result = run("--db", empty_db_url, "systems", "list", "--org", "demo")
    assert result.exit_code == 2
    assert result.stderr.endswith("run `patchgap db upgrade`\n")
    assert result.stderr.startswith("error: the database ")
    upgraded = run("--db", empty_db_url, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert f"is at schema {head_revision()} (current)" in upgraded.stdout
    after = run("--db", empty_db_url, "systems", "list", "--org", "demo")
    assert (after.exit_code, after.stderr) == (2, "error: organization 'demo' does not exist\n")


def test_a_file_without_timestamp_needs_observed_at(db_url: str) -> None:
    refused = run("--db", db_url, "ingest", "--create-org", LARAVEL, "--org", "demo", "--system", "laravel")
    assert refused.exit_code == 2
    assert refused.stderr == f"error: {LARAVEL}: {NO_TIMESTAMP}\n"
    assert refused.stdout == ""
    assert not org_exists(db_url, "demo")
    given = run(
        "--db",
        db_url,
        "ingest",
        "--create-org",
        LARAVEL,
        "--org",
        "demo",
        "--system",
        "laravel",
        "--observed-at",
        "2021-06-01",
    )
    assert given.exit_code == 0, given.output
    assert "observed 2021-06-01T00:00:00+00:00, 62 components" in given.stdout


def test_one_bad_file_among_many_writes_nothing_at_all(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_bytes(b'{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [')
    result = run(
        "--db", db_url, "ingest", "--create-org", *PROTON, bad, "--org", "demo", "--system", "bridge"
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {bad}: ")
    assert result.stderr.count("\n") == 1
    assert not org_exists(db_url, "demo")


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("missing.json", None, "no such file"),
        ("empty.json", b"", ""),
        ("dtd.xml", b'<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY a "x">]><bom/>', ""),
        ("list.json", b"[1, 2]", "unknown SBOM format"),
    ],
)
def test_unreadable_files_exit_2_with_one_line_naming_the_file(
    db_url: str, tmp_path: Path, name: str, content: bytes | None, problem: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = run("--db", db_url, "ingest", "--create-org", path, "--org", "demo", "--system", "s")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}: {problem}")
    assert result.stderr.count("\n") == 1
    assert not org_exists(db_url, "demo")


def test_the_size_limit_comes_from_the_environment(db_url: str) -> None:
    size = PROTON[0].stat().st_size
    result = run(
        "--db", db_url, "ingest", "--create-org", PROTON[0], "--org", "demo", "--system", "s",
        env={"PATCHGAP_MAX_SBOM_BYTES": str(size - 1)},
    )  # fmt: skip
    assert result.exit_code == 2
    assert "limit" in result.stderr
    assert not org_exists(db_url, "demo")


def test_another_environment_for_an_existing_system_is_refused(db_url: str) -> None:
    assert (
        run(
            "--db",
            db_url,
            "ingest",
            "--create-org",
            PROTON[0],
            "--org",
            "o",
            "--system",
            "s",
            "--env",
            "prod",
        ).exit_code
        == 0
    )
    result = run(
        "--db", db_url, "ingest", "--create-org", PROTON[1], "--org", "o", "--system", "s", "--env", "staging"
    )
    assert result.exit_code == 2
    assert "'prod', not 'staging'" in result.stderr


def test_an_invalid_observed_at_is_a_usage_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = run(
        "--db",
        url,
        "ingest",
        "--create-org",
        PROTON[0],
        "--org",
        "o",
        "--system",
        "s",
        "--observed-at",
        "last week",
    )
    assert result.exit_code == 2
    assert "not an ISO 8601" in result.output


def test_db_flag_wins_over_the_environment(tmp_path: Path) -> None:
    flag, env = f"sqlite:///{tmp_path / 'flag.db'}", f"sqlite:///{tmp_path / 'env.db'}"
    result = run(
        "--db",
        flag,
        "ingest",
        "--create-org",
        PROTON[0],
        "--org",
        "o",
        "--system",
        "s",
        env={"PATCHGAP_DATABASE_URL": env},
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "flag.db").exists()
    assert not (tmp_path / "env.db").exists()
    from_env = run(
        "ingest", "--create-org", PROTON[1], "--org", "o", "--system", "s", env={"PATCHGAP_DATABASE_URL": env}
    )
    assert from_env.exit_code == 0, from_env.output
    assert (tmp_path / "env.db").exists()


def test_an_unreachable_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run(
        "--db",
        "postgresql+psycopg://nobody@127.0.0.1:1/none",
        "ingest",
        "--create-org",
        PROTON[0],
        "--org",
        "o",
        "--system",
        "s",
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("error: database: ")
    assert result.stderr.count("\n") == 1


def test_sbom_check_shows_format_components_reasons_and_quality(tmp_path: Path, cyclonedx: CycloneDx) -> None:
    path = tmp_path / "app.cdx.json"
    path.write_bytes(
        cyclonedx(
            [
                ("requests", "2.31.0", "pkg:pypi/requests@2.31.0"),
                ("lodash", "4.17.21", "pkg:npm/lodash@4.17.21"),
                ("firmware", "1", None),
                ("blob", "2", "pkg:generic/blob@2"),
            ]
        )
    )
    result = run("sbom", "check", path)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "format:          cyclonedx-json 1.5" in out
    assert "components:      4" in out
    assert "assessable:    2 (npm 1, pypi 1)" in out
    assert "not assessable: 2 (no-purl 1, unsupported-ecosystem 1)" in out
    assert "component-no-purl" in out
    assert "outdated-spec" in out


def test_sbom_check_of_an_unreadable_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some text\n")
    result = run("sbom", "check", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}: ")


@pytest.mark.parametrize("moment", ["9999-12-31T00:00:00Z", "0001-01-01T00:00:00+08:00"])
def test_moments_outside_the_accepted_range_are_one_line_and_exit_2(
    db_url: str, tmp_path: Path, cyclonedx: CycloneDx, moment: str
) -> None:
    sbom = tmp_path / "a.json"
    sbom.write_bytes(cyclonedx([("requests", "2.0.0", "pkg:pypi/requests@2.0.0")]))
    refused = run(
        "--db", db_url, "ingest", "--create-org", sbom, "--org", "o", "--system", "s", "--observed-at", moment
    )
    assert refused.exit_code == 2, refused.output
    assert refused.stderr.startswith(f"error: {sbom}: observed_at ")
    assert refused.stderr.endswith("is outside the accepted range 1970-01-01 to 2200-01-01\n")
    assert not org_exists(db_url, "o")  # nothing was written
    assert run("--db", db_url, "ingest", "--create-org", sbom, "--org", "o", "--system", "s").exit_code == 0
    report = run("--db", db_url, "report", "deploy-time", "--org", "o", "--as-of", moment)
    assert report.exit_code == 2, report.output
    assert report.stderr.startswith("error: report: as_of ")
    assert report.stderr.endswith("is outside the accepted range 1970-01-01 to 2200-01-01\n")
