"""Notification tables: the event outbox, notification rules and their deliveries.

``Event``: one fact that changed an organization's picture (kinds in ``core.events``), written in the
same transaction as the change that causes it. ``dedupe_key`` (a SHA-256 over organization, kind and
subject) is unique, so a fact is recorded once however often the change that reveals it is recomputed
(an exposure rebuilt twice opens once). ``org_id`` is ``NULL`` for an event of the installation (a sync
that failed), which concerns every organization. Rows are never updated; delivery state lives apart:

``NotificationRule``: an organization's rule (event kinds, filters, channel, immediate or daily digest);
``EventFanout``: the events already turned into deliveries; ``Delivery``: one message of a rule, with
its attempts, next attempt and idempotency key (``pipeline.notifications``).

Queries: ``store.queries.notifications``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.time import utcnow
from store.tables.base import UTCDateTime


class Event(SQLModel, table=True):
    """One outbox event."""

    __tablename__ = "event"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    kind: str = Field(sa_type=sa.String(40), nullable=False)
    dedupe_key: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    system_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.ForeignKey("system.id", ondelete="SET NULL"), nullable=True, index=True),
    )
    vuln_group: str | None = Field(default=None, sa_type=sa.String(255))
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON(), nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class NotificationRule(SQLModel, table=True):
    """An organization's rule: which events (kinds and filters) go where (channel), and how (mode).

    An empty filter list filters nothing; a filter that is set only matches events that carry the field
    it reads (``pipeline.notifications.matching``). ``secret`` signs webhook bodies, so it is kept as
    given (it cannot be hashed); it is shown once, when the rule is created.
    """

    __tablename__ = "notification_rule"
    __table_args__ = (sa.UniqueConstraint("org_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    name: str = Field(sa_type=sa.String(100), nullable=False)
    event_kinds: list[str] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    environments: list[str] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    tiers: list[str] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    systems: list[str] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    owners: list[str] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    tags: list[str] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    kev_only: bool = Field(default=False, nullable=False)
    # "webhook" | "slack" | "email"
    channel: str = Field(sa_type=sa.String(20), nullable=False)
    url: str | None = Field(default=None, sa_type=sa.Text())
    secret: str | None = Field(default=None, sa_type=sa.String(200))
    recipients: list[str] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    # "immediate" | "digest" (one message a day, at digest_hour UTC)
    mode: str = Field(default="immediate", sa_type=sa.String(20), nullable=False)
    digest_hour: int = Field(default=8, nullable=False)
    enabled: bool = Field(default=True, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class EventFanout(SQLModel, table=True):
    """An event that has been turned into deliveries for every rule it matched (at ``done_at``).

    The anti-join "events without a fan-out row" finds the events still to fan out; unlike a cursor
    over event ids it misses no event whose transaction commits after a later id's did.
    """

    __tablename__ = "event_fanout"

    event_id: int = Field(
        sa_column=sa.Column(
            sa.ForeignKey("event.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
        )
    )
    done_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Delivery(SQLModel, table=True):
    """One message of a rule: one event (immediate), one event held for a digest, or a digest.

    ``status``: ``pending`` (due at ``next_attempt_at``) → ``sending`` (claimed by a worker until
    ``next_attempt_at``, its lease) → ``sent`` | ``failed`` (after the last attempt, with ``last_error``);
    ``held`` is an event waiting for its rule's digest (due at ``next_attempt_at``), ``digested`` one a
    digest (``digest_id``) took up. ``idempotency_key`` is the same on every attempt of a message.
    """

    __tablename__ = "delivery"
    __table_args__ = (
        sa.UniqueConstraint("rule_id", "event_id"),
        # Workers claim due messages: "WHERE status IN (...) AND next_attempt_at <= now".
        sa.Index(None, "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    rule_id: int = Field(
        sa_column=sa.Column(
            sa.ForeignKey("notification_rule.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    event_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.ForeignKey("event.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    digest_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.ForeignKey("delivery.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    status: str = Field(sa_type=sa.String(20), nullable=False)
    attempts: int = Field(default=0, nullable=False)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_error: str | None = Field(default=None, sa_type=sa.Text())
    idempotency_key: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
