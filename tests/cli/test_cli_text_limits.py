"""Text that breaks storage, through ``patchgap``, on SQLite and PostgreSQL alike (issue 12, items 5, 6).

A NUL in an SBOM refuses it (one line, exit 2, nothing written); in an advisory record it skips that
record and the folder imports; in a KEV, EPSS, VEX or SLA file it refuses the file. Values over the
limits of ``core.text`` keep an SBOM component as not assessable, and skip an advisory record. Never a
traceback, and what was stored before is unchanged.
"""

from __future__ import annotations

import json
import random
import string
import subprocess
import sys
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


def osv(record_id: str, name: str = "demo", **extra: object) -> str:
    return json.dumps(
        {
            "id": record_id,
            "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "PyPI", "name": name}, "versions": ["1.0"]}],
            **extra,
        }
    )


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
    assert (
        run("--db", db_url, "ingest", "--create-org", good, "--org", "acme", "--system", "shop").exit_code
        == 0
    )
    before = listing(db_url, "snapshots", "list", "--org", "acme", "--system", "shop")

    bad = tmp_path / f"bad.{fmt}"
    bad.write_bytes(BUILDERS[fmt]([GOOD, ("bad\x00name", "1.0", "pkg:pypi/bad@1.0")]))
    newer = tmp_path / "newer.sbom"
    newer.write_bytes(cyclonedx_json([GOOD, ("other", "2.0", "pkg:pypi/other@2.0")]))
    # Alone, and after a good file of the same command: all files of one ingest land or none.
    for files in ([bad], [newer, bad]):
        result = run("--db", db_url, "ingest", "--create-org", *files, "--org", "acme", "--system", "shop")
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
    result = run("--db", db_url, "ingest", "--create-org", sbom, "--org", "acme", "--system", "shop")
    assert result.exit_code == 0, result.output
    assert "created" in result.stdout
    assert "4 components (3 not assessable)" in result.stdout
    check = listing(db_url, "sbom", "check", str(sbom))
    assert "not assessable: 3 (too-long 3)" in check
    assert "component-too-long" in check
    again = run("--db", db_url, "ingest", "--create-org", sbom, "--org", "acme", "--system", "shop")
    assert again.exit_code == 0, again.output
    assert "unchanged" in again.stdout


def test_an_osv_folder_imports_around_records_it_cannot_store(db_url: str, tmp_path: Path) -> None:
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "PYSEC-0.json").write_text(osv("PYSEC-0", summary="stored before"))
    assert run("--db", db_url, "advisories", "import", earlier).exit_code == 0
    before = listing(db_url, "advisories", "show", "PYSEC-0", "--json")

    folder = tmp_path / "osv"
    folder.mkdir()
    (folder / "PYSEC-1.json").write_text(osv("PYSEC-1"))
    (folder / "PYSEC-2.json").write_text(osv("PYSEC-2", summary="a\x00b"))  # json.dumps writes \u0000
    (folder / "PYSEC-3.yaml").write_text('id: PYSEC-3\nmodified: "2024-01-01T00:00:00Z"\ndetails: "a\\0b"\n')
    (folder / "PYSEC-4.json").write_text(osv("PYSEC-4", name=noise(3000, 4)))
    (folder / "PYSEC-5.json").write_text(osv("PYSEC-" + "5" * 300))
    (folder / "PYSEC-6.json").write_text(osv("PYSEC-6", aliases=["CVE-2024-" + "6" * 300]))
    (folder / "PYSEC-7.json").write_text(osv("PYSEC-7").replace("00:00:00Z", "00:00:00." + "0" * 100 + "Z"))
    (folder / "PYSEC-0.json").write_text(
        osv("PYSEC-0", summary="changed \x00", modified="2025-01-01T00:00:00Z")
    )

    result = run("--db", db_url, "advisories", "import", folder)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "osv: 1 created, 0 updated, 0 unchanged, 0 withdrawn, 7 skipped" in lines[0]
    skipped = {line for line in lines if line.startswith("skipped ")}
    assert skipped == {
        "skipped 2: summary contains a NUL character (\\u0000)",  # PYSEC-2 and the newer PYSEC-0
        "skipped 1: details contains a NUL character (\\u0000)",
        "skipped 1: affected[0].package.name is 3000 bytes long (UTF-8), more than the limit of 512",
        "skipped 1: id has 306 characters, more than the limit of 255",
        "skipped 1: aliases[0] has 309 characters, more than the limit of 255",
        "skipped 1: modified has 121 characters, more than the limit of 64",
    }
    assert sum(int(line.split()[1].rstrip(":")) for line in lines if line.startswith("skipped ")) == 7
    assert listing(db_url, "advisories", "show", "PYSEC-0", "--json") == before
    assert "PYSEC-1" in listing(db_url, "advisories", "show", "PYSEC-1")
    stats = json.loads(listing(db_url, "advisories", "stats", "--json"))
    assert sum(row["records"] for row in stats["by_source_ecosystem"]) == 2


