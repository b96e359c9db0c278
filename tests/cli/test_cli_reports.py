"""``patchgap demo``, ``report``, ``vex`` and ``sla`` through typer's CliRunner on SQLite and PostgreSQL.

The report documents themselves are pinned by tests/pipeline/test_exposures_demo.py; here: the CLI
prints exactly the pipeline's JSON, the CSV header contract, tables, and errors as ``error: …`` exit 2.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner, Result

from cli.main import app
from cli.report import CSV_FIELDS
from pipeline.exposures.reports import deploy_time_json, exposures_report
from store.db import Database

AS_OF = "2024-09-02T00:00:00Z"
VEX = (
    Path(__file__).resolve().parents[2] / "sbom_samples" / "demo-fleet" / "vex" / "admin-portal.openvex.json"
)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_demo_then_reports_in_every_format(db_url: str) -> None:
    loaded = run("--db", db_url, "demo", "--org", "fleet")
    assert loaded.exit_code == 0, loaded.output
    assert "117 snapshots created" in loaded.stdout
    again = run("--db", db_url, "demo", "--org", "fleet")
    assert "0 snapshots created, 117 unchanged" in again.stdout

    as_json = run(
        "--db", db_url, "report", "exposures", "--org", "fleet", "--status", "all", "--as-of", AS_OF
    )
    assert as_json.exit_code == 0, as_json.output
    db = Database.open(db_url)
    try:
        moment = datetime(2024, 9, 2, tzinfo=UTC)
        assert json.loads(as_json.stdout) == exposures_report(db, "fleet", "all", moment)
        # Streamed row by row, yet byte for byte the document printed whole (``json.dumps``, indent 2),
        # for every status, at the newest snapshot and before it (the two paths of the list).
        for status in ("open", "resolved", "all", "excluded"):
            for when, text in ((moment, AS_OF), (datetime(2024, 5, 15, tzinfo=UTC), "2024-05-15T00:00:00Z")):
                streamed = run(
                    "--db",
                    db_url,
                    "report",
                    "exposures",
                    "--org",
                    "fleet",
                    "--status",
                    status,
                    "--as-of",
                    text,
                )
                assert (
                    streamed.stdout
                    == json.dumps(exposures_report(db, "fleet", status, when), indent=2) + "\n"
                )
        deploy = run("--db", db_url, "report", "deploy-time", "--org", "fleet", "--as-of", AS_OF)
        assert json.loads(deploy.stdout) == deploy_time_json(db, "fleet", moment)
    finally:
        db.dispose()

    as_csv = run("--db", db_url, "report", "exposures", "--org", "fleet", "--format", "csv", "--as-of", AS_OF)
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert tuple(rows[0]) == CSV_FIELDS
    assert sorted(r[0] for r in rows[1:]) == ["billing-api", "legacy-batch"]  # the two open exposures

    table = run(
        "--db", db_url, "report", "deploy-time", "--org", "fleet", "--format", "table", "--as-of", AS_OF
    )
    assert table.exit_code == 0, table.output
    assert "stale: legacy-batch" in table.stdout
    counts = (
        "2 open, 9 upgraded, 1 removed, 0 decommissioned; "
        "1 excluded by triage (1 not_affected, 0 false_positive)"
    )
    assert counts in table.stdout

    listed = run("--db", db_url, "vex", "list", "--org", "fleet", "--format", "json")
    assert [s["vuln_group"] for s in json.loads(listed.stdout)] == ["CVE-2022-25883"]


def test_vex_import_and_sla_set_show(db_url: str, tmp_path: Path) -> None:
    imported = run("--db", db_url, "vex", "import", VEX, "--org", "acme")
    assert imported.exit_code == 0, imported.output
    assert "1 statements (1 not_affected)" in imported.stdout

    assert run("--db", db_url, "sla", "set", "--org", "acme", "--tier", "critical=5").exit_code == 0
    shown = run("--db", db_url, "sla", "show", "--org", "acme", "--json")
    tiers = {t["name"]: t["days"] for t in json.loads(shown.stdout)["tiers"]}
    assert tiers["critical"] == 5.0

    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"tiers": [{"name": "all", "days": 10}]}), encoding="utf-8")
    assert run("--db", db_url, "sla", "set", "--org", "acme", policy).exit_code == 0
    assert "all" in run("--db", db_url, "sla", "show", "--org", "acme").stdout


def test_errors_are_one_line_and_exit_2(db_url: str, tmp_path: Path) -> None:
    run("--db", db_url, "db", "upgrade")
    missing = run("--db", db_url, "report", "exposures", "--org", "nobody")
    assert missing.exit_code == 2
    assert missing.stderr.startswith("error: organization 'nobody' does not exist")
    bad = tmp_path / "bad.json"
    bad.write_text('{"tiers": [{"name": "x", "days": -1}]}', encoding="utf-8")
    refused = run("--db", db_url, "sla", "set", "--org", "acme", bad)
    assert refused.exit_code == 2
    assert refused.stderr.startswith(f"error: {bad}: tier 1 (x): 'days' must be a positive number")
    tier = run("--db", db_url, "sla", "set", "--org", "acme", "--tier", "nope=3")
    assert tier.exit_code == 2
    assert "unknown tier(s) nope" in tier.stderr
    not_vex = tmp_path / "x.json"
    not_vex.write_text("{}", encoding="utf-8")
    wrong = run("--db", db_url, "vex", "import", not_vex, "--org", "acme")
    assert wrong.exit_code == 2
    assert wrong.stderr.startswith(f"error: {not_vex}: neither an OpenVEX document")
