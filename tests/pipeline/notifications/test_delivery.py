"""Delivering events to rules over real local receivers: signed webhooks, retries with backoff and one
idempotency key, give-up after the last attempt, Slack bodies, e-mail and daily digests (SQLite and
PostgreSQL). Time is stepped through ``now``, never slept."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from core.events import EXPOSURE_EXPLOITED, SYNC_FAILED
from pipeline.notifications import DeliverySettings, SmtpSettings, deliver_due
from pipeline.notifications.messages import WEBHOOK_SCHEMA_PATH
from pipeline.notifications.rules import RuleSpec, add_rule, list_deliveries, remove_rule, send_test
from store.db import Database
from store.queries.notifications import claim_due_deliveries
from tests.pipeline.notifications.fixtures import T0, add, exposure_payload, org_id, sync_failed_payload
from tests.pipeline.notifications.servers import http_receiver, smtp_server

SCHEMA = json.loads(WEBHOOK_SCHEMA_PATH.read_text())
# The test SMTP server takes a login without TLS (the channel's STARTTLS is on by default in service).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
FAST = DeliverySettings(timeout=5.0, max_attempts=8, backoff=timedelta(seconds=30))


def validate(body: object) -> None:
    jsonschema.validate(body, SCHEMA)


def test_a_webhook_gets_the_signed_envelope(db: Database) -> None:
    acme = org_id(db, "acme")
    with http_receiver() as receiver:
        created = add_rule(db, "acme", RuleSpec("hook", "webhook", url=receiver.url))
        assert created.secret is not None
        assert len(created.secret) >= 32
        receiver.secret = created.secret
        add(db, acme, exposure_payload("acme"))
        counts = deliver_due(db, T0, channels=FAST)
    assert (counts.events, counts.queued, counts.sent, counts.failed) == (1, 1, 1, 0)
    (request,) = receiver.requests
    assert request.signature_ok is True
    body = request.json()
    validate(body)
    assert body["schema"] == "patchgap.event.v1"
    assert body["kind"] == "exposure.opened"
    assert body["organization"] == "acme"
    assert body["data"]["system"]["name"] == "shop"
    assert request.headers["X-Patchgap-Idempotency-Key"] == body["idempotency_key"]
    assert request.headers["X-Patchgap-Event"] == "exposure.opened"
    # Nothing is sent twice.
    assert deliver_due(db, T0 + timedelta(hours=1), channels=FAST).sent == 0
    assert len(receiver.requests) == 1
    (delivery,) = list_deliveries(db, "acme")
    assert (delivery.status, delivery.attempts, delivery.sent_at) == ("sent", 1, T0)


def test_a_wrong_secret_is_refused_by_the_receiver_and_retried(db: Database) -> None:
    acme = org_id(db, "acme")
    with http_receiver(secret="not-the-rule-secret-at-all") as receiver:
        add_rule(db, "acme", RuleSpec("hook", "webhook", url=receiver.url, secret="the-rule-secret-123"))
        add(db, acme, exposure_payload("acme"))
        counts = deliver_due(db, T0, channels=FAST)
    assert (counts.sent, counts.retried) == (0, 1)
    assert receiver.requests[0].signature_ok is False
    (delivery,) = list_deliveries(db, "acme")
    assert delivery.status == "pending"
    assert delivery.last_error is not None
    assert "HTTP 401" in delivery.last_error


def test_a_receiver_failing_twice_gets_the_event_once_with_one_idempotency_key(db: Database) -> None:
    acme = org_id(db, "acme")
    with http_receiver([500, 500, 200]) as receiver:
        created = add_rule(db, "acme", RuleSpec("hook", "webhook", url=receiver.url))
        receiver.secret = created.secret
        add(db, acme, exposure_payload("acme"))
        assert deliver_due(db, T0, channels=FAST).retried == 1
        (d,) = list_deliveries(db, "acme")
        assert (d.status, d.attempts, d.next_attempt_at) == ("pending", 1, T0 + timedelta(seconds=30))
        # The error names the receiver by scheme and host only (a URL's path may be a secret).
        assert d.last_error == f"{receiver.url.removesuffix('/hook')} answered HTTP 500: receiver says no"
        # Not due yet: nothing is sent before the backoff has passed.
        assert deliver_due(db, T0 + timedelta(seconds=29), channels=FAST).retried == 0
        assert len(receiver.requests) == 1
        assert deliver_due(db, T0 + timedelta(seconds=30), channels=FAST).retried == 1
        (d,) = list_deliveries(db, "acme")
        # The second failure doubles the wait.
        assert d.next_attempt_at == T0 + timedelta(seconds=90)
        assert deliver_due(db, T0 + timedelta(seconds=89), channels=FAST).sent == 0
        assert deliver_due(db, T0 + timedelta(seconds=90), channels=FAST).sent == 1
        assert deliver_due(db, T0 + timedelta(days=1), channels=FAST).sent == 0
    assert len(receiver.requests) == 3
    assert len(receiver.accepted) == 1
    keys = {r.headers["X-Patchgap-Idempotency-Key"] for r in receiver.requests}
    assert len(keys) == 1
    assert {r.json()["idempotency_key"] for r in receiver.requests} == keys
    assert all(r.signature_ok for r in receiver.requests)
    (d,) = list_deliveries(db, "acme")
    assert (d.status, d.attempts, d.sent_at) == ("sent", 3, T0 + timedelta(seconds=90))


def test_a_receiver_that_always_fails_leaves_the_delivery_failed_and_visible(db: Database) -> None:
    acme = org_id(db, "acme")
    settings = DeliverySettings(timeout=5.0, max_attempts=3, backoff=timedelta(seconds=10))
    with http_receiver([503]) as receiver:
        add_rule(db, "acme", RuleSpec("hook", "webhook", url=receiver.url))
        add(db, acme, exposure_payload("acme"))
        now = T0
        failed = 0
        for _ in range(10):
            failed += deliver_due(db, now, channels=settings).failed
            now += timedelta(minutes=5)
    assert failed == 1
    assert len(receiver.requests) == 3
    (d,) = list_deliveries(db, "acme", status="failed")
    assert (d.status, d.attempts, d.rule, d.kind) == ("failed", 3, "hook", "exposure.opened")
    assert "HTTP 503: receiver says no" in (d.last_error or "")
    assert list_deliveries(db, "acme", status="pending") == []


def test_an_unreachable_receiver_is_a_recorded_failure(db: Database) -> None:
    acme = org_id(db, "acme")
    with http_receiver() as receiver:
        url = receiver.url
    # The server is gone: the port refuses connections.
    add_rule(db, "acme", RuleSpec("hook", "webhook", url=url))
    add(db, acme, exposure_payload("acme"))
    assert deliver_due(db, T0, channels=FAST).retried == 1
    (d,) = list_deliveries(db, "acme")
    assert "ConnectError" in (d.last_error or "")


def test_slack_gets_a_readable_message(db: Database) -> None:
    acme = org_id(db, "acme")
    with http_receiver() as receiver:
        add_rule(db, "acme", RuleSpec("chat", "slack", url=receiver.url))
        add(db, acme, exposure_payload("acme", kev=True), kind=EXPOSURE_EXPLOITED)
        assert deliver_due(db, T0, channels=FAST).sent == 1
    (request,) = receiver.requests
    body = request.json()
    assert list(body) == ["text"]
    lines = body["text"].splitlines()
    assert lines[0] == "*patchgap acme: shop (prod) runs jinja2 3.1.2, affected by CVE-2024-0001*"
    assert "> vulnerability: CVE-2024-0001, GHSA-h5c8-rqwp-cp95 (KEV)" in lines
    assert "X-Patchgap-Signature" not in request.headers


def test_slack_shows_names_literally(db: Database) -> None:
    acme = org_id(db, "acme")
    payload = exposure_payload("acme") | {"summary": "<!channel> a & b <http://x.example|click>"}
    with http_receiver() as receiver:
        add_rule(db, "acme", RuleSpec("chat", "slack", url=receiver.url))
        add(db, acme, payload)
        assert deliver_due(db, T0, channels=FAST).sent == 1
    text = receiver.requests[0].json()["text"]
    assert text.splitlines()[1] == "&lt;!channel&gt; a &amp; b &lt;http://x.example|click&gt;"
    assert "<" not in text


def test_email_is_sent_over_smtp_with_a_login(db: Database) -> None:
    acme = org_id(db, "acme")
    with smtp_server(credentials=("patchgap", "s3cret")) as mailbox:
        smtp = SmtpSettings(
            host=mailbox.host,
            port=mailbox.port,
            starttls=False,
            username="patchgap",
            password="s3cret",
            sender="alerts@acme.example",
        )
        settings = DeliverySettings(smtp=smtp)
        add_rule(db, "acme", RuleSpec("mail", "email", recipients=["sec@acme.example", "ops@acme.example"]))
        add(db, acme, exposure_payload("acme"))
        assert deliver_due(db, T0, channels=settings).sent == 1
    assert mailbox.logins == [("patchgap", "s3cret")]
    ((envelope, mail),) = mailbox.mails
    assert envelope.mail_from == "alerts@acme.example"
    assert envelope.rcpt_tos == ["sec@acme.example", "ops@acme.example"]
    assert (
        mail["Subject"].strip() == "patchgap acme: shop (prod) runs jinja2 3.1.2, affected by CVE-2024-0001"
    )
    text = mail.get_content()
    assert "package: pkg:pypi/jinja2 3.1.2" in text
    (d,) = list_deliveries(db, "acme")
    assert mail["X-Patchgap-Idempotency-Key"] == d.idempotency_key


def test_starttls_is_required_when_configured(db: Database) -> None:
    acme = org_id(db, "acme")
    with smtp_server() as mailbox:  # a server without STARTTLS: the mail must not go out in clear
        settings = DeliverySettings(smtp=SmtpSettings(host=mailbox.host, port=mailbox.port, starttls=True))
        add_rule(db, "acme", RuleSpec("mail", "email", recipients=["sec@acme.example"]))
        add(db, acme, exposure_payload("acme"))
        assert deliver_due(db, T0, channels=settings).retried == 1
    assert mailbox.mails == []
    (d,) = list_deliveries(db, "acme")
    assert "STARTTLS extension not supported by server" in (d.last_error or "")


def test_email_without_an_smtp_server_fails_with_the_reason(db: Database) -> None:
    acme = org_id(db, "acme")
    add_rule(db, "acme", RuleSpec("mail", "email", recipients=["sec@acme.example"]))
    add(db, acme, exposure_payload("acme"))
    assert deliver_due(db, T0, channels=DeliverySettings()).retried == 1
    (d,) = list_deliveries(db, "acme")
    assert d.last_error == "no SMTP server is configured (PATCHGAP_SMTP_HOST)"


def test_a_digest_rule_sends_one_mail_a_day_listing_the_days_events(db: Database) -> None:
    acme = org_id(db, "acme")
    morning = T0.replace(hour=3)
    with smtp_server() as mailbox, http_receiver() as receiver:
        settings = DeliverySettings(smtp=SmtpSettings(host=mailbox.host, port=mailbox.port, starttls=False))
        add_rule(db, "acme", RuleSpec("daily", "email", recipients=["ciso@acme.example"], mode="digest"))
        add_rule(
            db, "acme", RuleSpec("daily-hook", "webhook", url=receiver.url, mode="digest", digest_hour=8)
        )
        add(db, acme, exposure_payload("acme", vulnerability="CVE-2024-0001"), now=morning)
        add(
            db,
            acme,
            exposure_payload("acme", vulnerability="CVE-2024-0002"),
            now=morning + timedelta(hours=2),
        )
        # Before 08:00 UTC the events wait.
        counts = deliver_due(db, morning.replace(hour=7, minute=59), channels=settings)
        assert (counts.queued, counts.digests, counts.sent) == (4, 0, 0)
        assert mailbox.mails == []
        add(db, acme, exposure_payload("acme", vulnerability="CVE-2024-0003"), now=morning.replace(hour=9))
        counts = deliver_due(db, morning.replace(hour=8), channels=settings)
        assert (counts.digests, counts.sent) == (2, 2)
        # The event after 08:00 is the next day's.
        assert deliver_due(db, morning.replace(hour=23), channels=settings).sent == 0
        assert deliver_due(db, morning.replace(hour=8) + timedelta(days=1), channels=settings).sent == 2
    first, second = (mail for _, mail in mailbox.mails)
    assert first["Subject"].strip() == "patchgap daily digest for acme: 2 event(s)"
    text = first.get_content()
    assert "affected by CVE-2024-0001" in text
    assert "affected by CVE-2024-0002" in text
    assert "CVE-2024-0003" not in text
    assert second["Subject"].strip() == "patchgap daily digest for acme: 1 event(s)"
    bodies = [r.json() for r in receiver.requests]
    for body in bodies:
        validate(body)
    assert [len(b["events"]) for b in bodies] == [2, 1]
    assert bodies[0]["schema"] == "patchgap.digest.v1"
    assert receiver.requests[0].headers["X-Patchgap-Event"] == "digest"
    digests = [d for d in list_deliveries(db, "acme") if d.kind == "digest"]
    assert sorted((d.rule, d.events, d.status) for d in digests) == [
        ("daily", 1, "sent"),
        ("daily", 2, "sent"),
        ("daily-hook", 1, "sent"),
        ("daily-hook", 2, "sent"),
    ]


def test_installation_events_go_to_every_organization_and_organization_events_to_their_own(
    db: Database,
) -> None:
    acme, globex = org_id(db, "acme"), org_id(db, "globex")
    with http_receiver() as acme_hook, http_receiver() as globex_hook:
        add_rule(db, "acme", RuleSpec("hook", "webhook", url=acme_hook.url))
        add_rule(db, "globex", RuleSpec("hook", "webhook", url=globex_hook.url))
        add(db, acme, exposure_payload("acme"))
        add(db, None, sync_failed_payload(), kind=SYNC_FAILED, subject="kev:7")
        add(db, globex, exposure_payload("globex", system="mill"))
        assert deliver_due(db, T0, channels=FAST).sent == 4
    acme_seen = [(r.json()["kind"], r.json()["organization"]) for r in acme_hook.requests]
    globex_seen = [
        (r.json()["kind"], r.json()["data"].get("system", {}).get("name")) for r in globex_hook.requests
    ]
    assert acme_seen == [("exposure.opened", "acme"), ("sync.failed", "acme")]
    assert globex_seen == [("sync.failed", None), ("exposure.opened", "mill")]
    assert {d.kind for d in list_deliveries(db, "globex")} == {"sync.failed", "exposure.opened"}


def test_two_workers_send_each_message_once(db: Database) -> None:
    acme = org_id(db, "acme")
    with http_receiver() as receiver:
        add_rule(db, "acme", RuleSpec("hook", "webhook", url=receiver.url))
        for i in range(12):
            add(db, acme, exposure_payload("acme", vulnerability=f"CVE-2024-{i:04d}"))
        errors: list[BaseException] = []

        def work() -> None:
            try:
                deliver_due(db, T0, channels=FAST)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    keys = [r.headers["X-Patchgap-Idempotency-Key"] for r in receiver.requests]
    assert len(keys) == 12
    assert len(set(keys)) == 12
    assert {d.status for d in list_deliveries(db, "acme")} == {"sent"}


def test_a_message_whose_worker_died_is_sent_after_its_lease(db: Database) -> None:
    acme = org_id(db, "acme")
    with http_receiver() as receiver:
        add_rule(db, "acme", RuleSpec("hook", "webhook", url=receiver.url))
        add(db, acme, exposure_payload("acme"))
        deliver_due(db, T0 - timedelta(hours=1), channels=DeliverySettings(batch=0))  # fan-out only
        with db.write() as session:  # a worker claims the message, then dies
            (claimed,) = claim_due_deliveries(session, T0, T0 + FAST.lease, 10)
        assert deliver_due(db, T0 + FAST.lease - timedelta(seconds=1), channels=FAST).sent == 0
        assert deliver_due(db, T0 + FAST.lease, channels=FAST).sent == 1
    assert receiver.requests[0].headers["X-Patchgap-Idempotency-Key"] == claimed.idempotency_key


def test_removing_a_rule_removes_its_deliveries(db: Database) -> None:
    acme = org_id(db, "acme")
    with http_receiver([500]) as receiver:
        created = add_rule(db, "acme", RuleSpec("hook", "webhook", url=receiver.url))
        add(db, acme, exposure_payload("acme"))
        deliver_due(db, T0, channels=FAST)
    assert len(list_deliveries(db, "acme")) == 1
    remove_rule(db, "acme", created.rule.id)
    assert list_deliveries(db, "acme") == []
    assert deliver_due(db, T0 + timedelta(days=1), channels=FAST).sent == 0


def test_a_test_message_goes_through_the_channel_marked_as_a_test(db: Database) -> None:
    org_id(db, "acme")
    with http_receiver() as receiver:
        created = add_rule(db, "acme", RuleSpec("hook", "webhook", url=receiver.url, events=["sla.breached"]))
        receiver.secret = created.secret
        outcome = send_test(db, "acme", created.rule.id, FAST, now=T0)
    assert (outcome.ok, outcome.error) == (True, None)
    (request,) = receiver.requests
    assert request.signature_ok is True
    body = request.json()
    validate(body)
    assert body["test"] is True
    assert body["kind"] == "sla.breached"
    assert body["id"] == 0
    assert "Test notification" in body["data"]["summary"]
    # A test is not an event: nothing was recorded.
    assert list_deliveries(db, "acme") == []


def test_a_failing_test_message_says_why(db: Database) -> None:
    org_id(db, "acme")
    with http_receiver([404]) as receiver:
        created = add_rule(db, "acme", RuleSpec("hook", "webhook", url=receiver.url))
        outcome = send_test(db, "acme", created.rule.id, FAST)
    assert outcome.ok is False
    assert "answered HTTP 404" in (outcome.error or "")


@pytest.mark.parametrize("hour", [0, 8, 23])
def test_the_digest_time_is_the_next_occurrence_of_the_hour(hour: int) -> None:
    from pipeline.notifications.delivery import next_digest_at

    at = next_digest_at(T0, hour)
    assert at > T0
    assert at - T0 <= timedelta(days=1)
    assert (at.hour, at.minute, at.second) == (hour, 0, 0)


WORKER = """
import sys
from datetime import datetime
from pipeline.notifications import DeliverySettings, deliver_due
from store.db import Database

db = Database.open(sys.argv[1])
counts = deliver_due(db, datetime.fromisoformat(sys.argv[2]), channels=DeliverySettings(batch=3))
print(counts.sent)
db.dispose()
"""


def test_two_worker_processes_send_each_message_once(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        acme = org_id(db, "acme")
        with http_receiver() as receiver:
            add_rule(db, "acme", RuleSpec("hook", "webhook", url=receiver.url))
            for i in range(20):
                add(db, acme, exposure_payload("acme", vulnerability=f"CVE-2024-{i:04d}"))
            root = Path(__file__).resolve().parents[3]
            workers = [
                subprocess.Popen(
                    [sys.executable, "-c", WORKER, db_url, T0.isoformat()],
                    cwd=root,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(2)
            ]
            outputs = [w.communicate(timeout=120) for w in workers]
        assert [w.returncode for w in workers] == [0, 0], outputs
        assert sum(int(out.strip()) for out, _ in outputs) == 20
        keys = [r.headers["X-Patchgap-Idempotency-Key"] for r in receiver.requests]
        assert len(keys) == 20
        assert len(set(keys)) == 20
        assert {d.status for d in list_deliveries(db, "acme")} == {"sent"}
    finally:
        db.dispose()
