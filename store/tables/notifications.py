"""Notification tables: the event outbox.

``Event``: one fact that changed an organization's picture (kinds in ``core.events``), written in the
same transaction as the change that causes it. ``dedupe_key`` (a SHA-256 over organization, kind and
subject) is unique, so a fact is recorded once however often the change that reveals it is recomputed
(an exposure rebuilt twice opens once). ``org_id`` is ``NULL`` for an event of the installation (a sync
that failed), which concerns every organization. Rows are never updated; delivery state lives apart.

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
