"""``patchgap orgs set --akrites-member`` and ``patchgap keys create --embargo``: the operator's switches
of the Akrites embargo (both databases)."""

from __future__ import annotations

import json

from typer.testing import CliRunner, Result

from cli.main import app
from pipeline.api_keys import authenticate, create_key
from store.db import Database


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_the_operator_marks_members_and_grants_embargo(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        create_key(db, org="lab", role="admin")  # the organization exists
    finally:
        db.dispose()
    created = run("--db", db_url, "keys", "create", "--org", "lab", "--role", "reader", "--embargo")
    assert created.exit_code == 0, created.output
    token = created.stdout.splitlines()[0]
    assert "(reader, embargo)" in created.output
    db = Database.open(db_url)
    try:
        principal = authenticate(db, token)
        assert principal is not None
        assert (principal.embargo, principal.akrites_member, principal.sees_embargoed) == (True, False, False)
        marked = run("--db", db_url, "orgs", "set", "lab", "--akrites-member")
        assert marked.exit_code == 0, marked.output
        assert marked.stdout.strip() == "lab: Akrites member"
        principal = authenticate(db, token)
        assert principal is not None
        assert principal.sees_embargoed
        listed = json.loads(run("--db", db_url, "orgs", "list", "--json").stdout)
        assert [(o["name"], o["akrites_member"]) for o in listed] == [("lab", True)]
        keys = run("--db", db_url, "keys", "list", "--org", "lab")
        assert keys.exit_code == 0, keys.output
        rows = [line.split() for line in keys.stdout.splitlines() if line.split()[:1] in (["1"], ["2"])]
        assert ["yes" in r for r in rows] == [False, True], keys.stdout
        assert run("--db", db_url, "orgs", "set", "lab", "--no-akrites-member").exit_code == 0
        principal = authenticate(db, token)
        assert principal is not None
        assert not principal.sees_embargoed
    finally:
        db.dispose()
    unknown = run("--db", db_url, "orgs", "set", "nope", "--akrites-member")
    assert unknown.exit_code == 2
    assert "organization 'nope' does not exist" in unknown.output
