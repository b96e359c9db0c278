"""Delivering events: :func:`deliver_due`, the body of the scheduler's ``deliver`` job.

One call does three things, each in short transactions, so several workers (threads or processes on
one PostgreSQL database) can run it at once:

1. **Fan-out.** Events no worker has fanned out yet (``store.queries.notifications.claim_unfanned_events``,
   locked with ``SKIP LOCKED``) become deliveries of every enabled rule they match
   (``matching.rule_matches``): ``pending`` now for an immediate rule, ``held`` until the rule's next
   digest time for a digest rule. The fan-out row is written in the same transaction, so an event is
   fanned out exactly once; a delivery is unique per (rule, event).
2. **Digests.** Held events whose digest time has come become one ``pending`` digest per rule and day.
3. **Sending.** Due messages are claimed (``sending``, with a lease) in one transaction, sent with no
   transaction open, and their outcome recorded in another: ``sent``; or, on failure, ``pending`` again
   after ``backoff × 2^(attempts − 1)``; or ``failed`` with the error once ``max_attempts`` attempts
   have failed. A worker that dies mid-send leaves the message to be claimed again when its lease
   ends, so delivery is at least once; the idempotency key, the same on every attempt, lets receivers
   drop a repeat.

``now`` is the clock of the whole call (tests step it instead of sleeping).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.errors import PatchgapError
from pipeline.embargo import embargoed_groups
from pipeline.notifications.channels import CHANNELS
from pipeline.notifications.matching import rule_matches
from pipeline.notifications.messages import Message
from pipeline.notifications.settings import DeliverySettings
from store.db import Database
from store.queries.notifications import (
    DeliveryRow,
    EventRow,
    RuleRow,
    claim_due_deliveries,
    claim_unfanned_events,
    create_due_digests,
    delivery_events,
    enabled_rules,
    finish_delivery,
    insert_deliveries,
    mark_fanned_out,
    rules_by_id,
)

log = logging.getLogger(__name__)

_KEY_NAMESPACE = uuid.UUID("3b8f9e0c-5d0e-4a57-9a43-2f1c6f0d7e21")
FANOUT_BATCH = 500
ERROR_MAX = 1000


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """What one :func:`deliver_due` call did."""

    events: int = 0  # events fanned out
    queued: int = 0  # deliveries created by the fan-out (immediate and held for a digest)
    digests: int = 0  # digests gathered
    sent: int = 0
    retried: int = 0  # attempts that failed and will be tried again
    failed: int = 0  # messages given up after their last attempt

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def event_key(rule_id: int, event_id: int) -> str:
    """The idempotency key of one event's message to one rule: the same on every attempt."""
    return str(uuid.uuid5(_KEY_NAMESPACE, f"event:{rule_id}:{event_id}"))


def digest_key(rule_id: int, due_at: datetime) -> str:
    """The idempotency key of a rule's digest due at ``due_at``."""
    return str(uuid.uuid5(_KEY_NAMESPACE, f"digest:{rule_id}:{due_at.isoformat()}"))


def next_digest_at(moment: datetime, hour: int) -> datetime:
    """The first digest time (``hour``:00 UTC) strictly after ``moment``: the day an event's digest is."""
    today = moment.replace(hour=hour, minute=0, second=0, microsecond=0)
    return today if today > moment else today + timedelta(days=1)


def retry_delay(attempts: int, settings: DeliverySettings) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: ``backoff``, doubled on each later one, at most
    ``max_backoff``."""
    delay = settings.backoff * (1 << min(attempts - 1, 30))
    return min(delay, settings.max_backoff)


def fan_out(db: Database, now: datetime) -> tuple[int, int]:
    """Turn every event not yet fanned out into deliveries; returns (events, deliveries)."""
    events_done = queued = 0
    while True:
        with db.write() as session:
            # Events about an embargoed group wait, unfanned, until its disclosure: then they go out once.
            events = claim_unfanned_events(session, FANOUT_BATCH, embargoed_groups(session, now))
            if not events:
                break
            rules = enabled_rules(session)
            rows = [
                _delivery_for(rule, event, now)
                for event in events
                for rule in rules
                if rule_matches(rule, event)
            ]
            queued += insert_deliveries(session, rows)
            mark_fanned_out(session, [e.id for e in events], now)
            events_done += len(events)
    return events_done, queued


def _delivery_for(rule: RuleRow, event: EventRow, now: datetime) -> dict[str, object]:
    digest = rule.mode == "digest"
    return {
        "org_id": rule.org_id,
        "rule_id": rule.id,
        "event_id": event.id,
        "status": "held" if digest else "pending",
        "attempts": 0,
        "next_attempt_at": next_digest_at(event.created_at, rule.digest_hour) if digest else now,
        "idempotency_key": event_key(rule.id, event.id),
        "created_at": now,
    }


def gather_digests(db: Database, now: datetime) -> int:
    with db.write() as session:
        return create_due_digests(session, now, digest_key)


def send(rule: RuleRow, message: Message, settings: DeliverySettings) -> None:
    """Send one message through the rule's channel now; a failure raises ``ServiceError``."""
    CHANNELS[rule.channel].send(rule, message, settings)


def _attempt(
    rule: RuleRow | None,
    delivery: DeliveryRow,
    events: list[EventRow],
    now: datetime,
    settings: DeliverySettings,
) -> str | None:
    """Send a claimed message; ``None`` when it was accepted, else why not."""
    if rule is None:  # pragma: no cover - deleting a rule deletes its deliveries
        return "the rule no longer exists"
    if not events:
        return "the events of this message no longer exist"
    message = Message(
        organization=rule.org,
        events=events,
        idempotency_key=delivery.idempotency_key,
        digest=delivery.event_id is None,
        created_at=now,
    )
    try:
        send(rule, message, settings)
    except PatchgapError as exc:
        return str(exc)[:ERROR_MAX]
    return None


def send_due(db: Database, now: datetime, settings: DeliverySettings) -> tuple[int, int, int]:
    """Send every message due at ``now``; returns (sent, retried, failed)."""
    sent = retried = failed = 0
    while True:
        with db.write() as session:
            lease_until = now + settings.claim_lease(settings.batch)
            claimed = claim_due_deliveries(session, now, lease_until, settings.batch)
            if not claimed:
                break
            rules = rules_by_id(session, [d.rule_id for d in claimed])
            carried = {d.id: delivery_events(session, d) for d in claimed}
        for delivery in claimed:
            error = _attempt(rules.get(delivery.rule_id), delivery, carried[delivery.id], now, settings)
            attempts = delivery.attempts + 1
            status, retry_at = "sent", now
            sent_at: datetime | None = now
            if error is None:
                sent += 1
            elif attempts >= settings.max_attempts:
                status, sent_at = "failed", None
                failed += 1
                log.warning("delivery %s failed after %s attempts: %s", delivery.id, attempts, error)
            else:
                status, retry_at, sent_at = "pending", now + retry_delay(attempts, settings), None
                retried += 1
            with db.write() as session:
                finish_delivery(
                    session,
                    delivery.id,
                    status=status,
                    attempts=attempts,
                    next_attempt_at=retry_at,
                    error=error,
                    sent_at=sent_at,
                )
    return sent, retried, failed


def deliver_due(db: Database, now: datetime, *, channels: DeliverySettings) -> DeliveryCounts:
    """Fan out new events, gather due digests and send every due message (see the module docstring)."""
    events, queued = fan_out(db, now)
    digests = gather_digests(db, now)
    sent, retried, failed = send_due(db, now, channels)
    return DeliveryCounts(events, queued, digests, sent, retried, failed)
