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


def _in_memory_document(db: Database, when: str, limit: int | None) -> dict[str, object]:
    """The document as the plan computed in memory writes it (``build_plan`` over every item)."""
    from datetime import datetime

    from core.time import rfc3339
    from pipeline.plan import remediation_plan

    plan = remediation_plan(db, "demo", as_of=datetime.fromisoformat(when.replace("Z", "+00:00")))
    end = len(plan.actions) if limit is None else limit
    return {
        "organization": "demo",
        "as_of": rfc3339(plan.as_of),
        "system": None,
        "environment": None,
        "total_actions": len(plan.actions),
        "total_unfixable": len(plan.unfixable),
        "actions": [a.to_json(rank) for rank, a in enumerate(plan.actions[:end], start=1)],
        "unfixable": [u.to_json() for u in plan.unfixable],
    }


def test_plan_json_from_the_stored_plan_is_byte_for_byte_the_computed_one(db_url: str) -> None:
    """After the newest snapshot the CLI reads the stored plan (a page of it with ``--limit``); its
    output is, byte for byte, the document of the plan computed in memory."""
    db = Database.open(db_url)
    when = "2030-01-01T00:00:00Z"
    try:
        load_demo(db, "demo", SAMPLES / "demo-fleet", SAMPLES / "advisories" / "demo")
        whole = _in_memory_document(db, when, None)
        first = _in_memory_document(db, when, 2)
    finally:
        db.dispose()
    assert whole["actions"]
    for limit, expected in ((None, whole), (2, first)):
        args = ["--limit", str(limit)] if limit else []
        shown = run("--db", db_url, "plan", "--org", "demo", "--as-of", when, "--format", "json", *args)
        assert shown.exit_code == 0, shown.output
        assert shown.stdout == json.dumps(expected, indent=2) + "\n"
