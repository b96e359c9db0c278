"""Notification rules of the caller's organization and their deliveries (admin keys only).

``/api/v1/notification-rules``: list, create (a webhook's signing secret is in the answer this once),
show, delete, and ``POST {id}/test`` (a test message through the rule's channel now; the answer says
whether it was delivered). ``/api/v1/notification-deliveries``: recent messages with their status,
attempts and last error. Bodies and their limits are stated in the OpenAPI document, and they are
the rules' own checks (``pipeline.notifications``), so a body valid by the document is accepted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.concurrency import run_in_threadpool

from api.deps import Admin, DatabaseDep, SettingsDep
from api.errors import problem_responses
from api.schemas import StoredText
from pipeline.notifications import DeliverySettings
from pipeline.notifications.rules import (
    FILTER_VALUE_MAX,
    FILTER_VALUES_MAX,
    NAME_MAX,
    DeliveryInfo,
    RuleInfo,
    RuleSpec,
    add_rule,
    get_rule,
    list_deliveries,
    list_rules,
    remove_rule,
    send_test,
)
from pipeline.notifications.targets import EMAIL_MAX, EMAIL_PATTERN, HTTP_URL_PATTERN, MAX_RECIPIENTS, URL_MAX

router = APIRouter(tags=["notifications"], responses=problem_responses(401, 403))

EventKind = Literal[
    "exposure.opened",
    "exposure.closed",
    "exposure.exploited",
    "sla.due_soon",
    "sla.breached",
    "system.stale",
    "upload.failed",
    "sync.failed",
]
DeliveryStatus = Literal["pending", "sending", "sent", "failed"]
Url = Annotated[str, Field(min_length=1, max_length=URL_MAX, pattern=HTTP_URL_PATTERN)]
FilterValue = Annotated[str, StoredText("filter value"), Field(min_length=1, max_length=FILTER_VALUE_MAX)]
FilterValues = Annotated[list[FilterValue], Field(max_length=FILTER_VALUES_MAX)]
_TS = "2026-03-02T10:00:00Z"


class WebhookChannel(BaseModel):
    """POST the signed JSON envelope (README: "Notifications") to ``url``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["webhook"]
    url: Url
    secret: Annotated[str, StoredText("secret")] | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="HMAC-SHA256 signing secret; generated (and answered once) when not given.",
    )


class SlackChannel(BaseModel):
    """Post a readable message to a Slack-compatible incoming webhook."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["slack"]
    url: Url


class EmailChannel(BaseModel):
    """Send a plain-text e-mail through the server's SMTP settings."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["email"]
    recipients: list[Annotated[str, Field(max_length=EMAIL_MAX, pattern=EMAIL_PATTERN)]] = Field(
        min_length=1, max_length=MAX_RECIPIENTS
    )


class Filters(BaseModel):
    """Empty lists filter nothing; a set filter matches only events that carry its field."""

    model_config = ConfigDict(extra="forbid")

    environments: FilterValues = []
    tiers: FilterValues = Field(default=[], description="SLA tier names (exposure events).")
    systems: FilterValues = []
    owners: FilterValues = []
    tags: FilterValues = Field(default=[], description="Matches a system with any of these tags.")
    kev_only: StrictBool = Field(default=False, description="Only exposures to KEV-listed vulnerabilities.")


class RuleCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "prod-kev",
                    "events": ["exposure.opened", "exposure.exploited"],
                    "filters": {"environments": ["prod"], "kev_only": True},
                    "channel": {"type": "webhook", "url": "https://hooks.example.com/patchgap"},
                }
            ]
        },
    )

    name: Annotated[str, StoredText("name")] = Field(min_length=1, max_length=NAME_MAX)
    events: list[EventKind] = Field(default=[], max_length=8, description="Event kinds; none: every kind.")
    filters: Filters = Filters()
    channel: WebhookChannel | SlackChannel | EmailChannel = Field(discriminator="type")
    mode: Literal["immediate", "digest"] = Field(
        default="immediate", description="One message per event, or one a day at digest_hour UTC."
    )
    digest_hour: int = Field(default=8, ge=0, le=23)
    enabled: StrictBool = True


class ChannelOut(BaseModel):
    type: str
    target: str = Field(
        description="The webhook URL, a Slack URL's host (its path is a secret), or recipients."
    )
    url: str | None = Field(description="The webhook URL (null for Slack and e-mail).")
    recipients: list[str]
    signed: bool = Field(description="Whether bodies are signed (the secret is never shown again).")


class RuleOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "name": "prod-kev",
                    "events": ["exposure.opened"],
                    "filters": {
                        "environments": ["prod"],
                        "tiers": [],
                        "systems": [],
                        "owners": [],
                        "tags": [],
                        "kev_only": True,
                    },
                    "channel": {
                        "type": "webhook",
                        "target": "https://hooks.example.com/patchgap",
                        "url": "https://hooks.example.com/patchgap",
                        "recipients": [],
                        "signed": True,
                    },
                    "mode": "immediate",
                    "digest_hour": 8,
                    "enabled": True,
                    "created_at": _TS,
                }
            ]
        }
    )

    id: int
    name: str
    events: list[str]
    filters: Filters
    channel: ChannelOut
    mode: str
    digest_hour: int
    enabled: bool
    created_at: datetime


