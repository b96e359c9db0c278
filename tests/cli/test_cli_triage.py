"""``patchgap triage set|list|history`` through typer's CliRunner on SQLite and PostgreSQL: decisions,
the history, refusals as one ``error:`` line with exit 2 and nothing written, and the reports after."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner, Result

from cli.main import app
from core.time import utcnow
from pipeline.triage import list_analyses
from store.db import Database
from tests.pipeline.test_triage import CVE, ORG, fleet


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def setup(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        fleet(db)
    finally:
        db.dispose()


def records(db_url: str) -> list[dict[str, object]]:
    db = Database.open(db_url)
    try:
        return list_analyses(db, ORG)
    finally:
        db.dispose()


def triage(db_url: str, *args: str) -> Result:
    return run("--db", db_url, "triage", "set", "--org", ORG, "--vulnerability", CVE, *args)


def test_set_list_history_and_the_reports(db_url: str) -> None:
    setup(db_url)
    first = triage(db_url, "--purl", "pkg:npm/left-pad", "--state", "in_triage", "--actor", "alice")
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == f"analysis 1: in_triage — {CVE} in pkg:npm/left-pad"
    second = triage(
        db_url,
        "--purl",
        "pkg:npm/left-pad@1.2.0",
        "--system",
        "web",
        "--state",
        "not_affected",
        "--justification",
        "code_not_reachable",
        "--impact",
        "only called at build time",
        "--actor",
        "bob",
        "--json",
    )
    assert second.exit_code == 0, second.output
    record = json.loads(second.stdout)
    assert (record["scope"], record["actor"], record["actor_role"], record["source"]) == (
        "system+version",
        "bob",
        "cli",
        "cli",
    )
    again = triage(db_url, "--purl", "pkg:npm/left-pad", "--state", "exploitable", "--comment", "confirmed")
    assert again.exit_code == 0, again.output

    listed = run("--db", db_url, "triage", "list", "--org", ORG, "--format", "json")
    assert [(r["id"], r["state"]) for r in json.loads(listed.stdout)] == [
        (1, "exploitable"),
        (2, "not_affected"),
    ]
    table = run("--db", db_url, "triage", "list", "--org", ORG, "--state", "not_affected")
    assert "pkg:npm/left-pad@1.2.0" in table.stdout  # "on web" wraps onto the cell's next line
    assert max(len(line) for line in table.stdout.splitlines()) <= 120
    assert "exploitable" not in table.stdout

    history = run("--db", db_url, "triage", "history", "--org", ORG, "1")
    assert history.exit_code == 0, history.output
    assert "(new) → in_triage" in history.stdout
    assert "in_triage → exploitable" in history.stdout
    assert "alice (cli, cli)" in history.stdout
    as_json = json.loads(
        run("--db", db_url, "triage", "history", "--org", ORG, "1", "--format", "json").stdout
    )
    assert [h["comment"] for h in as_json["history"]] == [None, "confirmed"]

    excluded = run(
        "--db", db_url, "report", "exposures", "--org", ORG, "--status", "excluded", "--format", "csv"
    )
    (row,) = list(csv.DictReader(io.StringIO(excluded.stdout)))
    assert (row["system"], row["resolution"], row["analysis_state"]) == (
        "web",
        "vex_not_affected",
        "not_affected",
    )
    opened = json.loads(run("--db", db_url, "report", "exposures", "--org", ORG).stdout)
    assert [(r["system"], r["analysis"]["state"]) for r in opened] == [("api", "exploitable")]
    deploy = run("--db", db_url, "report", "deploy-time", "--org", ORG, "--format", "table")
    assert (
        "1 excluded by triage (1 not_affected, 0 false_positive), 0 under an accepted risk" in deploy.stdout
    )


def test_bad_decisions_are_one_line_exit_2_and_write_nothing(db_url: str) -> None:
    setup(db_url)
    past = (utcnow() - timedelta(days=1)).date().isoformat()
    cases = [
        (("--purl", "pkg:npm/left-pad", "--state", "ignored"), "error: triage: unknown state 'ignored'"),
        (
            ("--purl", "pkg:npm/left-pad", "--state", "not_affected", "--justification", "because"),
            "error: triage: unknown justification 'because'",
        ),
        (
            ("--purl", "pkg:npm/left-pad", "--state", "accepted_risk"),
            "error: triage: accepted_risk needs an expiry",
        ),
        (
            ("--purl", "pkg:npm/left-pad", "--state", "accepted_risk", "--expires", past),
            "is not in the future",
        ),
        (
            ("--purl", "pkg:npm/left-pad", "--state", "accepted_risk", "--expires", "soon"),
            "error: --expires: 'soon'",
        ),
        (("--purl", "pkg:npm/react", "--state", "in_triage"), "does not run pkg:npm/react"),
        (
            ("--purl", "pkg:npm/left-pad", "--state", "in_triage", "--system", "nope"),
            "system 'nope' does not exist",
        ),
    ]
    for args, message in cases:
        result = triage(db_url, *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    assert records(db_url) == []
    missing = run("--db", db_url, "triage", "history", "--org", ORG, "7")
    assert (missing.exit_code, missing.stderr.strip()) == (
        2,
        "error: analysis 7 does not exist in organization 'acme'",
    )
    ahead = triage(db_url, "--purl", "pkg:npm/react", "--state", "in_triage", "--allow-unmatched")
    assert ahead.exit_code == 0, ahead.output
    later = (utcnow() + timedelta(days=40)).date().isoformat()
    risk = triage(
        db_url,
        "--purl",
        "pkg:npm/left-pad",
        "--state",
        "accepted_risk",
        "--expires",
        later,
        "--approver",
        "CISO",
    )
    assert risk.exit_code == 0, risk.output
    accepted = next(r for r in records(db_url) if r["state"] == "accepted_risk")
    assert (accepted["expires_at"], accepted["approver"]) == (f"{later}T00:00:00Z", "CISO")
