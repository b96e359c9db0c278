"""``patchgap orgs`` and the CRA commands of ``patchgap export`` through typer's CliRunner, both databases."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner, Result

from cli.main import app
from pipeline.advisories.importing import import_advisories
from pipeline.advisories.sources import open_path
from pipeline.exports import export
from pipeline.ingest import ingest_sbom
from pipeline.match import match_new
from store.db import Database
from tests.conftest import cyclonedx_json

ROOT = Path(__file__).resolve().parents[2]
AKRITES = ROOT / "sbom_samples" / "advisories" / "akrites"
PSR7 = "AKRITES-SAMPLE-2026-0004"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def portal_with_exploited_psr7(db: Database) -> None:
    data = cyclonedx_json(
        [("guzzlehttp/psr7", "1.9.0", "pkg:composer/guzzlehttp/psr7@1.9.0")], timestamp="2026-04-01T00:00:00Z"
    )
    ingest_sbom(db, org="maker", system="portal", data=data, source="portal.json", max_bytes=1_000_000)
    import_advisories(db, open_path(AKRITES, "akrites"), source="akrites", origin=str(AKRITES))
    match_new(db)


def test_orgs_list_and_set_the_manufacturer_flag(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        portal_with_exploited_psr7(db)
    finally:
        db.dispose()
    listed = run("--db", db_url, "orgs", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [(o["name"], o["manufacturer"], o["systems"]) for o in json.loads(listed.stdout)] == [
        ("maker", False, 1)
    ]
    refused = run("--db", db_url, "export", "cra-register", "--org", "maker")
    assert refused.exit_code == 2
    assert "not marked as a manufacturer" in refused.output
    assert "patchgap orgs set maker --manufacturer" in refused.output

    marked = run("--db", db_url, "orgs", "set", "maker", "--manufacturer")
    assert marked.exit_code == 0, marked.output
    assert marked.stdout.strip() == "maker: manufacturer"
    table = run("--db", db_url, "orgs", "list")
    assert table.stdout.split("\n")[3].split()[:3] == ["maker", "yes", "1"]

    unknown = run("--db", db_url, "orgs", "set", "makr", "--manufacturer")
    assert unknown.exit_code == 2
    assert "organization 'makr' does not exist" in unknown.output
    nothing = run("--db", db_url, "orgs", "set", "maker")
    assert nothing.exit_code == 2
    assert "--manufacturer or --no-manufacturer" in nothing.output
    assert run("--db", db_url, "orgs", "set", "maker", "--no-manufacturer").exit_code == 0
    assert json.loads(run("--db", db_url, "orgs", "list", "--json").stdout)[0]["manufacturer"] is False


def test_cra_case_and_register_commands(db_url: str, tmp_path: Path) -> None:
    db = Database.open(db_url)
    try:
        portal_with_exploited_psr7(db)
        assert run("--db", db_url, "orgs", "set", "maker", "--manufacturer").exit_code == 0
        case = run(
            "--db", db_url, "export", "cra-case", "set", "--org", "maker", "--system", "portal",
            "--vulnerability", PSR7, "--aware-at", "2026-04-08T00:00:00Z", "--note", "vendor mail",
            "--early-warning-at", "2026-04-08T12:00:00+02:00", "--mitigation", "WAF rule",
            "--mitigation", "disable redirects",
        )  # fmt: skip
        assert case.exit_code == 0, case.output
        shown = json.loads(case.stdout)
        assert (shown["awareness_at"], shown["early_warning_at"]) == (
            "2026-04-08T00:00:00Z",
            "2026-04-08T10:00:00Z",
        )
        assert shown["mitigations"] == ["WAF rule", "disable redirects"]
        listed = json.loads(run("--db", db_url, "export", "cra-case", "list", "--org", "maker").stdout)
        assert listed == [shown]

        out = tmp_path / "register.json"
        written = run(
            "--db", db_url, "export", "cra-register", "--org", "maker", "--to", "2026-05-01", "-o", str(out)
        )
        assert written.exit_code == 0, written.output
        # The file is the pipeline's document for the same moment.
        assert (
            out.read_bytes()
            == export(db, "maker", "cra-register", as_of=datetime(2026, 5, 1, tzinfo=UTC)).content
        )
        doc = json.loads(out.read_bytes())
        assert doc["as_of"] == "2026-05-01T00:00:00Z"
        (record,) = doc["records"]
        assert (record["vulnerability"], record["awareness_source"], record["early_warning"]["status"]) == (
            PSR7,
            "user",
            "met",
        )

        csv_out = tmp_path / "register.csv"
        result = run(
            "--db", db_url, "export", "cra-register", "--org", "maker", "--format", "csv", "-o", str(csv_out)
        )
        assert result.exit_code == 0, result.output
        rows = list(csv.DictReader(io.StringIO(csv_out.read_text())))
        assert [(r["product"], r["mitigations"]) for r in rows] == [
            ("portal", "WAF rule | disable redirects")
        ]
    finally:
        db.dispose()
    bad = run("--db", db_url, "export", "cra-register", "--org", "maker", "--format", "xml")
    assert bad.exit_code == 2
    assert "unknown format 'xml'" in bad.output
    nothing = run(
        "--db",
        db_url,
        "export",
        "cra-case",
        "set",
        "--org",
        "maker",
        "--system",
        "portal",
        "--vulnerability",
        PSR7,
    )
    assert nothing.exit_code == 2
    assert "nothing to set" in nothing.output
    missing = run(
        "--db", db_url, "export", "cra-case", "set", "--org", "maker", "--system", "portal",
        "--vulnerability", "CVE-1999-0001", "--note", "x",
    )  # fmt: skip
    assert missing.exit_code == 2
    assert "no stored advisory has this id or alias" in missing.output
