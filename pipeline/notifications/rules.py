"""Notification rules of an organization (admin): create, list, show, remove, send a test message; and
the list of their deliveries.

A rule names the event kinds it wants (none: every kind), filters (environments, SLA tiers, systems,
owners, tags, KEV only; see ``matching``), a channel (``channels.CHANNELS``) with its target, and a
mode: ``immediate`` (a message per event) or ``digest`` (one message a day at ``digest_hour`` UTC).
A webhook rule signs with a secret: generated when none is given, returned by :func:`add_rule` once
and never shown again.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core.errors import InputError, NotFoundError, PatchgapError
from core.events import EVENT_KINDS, EXPOSURE_OPENED
from core.text import text_problem
from core.time import utcnow
from pipeline.notifications.channels import CHANNELS
from pipeline.notifications.channels.http import where
from pipeline.notifications.delivery import send
from pipeline.notifications.messages import Message
from pipeline.notifications.settings import DeliverySettings
from store.db import Database
from store.queries import notifications as queries
from store.queries.notifications import DeliveryView, EventRow, RuleRow
from store.queries.organizations import organization_id

MODES = ("immediate", "digest")
NAME_MAX = 100
FILTER_VALUE_MAX = 200
FILTER_VALUES_MAX = 100
DELIVERY_STATUSES = ("pending", "sending", "sent", "failed")


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule as asked for (CLI flags, an API body, a dashboard form), checked by :func:`add_rule`."""

    name: str
    channel: str
    url: str | None = None
    secret: str | None = None
    recipients: Sequence[str] = ()
    events: Sequence[str] = ()
    environments: Sequence[str] = ()
    tiers: Sequence[str] = ()
    systems: Sequence[str] = ()
    owners: Sequence[str] = ()
    tags: Sequence[str] = ()
    kev_only: bool = False
    mode: str = "immediate"
    digest_hour: int = 8
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What may be shown about a rule: everything but the secret (``signed`` says there is one)."""

    id: int
    org: str
    name: str
    events: list[str]
    environments: list[str]
    tiers: list[str]
    systems: list[str]
    owners: list[str]
    tags: list[str]
    kev_only: bool
    channel: str
    url: str | None
    recipients: list[str]
    signed: bool
    mode: str
    digest_hour: int
    enabled: bool
    created_at: datetime

    @property
    def target(self) -> str:
        """Where it sends, for lists: a webhook's URL, a Slack URL's host only (its path is a secret),
        the recipients."""
        if self.channel == "slack" and self.url:
            return f"{where(self.url)}/…"
        return self.url or ", ".join(self.recipients)


@dataclass(frozen=True, slots=True)
class CreatedRule:
    rule: RuleInfo
    secret: str | None  # the webhook secret, shown this once


@dataclass(frozen=True, slots=True)
class TestOutcome:
    ok: bool
    error: str | None
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class DeliveryInfo:
    id: int
    rule: str
    channel: str
    kind: str  # the event kind, or "digest"
    summary: str | None
    events: int
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    idempotency_key: str = field(repr=False, default="")


def rule_info(row: RuleRow) -> RuleInfo:
    return RuleInfo(
        id=row.id,
        org=row.org,
        name=row.name,
        events=list(row.event_kinds),
        environments=list(row.environments),
        tiers=list(row.tiers),
        systems=list(row.systems),
        owners=list(row.owners),
        tags=list(row.tags),
        kev_only=row.kev_only,
        channel=row.channel,
        url=row.url,
        recipients=list(row.recipients),
        signed=row.secret is not None,
        mode=row.mode,
        digest_hour=row.digest_hour,
        enabled=row.enabled,
        created_at=row.created_at,
    )


def _values(name: str, values: Sequence[str]) -> list[str]:
    if len(values) > FILTER_VALUES_MAX:
        raise InputError(name, f"{len(values)} values, more than {FILTER_VALUES_MAX}")
    out: list[str] = []
    for i, value in enumerate(values):
        problem = text_problem(value, f"{name}[{i}]", single_line=True, max_chars=FILTER_VALUE_MAX)
        if problem is not None:
            raise InputError(name, problem)
        if not value:
            raise InputError(f"{name}[{i}]", "is empty")
        if value not in out:
            out.append(value)
    return out


def check_spec(spec: RuleSpec) -> dict[str, object]:
    """The rule's stored values (all but org and name) from ``spec``; ``InputError`` naming the field."""
    problem = text_problem(spec.name, "name", single_line=True, max_chars=NAME_MAX)
    if problem is not None:
        raise InputError("name", problem)
    if not spec.name:
        raise InputError("name", "is empty")
    channel = CHANNELS.get(spec.channel)
    if channel is None:
        raise InputError("channel", f"unknown channel {spec.channel!r}; one of {', '.join(CHANNELS)}")
    events = _values("events", spec.events)
    unknown = [kind for kind in events if kind not in EVENT_KINDS]
    if unknown:
        raise InputError("events", f"unknown event kind {unknown[0]!r}; one of {', '.join(EVENT_KINDS)}")
    if spec.mode not in MODES:
        raise InputError("mode", f"{spec.mode!r} is not one of {', '.join(MODES)}")
    if not 0 <= spec.digest_hour <= 23:
        raise InputError("digest_hour", f"{spec.digest_hour} is not an hour from 0 to 23")
    if spec.secret is not None:
        problem = text_problem(spec.secret, "secret", single_line=True, max_chars=200)
        if problem is not None:
            raise InputError("secret", problem.removeprefix("secret "))
    recipients = list(spec.recipients)
    channel.check(spec.url, spec.secret, recipients)
    secret = spec.secret
    if spec.channel == "webhook" and secret is None:
        secret = secrets.token_urlsafe(32)
    return {
        "event_kinds": events,
        "environments": _values("environments", spec.environments),
        "tiers": _values("tiers", spec.tiers),
        "systems": _values("systems", spec.systems),
        "owners": _values("owners", spec.owners),
        "tags": _values("tags", spec.tags),
        "kev_only": spec.kev_only,
        "channel": spec.channel,
        "url": spec.url,
        "secret": secret,
        "recipients": recipients,
        "mode": spec.mode,
        "digest_hour": spec.digest_hour,
        "enabled": spec.enabled,
    }


