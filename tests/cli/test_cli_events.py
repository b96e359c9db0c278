"""``patchgap events list`` through typer's CliRunner, both databases: the operator's view of every
organization, one organization's view, kinds, ``--after`` and ``--json``."""

from __future__ import annotations

import json

from typer.testing import CliRunner, Result

from cli.main import app
from core.events import SYNC_FAILED, UPLOAD_FAILED
from pipeline.uploads import enqueue_upload, run_pending
from store.db import Database
from store.queries.notifications import add_event
from store.queries.organizations import get_or_create_organization

MAX = 1_000_000


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _fail_upload(db: Database, org: str) -> str:
    with db.write() as session:
        org_id = get_or_create_organization(session, org).id
    assert org_id is not None
    token = enqueue_upload(
        db, org_id=org_id, org=org, system="app", data=b"<nope/>", source="ci", max_bytes=MAX
    ).token
    run_pending(db, max_bytes=MAX)
    return token


def test_events_list(db: Database, db_url: str) -> None:
    acme, globex = _fail_upload(db, "acme"), _fail_upload(db, "globex")
    with db.write() as session:
        add_event(session, None, SYNC_FAILED, "osv:1", {"summary": "the osv sync failed"})

    every = run("--db", db_url, "events", "list", "--json")
    assert every.exit_code == 0, every.output
    lines = [json.loads(line) for line in every.output.splitlines()]
    assert [(e["kind"], e["organization"]) for e in lines] == [
        (UPLOAD_FAILED, "acme"),
        (UPLOAD_FAILED, "globex"),
        (SYNC_FAILED, None),
    ]
    assert [e["data"]["upload"]["token"] for e in lines[:2]] == [acme, globex]

    own = run("--db", db_url, "events", "list", "--org", "globex", "--json")
    assert [json.loads(line)["organization"] for line in own.output.splitlines()] == ["globex", None]
    first = str(lines[0]["id"])
    after = run("--db", db_url, "events", "list", "--after", first, "--kind", SYNC_FAILED, "--json")
    assert [json.loads(line)["kind"] for line in after.output.splitlines()] == [SYNC_FAILED]

    table = run("--db", db_url, "events", "list")
    assert table.exit_code == 0, table.output
    assert "(installation)" in table.output
    assert "the osv sync failed" in table.output

    bad = run("--db", db_url, "events", "list", "--kind", "exposure.invented")
    assert bad.exit_code != 0
    assert "--kind" in bad.output
    assert "exposure.invented" in bad.output
    missing = run("--db", db_url, "events", "list", "--org", "nobody")
    assert missing.exit_code != 0
    assert "nobody" in missing.output