def test_feed_vex_and_sla_files_holding_a_nul_are_refused(db_url: str, tmp_path: Path) -> None:
    kev = tmp_path / "kev.json"
    kev.write_text(
        json.dumps(
            {
                "catalogVersion": "1",
                "dateReleased": "2024-01-01T00:00:00Z",
                "vulnerabilities": [{"cveID": "CVE-2024-1", "dateAdded": "2024-01-01", "notes": "a\x00"}],
            }
        )
    )
    epss_nul = tmp_path / "nul.csv"
    epss_nul.write_bytes(b"#model_version:v\x001,score_date:2024-01-01T00:00:00+0000\ncve,epss,percentile\n")
    epss_cve = tmp_path / "cve.csv"
    epss_cve.write_text("cve,epss,percentile\nCVE-2024-" + "1" * 60 + ",0.1,0.2\n")
    vex = tmp_path / "vex.json"
    vex.write_text(
        json.dumps(
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "@id": "doc",
                "author": "a",
                "timestamp": "2024-01-01T00:00:00Z",
                "version": 1,
                "statements": [
                    {
                        "vulnerability": {"name": "CVE-2024-1\x00"},
                        "products": [{"@id": "pkg:pypi/a"}],
                        "status": "fixed",
                    }
                ],
            }
        )
    )
    sla = tmp_path / "sla.json"
    sla.write_text(json.dumps({"tiers": [{"name": "a\x00", "days": 7}]}))
    stats = listing(db_url, "advisories", "stats", "--json")
    for args, source, reason in (
        (("advisories", "import", kev), kev, "vulnerabilities[0].notes contains a NUL character (\\u0000)"),
        (
            ("advisories", "import", epss_nul),
            epss_nul,
            "the feed's version contains a NUL character (\\u0000)",
        ),
        (("advisories", "import", epss_cve), epss_cve, "CVE id CVE-2024-1111"),
        (
            ("vex", "import", vex, "--org", "acme", "--create-org"),
            vex,
            "statements[0].vulnerability.name contains a NUL",
        ),
        (("sla", "set", sla, "--org", "acme"), sla, "tiers[0].name contains a NUL character (\\u0000)"),
    ):
        assert_one_line_refusal(run("--db", db_url, *args), source, reason)
    assert listing(db_url, "advisories", "stats", "--json") == stats


def test_an_argument_that_is_not_utf8_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """Python hands undecodable argv bytes on as lone surrogates, which no database driver encodes."""
    db = f"sqlite:///{tmp_path / 'p.db'}"
    command = [sys.executable, "-c", "from cli.main import main; main()"]
    args = [
        b"--db",
        db.encode(),
        b"keys",
        b"create",
        b"--org",
        b"acme",
        b"--role",
        b"reader",
        b"--name",
        b"a\xffb",
    ]
    result = subprocess.run(
        [*command, *args], capture_output=True, cwd=Path(__file__).parents[2], check=False
    )
    assert result.returncode == 2
    assert result.stderr == b"error: command line: argument 'a\\udcffb' is not UTF-8 text\n"
