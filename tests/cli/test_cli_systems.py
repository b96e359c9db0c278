"""``patchgap systems set|list|decommission|recommission|delete`` and the ``--owner`` / ``--tag`` report
filters, through typer's CliRunner on SQLite and PostgreSQL with the demo fleet."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner, Result

from cli.main import app
from pipeline.exposures.reports import SystemFilter, exposures_report
from store.db import Database

AS_OF = "2024-09-02T00:00:00Z"
LEGACY = Path(__file__).resolve().parents[2] / "sbom_samples" / "demo-fleet" / "legacy-batch"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_systems_lifecycle_and_filters(db_url: str) -> None:
    assert run("--db", db_url, "demo", "--org", "fleet").exit_code == 0
    done = run(
        "--db", db_url, "systems", "set", "billing-api", "--org", "fleet",
        "--owner", "payments@example.com", "--tag", "pci", "--tag", "team:pay", "--criticality", "high",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "owner payments@example.com, tags pci, team:pay" in done.stdout
    assert "criticality high" in done.stdout
    bad = run("--db", db_url, "systems", "set", "billing-api", "--org", "fleet", "--tag", "PCI")
    assert (bad.exit_code, "tags: tag 'PCI'" in bad.stderr) == (2, True)
    untagged = run("--db", db_url, "systems", "set", "billing-api", "--org", "fleet", "--untag", "team:pay")
    assert "tags pci" in untagged.stdout

    listed = run("--db", db_url, "systems", "list", "--org", "fleet", "--tag", "pci")
    assert "billing-api" in listed.stdout
    assert "shop-web" not in listed.stdout
    # Nine columns in 120: the owner folds inside its column ("payments@exampl" / "e.com").
    assert "payments@" in listed.stdout
    assert max(len(line) for line in listed.stdout.splitlines()) <= 120

    as_csv = run(
        "--db", db_url, "report", "exposures", "--org", "fleet", "--status", "all", "--format", "csv",
        "--as-of", AS_OF, "--owner", "PAYMENTS@example.com",
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert rows
    assert {(r["system"], r["owner"], r["tags"]) for r in rows} == {
        ("billing-api", "payments@example.com", "pci")
    }
    as_json = run(
        "--db", db_url, "report", "exposures", "--org", "fleet", "--status", "all", "--as-of", AS_OF,
        "--tag", "pci",
    )  # fmt: skip
    db = Database.open(db_url)
    try:
        moment = datetime(2024, 9, 2, tzinfo=UTC)
        only = SystemFilter.of(None, ["pci"])
        assert json.loads(as_json.stdout) == exposures_report(db, "fleet", "all", moment, only=only)
    finally:
        db.dispose()
    deploy = run("--db", db_url, "report", "deploy-time", "--org", "fleet", "--as-of", AS_OF, "--tag", "pci")
    assert set(json.loads(deploy.stdout)["breakdowns"]["system"]) == {"billing-api"}
    plan = run(
        "--db",
        db_url,
        "plan",
        "--org",
        "fleet",
        "--as-of",
        AS_OF,
        "--tag",
        "nothing-has-it",
        "--format",
        "json",
    )
    assert json.loads(plan.stdout)["total_actions"] == 0

    early = run(
        "--db", db_url, "systems", "decommission", "legacy-batch", "--org", "fleet", "--at", "2024-05-01"
    )
    assert early.exit_code == 2
    assert "before its last snapshot" in early.stderr
    retired = run(
        "--db", db_url, "systems", "decommission", "legacy-batch", "--org", "fleet", "--at", "2024-06-10"
    )
    assert retired.exit_code == 0, retired.output
    refused = run(
        "--db",
        db_url,
        "ingest",
        "--create-org",
        "--org",
        "fleet",
        "--system",
        "legacy-batch",
        LEGACY / "legacy-batch-2024-05-27.cdx.json",
    )
    assert refused.exit_code == 2
    assert "patchgap systems recommission legacy-batch" in refused.stderr
    listed = run("--db", db_url, "systems", "list", "--org", "fleet")
    assert "2024-06-10" in listed.stdout  # the time folds onto the cell's next line in 120 columns
    assert run("--db", db_url, "systems", "recommission", "legacy-batch", "--org", "fleet").exit_code == 0

    unconfirmed = run("--db", db_url, "systems", "delete", "legacy-batch", "--org", "fleet")
    assert unconfirmed.exit_code == 2
    assert "13 snapshot(s), 2 exposure row(s)" in unconfirmed.stderr
    deleted = run("--db", db_url, "systems", "delete", "legacy-batch", "--org", "fleet", "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert "legacy-batch" not in run("--db", db_url, "systems", "list", "--org", "fleet").stdout
    missing = run("--db", db_url, "systems", "delete", "legacy-batch", "--org", "fleet", "--yes")
    assert missing.exit_code == 2
