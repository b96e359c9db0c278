"""``patchgap plan`` on the demo fleet: JSON equals the use-case's document, CSV ids are stable."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from pipeline.demo import load_demo
from pipeline.plan import plan_json
from store.db import Database
from tests.cli.test_cli_commands import run

SAMPLES = Path(__file__).resolve().parents[2] / "sbom_samples"
AS_OF = "2024-09-02T00:00:00Z"


def test_plan_json_csv_and_table(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        load_demo(db, "demo", SAMPLES / "demo-fleet", SAMPLES / "advisories" / "demo")
        from datetime import UTC, datetime

        expected = plan_json(db, "demo", as_of=datetime(2024, 9, 2, tzinfo=UTC))
    finally:
        db.dispose()
    shown = run("--db", db_url, "plan", "--org", "demo", "--as-of", AS_OF, "--format", "json")
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    assert document == expected
    assert document["total_actions"] >= 2
    first = run("--db", db_url, "plan", "--org", "demo", "--as-of", AS_OF, "--format", "csv")
    again = run("--db", db_url, "plan", "--org", "demo", "--as-of", "2024-09-09T00:00:00Z", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(first.stdout)))
    assert [r["id"] for r in rows] == [a["id"] for a in document["actions"]]
    assert {r["id"] for r in rows} <= {r["id"] for r in csv.DictReader(io.StringIO(again.stdout))}
    assert rows[0]["rank"] == "1"
    limited = run("--db", db_url, "plan", "--org", "demo", "--as-of", AS_OF, "--limit", "1")
    assert limited.exit_code == 0
    assert f"1 of {document['total_actions']} actions" in limited.stdout
    top = document["actions"][0]
    assert top["package"].removeprefix("pkg:") in limited.stdout  # tables show purls without "pkg:"
    assert max(len(line) for line in limited.stdout.splitlines()) <= 120
    unknown = run("--db", db_url, "plan", "--org", "demo", "--system", "nope")
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: system 'nope' does not exist")
