"""``patchgap ingest`` leaves snapshots matched; ``patchgap match`` and ``patchgap why`` on real data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from core.advisories import Advisory
from ingest.advisories.osv_files import OsvDirectory
from pipeline.advisories.importing import import_advisories
from store.db import Database
from store.migrate import upgrade

SAMPLES = Path(__file__).resolve().parents[2] / "sbom_samples"
JUICE = SAMPLES / "juice-shop" / "juice-shop-11.1.2.cdx.json"

pytestmark = pytest.mark.realdata


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def with_advisories(db_url: str, shared_data: Path) -> str:
    """A database holding the shared npm GHSA samples (imported through the advisory use-case)."""
    folder = shared_data / "advisories" / "distro-npm-samples" / "npm-ghsa"
    db = Database.open(db_url)
    try:
        upgrade(db.engine)
        records = [r for r in OsvDirectory(folder).records() if isinstance(r, Advisory)]
        import_advisories(db, records, source="osv")
    finally:
        db.dispose()
    return db_url


def test_ingest_matches_the_new_snapshot_then_match_has_nothing_new(with_advisories: str) -> None:
    ingested = run(
        "--db", with_advisories, "ingest", "--create-org", JUICE, "--org", "acme", "--system", "shop"
    )
    assert ingested.exit_code == 0, ingested.output
    summary = ingested.stderr.strip().splitlines()[-1]
    assert summary.startswith("matched ")
    words = summary.replace(",", "").split()
    assert int(words[1]) > 0  # "matched N new package versions: A affected, …"
    assert int(words[words.index("affected") - 1]) > 0

    again = run("--db", with_advisories, "match", "--org", "acme")
    assert again.exit_code == 0, again.output
    lines = again.stdout.splitlines()
    assert lines[0].startswith("matched 0 package versions")
    assert "organization 'acme'" in lines[1]
    assert any(line.startswith("system shop: latest snapshot") for line in lines)


def test_match_all_rematches_everything(with_advisories: str) -> None:
    run("--db", with_advisories, "ingest", "--create-org", JUICE, "--org", "acme", "--system", "shop")
    first = run("--db", with_advisories, "match", "--all")
    second = run("--db", with_advisories, "match", "--all")
    assert first.exit_code == 0, first.output
    evaluated = int(first.stdout.split()[1])
    assert evaluated > 0
    # Identical runs: same counts, and the totals line unchanged.
    assert second.stdout.splitlines()[1:] == first.stdout.splitlines()[1:]
    assert int(second.stdout.split()[1]) == evaluated


def test_why_text_and_json(with_advisories: str) -> None:
    run("--db", with_advisories, "ingest", "--create-org", JUICE, "--org", "acme", "--system", "shop")
    text = run("--db", with_advisories, "why", "--org", "acme", "--system", "shop", "pkg:npm/lodash@4.17.19")
    assert text.exit_code == 0, text.output
    assert "GHSA-35jh-r3h4-6jhm (osv)" in text.stdout
    assert "ECOSYSTEM range [introduced 0, fixed 4.17.21]" in text.stdout
    assert "upgrade suggestion: 4.17.21" in text.stdout

    raw = run(
        "--db",
        with_advisories,
        "why",
        "--org",
        "acme",
        "--system",
        "shop",
        "pkg:npm/lodash",
        "--format",
        "json",
    )
    assert raw.exit_code == 0, raw.output
    answers = json.loads(raw.stdout)
    assert {a["package"]["version"] for a in answers} == {"2.4.2", "4.17.19"}
    for answer in answers:
        assert answer["version_from"] == "deployed"
        groups = {v["group"]: v for v in answer["vulnerabilities"]}
        lodash = next(
            v for v in groups.values() if {"source": "osv", "id": "GHSA-35jh-r3h4-6jhm"} in v["advisories"]
        )
        assert lodash["matches"][0]["boundary"] == {"kind": "fixed", "value": "4.17.21"}
        assert answer["suggestion"]["status"] == "upgrade"
        assert answer["suggestion"]["version"] == "4.17.21"


def test_why_errors_are_one_line_exit_2(with_advisories: str) -> None:
    run("--db", with_advisories, "ingest", "--create-org", JUICE, "--org", "acme", "--system", "shop")
    missing = run("--db", with_advisories, "why", "--org", "acme", "--system", "nope", "pkg:npm/lodash")
    assert missing.exit_code == 2
    assert missing.stderr.startswith("error: system 'nope' does not exist")
    absent = run("--db", with_advisories, "why", "--org", "acme", "--system", "shop", "pkg:npm/left-pad")
    assert absent.exit_code == 2
    assert "no version of this package" in absent.stderr
    bad = run("--db", with_advisories, "why", "--org", "acme", "--system", "shop", "not-a-purl")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: not-a-purl")
