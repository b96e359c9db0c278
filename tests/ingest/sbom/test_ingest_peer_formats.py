"""syft JSON and SPDX 2.1 through ``patchgap ingest`` as a user runs it, on SQLite and PostgreSQL:
stored once, "unchanged" on re-ingest, refused whole with the reader's message."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from cli.main import app
from pipeline.ingest import NO_TIMESTAMP
from tests.ingest.sbom.test_sbom_spdx_tagvalue import SPDX_21

SAMPLES = Path(__file__).resolve().parent / "samples"
SYFT = SAMPLES / "syft-16-python-alpine.syft.json"
USBUTILS = SAMPLES / "usbutils.spdx"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def snapshot_rows(db_url: str, system: str) -> list[list[str]]:
    listed = run("--db", db_url, "snapshots", "list", "--org", "acme", "--system", system)
    assert listed.exit_code == 0, listed.output
    return [line.split() for line in listed.stdout.splitlines() if line.strip()[:1].isdigit()]


def test_syft_json_ingests_once_with_an_observation_time(db_url: str) -> None:
    refused = run("--db", db_url, "ingest", "--create-org", SYFT, "--org", "acme", "--system", "py")
    assert (refused.exit_code, refused.stdout) == (2, "")
    assert refused.stderr == f"error: {SYFT}: {NO_TIMESTAMP}\n"

    given = ("--org", "acme", "--system", "py", "--observed-at", "2026-12-01T10:00:00Z")
    first = run("--db", db_url, "ingest", "--create-org", SYFT, *given)
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith(
        f"{SYFT}: created snapshot 1 observed 2026-12-01T10:00:00+00:00, 5 components (1 not assessable), "
        "8 quality flags"
    )
    again = run("--db", db_url, "ingest", "--create-org", SYFT, *given)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith(f"{SYFT}: unchanged snapshot 1 ")

    (row,) = snapshot_rows(db_url, "py")
    assert row[1:8] == ["2026-12-01", "10:00:00Z", "syft-json", "16.0.7", "5", "1", "1"]


def test_spdx_2_1_tag_value_ingests_once_at_its_own_time(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "gateway.spdx"
    path.write_text(SPDX_21, encoding="utf-8")
    first = run("--db", db_url, "ingest", "--create-org", path, "--org", "acme", "--system", "gateway")
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith(
        f"{path}: created snapshot 1 observed 2019-03-01T08:00:00+00:00, 2 components (1 not assessable)"
    )
    again = run("--db", db_url, "ingest", "--create-org", path, "--org", "acme", "--system", "gateway")
    assert again.stdout.startswith(f"{path}: unchanged snapshot 1 ")

    (row,) = snapshot_rows(db_url, "gateway")
    assert row[3:7] == ["spdx-tag-value", "2.1", "2", "1"]


def test_a_refused_file_among_good_ones_writes_nothing(db_url: str) -> None:
    result = run(
        "--db",
        db_url,
        "ingest",
        "--create-org",
        SYFT,
        USBUTILS,
        "--org",
        "acme",
        "--system",
        "py",
        "--observed-at",
        "2026-12-01",
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {USBUTILS}: SBOM has no components: the SPDX document lists 105 files and no packages "
        "(patchgap reads packages)\n"
    )
    orgs = run("--db", db_url, "systems", "list", "--org", "acme")
    assert (orgs.exit_code, orgs.stderr) == (2, "error: organization 'acme' does not exist\n")