class CreatedRuleOut(BaseModel):
    """A new rule; ``secret`` (webhooks) is answered this once and cannot be retrieved again."""

    rule: RuleOut
    secret: str | None


class TestOut(BaseModel):
    delivered: bool
    error: str | None = Field(description="Why the channel did not take the message.")
    idempotency_key: str


class DeliveryOut(BaseModel):
    id: int
    rule: str
    channel: str
    event: str = Field(description="The event kind, or `digest`.")
    summary: str | None
    events: int = Field(description="1, or how many events a digest carries.")
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    idempotency_key: str


def rule_out(rule: RuleInfo) -> RuleOut:
    filters = Filters(
        environments=rule.environments,
        tiers=rule.tiers,
        systems=rule.systems,
        owners=rule.owners,
        tags=rule.tags,
        kev_only=rule.kev_only,
    )
    channel = ChannelOut(
        type=rule.channel,
        target=rule.target,
        url=rule.url if rule.channel == "webhook" else None,
        recipients=rule.recipients,
        signed=rule.signed,
    )
    return RuleOut(
        id=rule.id,
        name=rule.name,
        events=rule.events,
        filters=filters,
        channel=channel,
        mode=rule.mode,
        digest_hour=rule.digest_hour,
        enabled=rule.enabled,
        created_at=rule.created_at,
    )


def delivery_out(d: DeliveryInfo) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        rule=d.rule,
        channel=d.channel,
        event=d.kind,
        summary=d.summary,
        events=d.events,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at,
        last_error=d.last_error,
        created_at=d.created_at,
        sent_at=d.sent_at,
        idempotency_key=d.idempotency_key,
    )


def spec_of(body: RuleCreate) -> RuleSpec:
    channel = body.channel
    return RuleSpec(
        name=body.name,
        channel=channel.type,
        url=channel.url if not isinstance(channel, EmailChannel) else None,
        secret=channel.secret if isinstance(channel, WebhookChannel) else None,
        recipients=channel.recipients if isinstance(channel, EmailChannel) else [],
        events=list(body.events),
        environments=body.filters.environments,
        tiers=body.filters.tiers,
        systems=body.filters.systems,
        owners=body.filters.owners,
        tags=body.filters.tags,
        kev_only=body.filters.kev_only,
        mode=body.mode,
        digest_hour=body.digest_hour,
        enabled=body.enabled,
    )


RULES = "/api/v1/notification-rules"


@router.get(RULES, summary="List notification rules")
def list_(principal: Admin, db: DatabaseDep) -> list[RuleOut]:
    """The organization's rules, by name (secrets are never shown)."""
    return [rule_out(r) for r in list_rules(db, principal.org)]


@router.post(
    RULES,
    status_code=status.HTTP_201_CREATED,
    summary="Create a notification rule",
    responses=problem_responses(409, 422),
)
async def create(principal: Admin, db: DatabaseDep, body: RuleCreate) -> CreatedRuleOut:
    """Create a rule; a webhook rule's signing secret is in the answer this once."""
    created = await run_in_threadpool(add_rule, db, principal.org, spec_of(body))
    return CreatedRuleOut(rule=rule_out(created.rule), secret=created.secret)


@router.get(RULES + "/{rule_id}", summary="Show a notification rule", responses=problem_responses(404))
def show(principal: Admin, db: DatabaseDep, rule_id: int) -> RuleOut:
    return rule_out(get_rule(db, principal.org, rule_id))


@router.delete(RULES + "/{rule_id}", summary="Delete a notification rule", responses=problem_responses(404))
def delete(principal: Admin, db: DatabaseDep, rule_id: int) -> RuleOut:
    """Delete a rule and its deliveries; answers what was deleted."""
    return rule_out(remove_rule(db, principal.org, rule_id))


@router.post(
    RULES + "/{rule_id}/test", summary="Send a test message through a rule", responses=problem_responses(404)
)
async def test(principal: Admin, db: DatabaseDep, settings: SettingsDep, rule_id: int) -> TestOut:
    """Send a test message (marked ``test``) through the rule's channel now, once, and say whether the
    channel took it; nothing is recorded."""
    channels = DeliverySettings.from_settings(settings.notifications)
    outcome = await run_in_threadpool(send_test, db, principal.org, rule_id, channels)
    return TestOut(delivered=outcome.ok, error=outcome.error, idempotency_key=outcome.idempotency_key)


@router.get("/api/v1/notification-deliveries", summary="List notification deliveries")
def deliveries(
    principal: Admin,
    db: DatabaseDep,
    status: Annotated[DeliveryStatus | None, Query(description="Only messages in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    """The organization's recent messages, newest first: status, attempts, next attempt, last error."""
    return [delivery_out(d) for d in list_deliveries(db, principal.org, status=status, limit=limit)]
