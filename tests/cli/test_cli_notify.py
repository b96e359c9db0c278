"""``patchgap notify`` through typer's CliRunner on both databases, against real local receivers."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from pipeline.notifications import DeliverySettings, deliver_due
from store.db import Database
from tests.pipeline.notifications.fixtures import T0, add, exposure_payload, org_id
from tests.pipeline.notifications.servers import http_receiver, smtp_server


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def test_rules_add_list_test_remove_and_deliveries(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        acme = org_id(db, "acme")
        with http_receiver() as receiver:
            added = run(
                "--db", db_url, "notify", "rules", "add", "--org", "acme", "--name", "sec",
                "--channel", "webhook", "--url", receiver.url, "--event", "exposure.opened",
                "--environment", "prod", "--kev-only",
            )  # fmt: skip
            assert added.exit_code == 0, added.output
            lines = added.stdout.splitlines()
            assert lines[0] == f"rule 1 'sec' of acme added: webhook to {receiver.url}"
            secret = lines[1].removeprefix("signing secret (shown only now): ")
            assert len(secret) >= 32
            receiver.secret = secret

            listed = run("--db", db_url, "notify", "rules", "list", "--org", "acme")
            assert listed.exit_code == 0, listed.output
            assert "sec" in listed.stdout
            assert "env=prod kev" in listed.stdout
            assert secret not in listed.stdout

            tested = run("--db", db_url, "notify", "rules", "test", "--org", "acme", "sec")
            assert tested.exit_code == 0, tested.output
            assert (
                tested.stdout.strip() == f"test message of rule 'sec' delivered (webhook to {receiver.url})"
            )
            (request,) = receiver.requests
            assert request.signature_ok is True
            assert request.json()["test"] is True

            add(db, acme, exposure_payload("acme", kev=True))
            assert deliver_due(db, T0, channels=DeliverySettings()).sent == 1

        shown = run("--db", db_url, "notify", "deliveries", "--org", "acme")
        assert shown.exit_code == 0, shown.output
        row = shown.stdout.splitlines()[3].split()
        assert row[:5] == ["1", "sec", "exposure.opened", "sent", "1"]
        failed = run("--db", db_url, "notify", "deliveries", "--org", "acme", "--failed")
        assert failed.stdout.strip() == "organization 'acme' has no failed deliveries"

        removed = run("--db", db_url, "notify", "rules", "remove", "--org", "acme", "1")
        assert removed.exit_code == 0, removed.output
        assert removed.stdout.strip() == "rule 1 'sec' of acme removed"
        empty = run("--db", db_url, "notify", "rules", "list", "--org", "acme")
        assert empty.stdout.strip() == "organization 'acme' has no notification rules"
    finally:
        db.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--channel", "webhook"], "error: url: is required for this channel"),
        (["--channel", "email", "--to", "x"], "error: recipients[0]: 'x' is not an e-mail address"),
        (
            ["--channel", "webhook", "--url", "https://h.example/", "--event", "nope"],
            "error: events: unknown",
        ),
        (["--channel", "sms"], "error: channel: unknown channel 'sms'; one of webhook, slack, email"),
    ],
)
def test_a_refused_rule_is_one_line_and_exit_2(db_url: str, args: list[str], message: str) -> None:
    Database.open(db_url).dispose()
    result = run("--db", db_url, "notify", "rules", "add", "--org", "acme", "--name", "r", *args)
    assert result.exit_code == 2
    assert result.output.startswith(message), result.output


def test_a_failing_test_message_exits_2_with_the_reason(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        org_id(db, "acme")
    finally:
        db.dispose()
    added = run(
        "--db", db_url, "notify", "rules", "add", "--org", "acme", "--name", "mail",
        "--channel", "email", "--to", "ops@acme.example",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    # No SMTP server configured.
    result = run(
        "--db", db_url, "notify", "rules", "test", "--org", "acme", "mail", env={"PATCHGAP_SMTP_HOST": ""}
    )
    assert result.exit_code == 2
    assert "no SMTP server is configured (PATCHGAP_SMTP_HOST)" in result.output
    # The SMTP settings come from the environment.
    with smtp_server() as mailbox:
        env = {
            "PATCHGAP_SMTP_HOST": mailbox.host,
            "PATCHGAP_SMTP_PORT": str(mailbox.port),
            "PATCHGAP_SMTP_STARTTLS": "false",
            "PATCHGAP_SMTP_FROM": "patchgap@acme.example",
        }
        result = run("--db", db_url, "notify", "rules", "test", "--org", "acme", "mail", env=env)
    assert result.exit_code == 0, result.output
    ((envelope, mail),) = mailbox.mails
    assert envelope.mail_from == "patchgap@acme.example"
    assert mail["Subject"].strip().startswith("[test] patchgap acme: Test notification for rule 'mail'")
