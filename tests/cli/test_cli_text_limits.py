"""Text that breaks storage, through ``patchgap``, on SQLite and PostgreSQL alike (issue 12, items 5, 6).

A NUL in an SBOM refuses it (one line, exit 2, nothing written); in an advisory record it skips that
record and the folder imports; in a KEV, EPSS, VEX or SLA file it refuses the file. Values over the
limits of ``core.text`` keep an SBOM component as not assessable, and skip an advisory record. Never a
traceback, and what was stored before is unchanged.
"""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from tests.ingest.sbom.documents import BUILDERS, cyclonedx_json

GOOD = ("good", "1.0", "pkg:pypi/good@1.0")


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def noise(n: int, seed: int) -> str:
    """Text that does not compress (PostgreSQL compresses index entries: "x" * 3000 would fit)."""
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def listing(db_url: str, *args: str) -> str:
    result = run("--db", db_url, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def assert_one_line_refusal(result: Result, source: Path, reason: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith(f"error: {source}: {reason}")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("fmt", sorted(BUILDERS))
def test_ingest_of_an_sbom_holding_a_nul_exits_2_and_writes_nothing(
    db_url: str, tmp_path: Path, fmt: str
) -> None:
    good = tmp_path / "good.sbom"
    good.write_bytes(cyclonedx_json([GOOD]))
    assert run("--db", db_url, "ingest", good, "--org", "acme", "--system", "shop").exit_code == 0
    before = listing(db_url, "snapshots", "list", "--org", "acme", "--system", "shop")

    bad = tmp_path / f"bad.{fmt}"
    bad.write_bytes(BUILDERS[fmt]([GOOD, ("bad\x00name", "1.0", "pkg:pypi/bad@1.0")]))
    newer = tmp_path / "newer.sbom"
    newer.write_bytes(cyclonedx_json([GOOD, ("other", "2.0", "pkg:pypi/other@2.0")]))
    # Alone, and after a good file of the same command: all files of one ingest land or none.
    for files in ([bad], [newer, bad]):
        result = run("--db", db_url, "ingest", *files, "--org", "acme", "--system", "shop")
        reason = {
            "cyclonedx-json": "components[1].name contains a NUL character (\\u0000)",
            "spdx-json": "packages[1].name contains a NUL character (\\u0000)",
            "spdx3": "@graph[2].name contains a NUL character (\\u0000)",
            "spdx-tag-value": "line 14 contains a NUL character (\\u0000)",
            "cyclonedx-xml": "malformed XML at line 2",
        }[fmt]
        assert_one_line_refusal(result, bad, reason)
    assert listing(db_url, "snapshots", "list", "--org", "acme", "--system", "shop") == before
    assert listing(db_url, "systems", "list", "--org", "acme").count("shop") == 1


def test_ingest_keeps_over_long_components_not_assessable(db_url: str, tmp_path: Path) -> None:
    sbom = tmp_path / "long.cdx.json"
    sbom.write_bytes(
        cyclonedx_json(
            [
                GOOD,
                ("purl", "1.0", "pkg:npm/" + noise(3000, 1) + "@1.0"),
                (noise(2000, 2), "1.0", "pkg:pypi/named@1.0"),
                ("versioned", noise(2000, 3), "pkg:pypi/versioned@" + noise(2000, 3)),
            ]
        )
    )
    result = run("--db", db_url, "ingest", sbom, "--org", "acme", "--system", "shop")
    assert result.exit_code == 0, result.output
    assert "created" in result.stdout
    assert "4 components (3 not assessable)" in result.stdout
    check = listing(db_url, "sbom", "check", str(sbom))
    assert "not assessable: 3 (too-long 3)" in check
    assert "component-too-long" in check
    again = run("--db", db_url, "ingest", sbom, "--org", "acme", "--system", "shop")
    assert again.exit_code == 0, again.output
    assert "unchanged" in again.stdout
