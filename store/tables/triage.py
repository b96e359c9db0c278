"""Triage tables: analysis records of an organization and their append-only history.

- ``AnalysisRow``: the scope of one analysis — a vulnerability (the group key when the advisory was
  known, else the id as given, with the aliases its source named; resolved to a group when exposures are
  built, like the VEX statements it replaces), a package (purl without version), optionally a version
  (``""``: every version) and a system (``NULL``: every system). ``scope_key`` is the sha256 of those
  four, unique per organization: a plain unique constraint would let two "every system" rows in, since
  ``NULL`` never equals ``NULL``.
- ``AnalysisEntryRow``: one decision about a record — its state, justification, impact statement,
  comment, expiry and approver (accepted risks), who made it (``actor``, ``actor_role``), when it says it
  was made (``decided_at``: a VEX statement keeps its own time) and when it was recorded, what it came
  from (``source``), and the state before it (``previous_state``). The record's current decision is the
  entry with the latest ``decided_at`` (ties: the one recorded last), so re-importing an old VEX document
  never overrides a later decision.

Both tables are append-only: migration 0009 installs triggers that refuse every UPDATE and DELETE of
their rows, on SQLite and PostgreSQL, so the history an auditor reads is the history that happened.
Queries: ``store.queries.triage``.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.time import utcnow
from store.tables.base import UTCDateTime


class AnalysisRow(SQLModel, table=True):
    """The scope of an analysis record (see the module docstring); never updated or deleted."""

    __tablename__ = "analysis"
    __table_args__ = (sa.UniqueConstraint("org_id", "scope_key"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(sa_column=sa.Column(sa.ForeignKey("organization.id"), nullable=False, index=True))
    vulnerability: str = Field(sa_type=sa.String(255), nullable=False)
    aliases: list[str] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    package: str = Field(sa_type=sa.Text(), nullable=False)  # purl without version
    version: str = Field(default="", sa_type=sa.Text(), nullable=False)  # "": every version
    system_id: int | None = Field(
        default=None, sa_column=sa.Column(sa.ForeignKey("system.id"), nullable=True)
    )
    scope_key: str = Field(sa_type=sa.String(64), nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class AnalysisEntryRow(SQLModel, table=True):
    """One decision in an analysis record's history (see the module docstring); never updated or deleted."""

    __tablename__ = "analysis_entry"

    id: int | None = Field(default=None, primary_key=True)
    analysis_id: int = Field(sa_column=sa.Column(sa.ForeignKey("analysis.id"), nullable=False, index=True))
    # in_triage | exploitable | not_affected | false_positive | accepted_risk | resolved (core.triage)
    state: str = Field(sa_type=sa.String(20), nullable=False)
    previous_state: str | None = Field(default=None, sa_type=sa.String(20))
    justification: str | None = Field(default=None, sa_type=sa.String(100))
    impact_statement: str | None = Field(default=None, sa_type=sa.Text())
    comment: str | None = Field(default=None, sa_type=sa.Text())
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approver: str | None = Field(default=None, sa_type=sa.String(200))
    actor: str = Field(sa_type=sa.String(200), nullable=False)
    actor_role: str = Field(sa_type=sa.String(50), nullable=False)
    source: str = Field(sa_type=sa.Text(), nullable=False)  # api, cli, dashboard, a VEX document …
    decided_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