def add_rule(db: Database, org: str, spec: RuleSpec, *, now: datetime | None = None) -> CreatedRule:
    """Create a rule of ``org`` (which must exist); a name taken in ``org`` is a ``ConflictError``."""
    values = check_spec(spec)
    with db.write() as session:
        row = queries.insert_rule(session, organization_id(session, org), spec.name, values, now or utcnow())
    return CreatedRule(rule_info(row), row.secret if row.channel == "webhook" else None)


def list_rules(db: Database, org: str) -> list[RuleInfo]:
    with db.read() as session:
        return [rule_info(r) for r in queries.list_rules(session, organization_id(session, org))]


def get_rule(db: Database, org: str, rule_id: int) -> RuleInfo:
    with db.read() as session:
        return rule_info(queries.get_rule(session, organization_id(session, org), rule_id))


def find_rule(db: Database, org: str, ref: str) -> RuleInfo:
    """A rule by name or, when ``ref`` is a number no rule is named, by id (the CLI's argument)."""
    with db.read() as session:
        org_id = organization_id(session, org)
        found = queries.find_rule_by_name(session, org_id, ref)
        if found is None and ref.isdigit():
            return rule_info(queries.get_rule(session, org_id, int(ref)))
    if found is None:
        raise NotFoundError(f"notification rule {ref!r} does not exist in organization {org!r}")
    return rule_info(found)


def remove_rule(db: Database, org: str, rule_id: int) -> RuleInfo:
    """Remove a rule with its deliveries (their history goes with it)."""
    with db.write() as session:
        return rule_info(queries.delete_rule(session, organization_id(session, org), rule_id))


def test_event(rule: RuleInfo, now: datetime) -> EventRow:
    """A synthetic, clearly marked event: what ``rules test`` sends (never written to the outbox)."""
    text = f"Test notification for rule {rule.name!r} of {rule.org}: the channel works; nothing happened."
    payload = {"organization": rule.org, "summary": text, "test": True}
    return EventRow(0, None, rule.events[0] if rule.events else EXPOSURE_OPENED, None, None, payload, now)


def send_test(
    db: Database, org: str, rule_id: int, settings: DeliverySettings, *, now: datetime | None = None
) -> TestOutcome:
    """Send a test message through the rule's channel now (no retries) and say how it went."""
    moment = now or utcnow()
    with db.read() as session:
        row = queries.get_rule(session, organization_id(session, org), rule_id)
    key = f"test-{secrets.token_hex(8)}"
    message = Message(
        row.org, [test_event(rule_info(row), moment)], key, digest=False, created_at=moment, test=True
    )
    try:
        send(row, message, settings)
    except PatchgapError as exc:
        return TestOutcome(False, str(exc), key)
    return TestOutcome(True, None, key)


def _delivery_info(view: DeliveryView) -> DeliveryInfo:
    d = view.delivery
    return DeliveryInfo(
        id=d.id,
        rule=view.rule,
        channel=view.channel,
        kind=view.event_kind or "digest",
        summary=view.summary,
        events=view.events,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at if d.status in ("pending", "sending") else None,
        last_error=d.last_error,
        created_at=d.created_at,
        sent_at=d.sent_at,
        idempotency_key=d.idempotency_key,
    )


def list_deliveries(
    db: Database, org: str, *, status: str | None = None, limit: int = 100
) -> list[DeliveryInfo]:
    """The organization's recent messages, newest first (``status``: only those in that state)."""
    if status is not None and status not in DELIVERY_STATUSES:
        raise InputError("status", f"{status!r} is not one of {', '.join(DELIVERY_STATUSES)}")
    with db.read() as session:
        views = queries.list_deliveries(
            session, organization_id(session, org), statuses=[status] if status else None, limit=limit
        )
    return [_delivery_info(v) for v in views]
