"""Job tables: the durable queue of SBOM uploads, and the schedule and history of the scheduled jobs.

``UploadJob``: one queued SBOM upload (Dependency-Track-compatible ``/api/v1/bom``). The SBOM bytes
wait here, compressed, until a worker claims the job (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so an
accepted upload survives a restart. ``token`` is the UUID the client polls.

``JobSchedule``: one row per scheduled job (``kev``, ``osv``, ``csaf:<name>`` …): when it is next due,
and the lease of the process running it now. Claiming a due job is a short transaction that locks its
row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and sets the lease, so with several processes each due
job runs once; a process that dies mid-run leaves a lease that expires.

``JobRun``: one row per run of a job, kept as its history: outcome, counts, error, attempt, runner.

Queries: ``store.queries.jobs``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.time import utcnow
from store.tables.base import UTCDateTime


class UploadJob(SQLModel, table=True):
    """A queued SBOM upload and, once processed, its outcome."""

    __tablename__ = "upload_job"
    __table_args__ = (
        # Workers claim the oldest queued job: "WHERE status = 'queued' ORDER BY id".
        sa.Index(None, "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(sa_column=sa.Column(sa.String(36), nullable=False, unique=True))
    org_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    system_name: str = Field(sa_type=sa.String(200), nullable=False)
    release_label: str | None = Field(default=None, sa_type=sa.String(200))
    source: str = Field(sa_type=sa.String(300), nullable=False)
    observed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    payload: bytes = Field(sa_type=sa.LargeBinary(), nullable=False)
    # "queued" -> "processing" -> "done" | "failed"
    status: str = Field(default="queued", sa_type=sa.String(20), nullable=False)
    attempts: int = Field(default=0, nullable=False)
    error: str | None = Field(default=None, sa_type=sa.Text())
    result: str | None = Field(default=None, sa_type=sa.String(20))  # "created" | "unchanged"
    snapshot_id: int | None = Field(
        default=None, sa_column=sa.Column(sa.ForeignKey("snapshot.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class JobSchedule(SQLModel, table=True):
    """The schedule of one job: next due moment, the running lease, the last outcome."""

    __tablename__ = "job_schedule"

    name: str = Field(sa_column=sa.Column(sa.String(120), primary_key=True))
    next_due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # Set while a process runs the job: until then no other process claims it.
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    running_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    running_by: str | None = Field(default=None, sa_type=sa.String(200))
    last_run_id: int | None = Field(default=None)
    last_outcome: str | None = Field(default=None, sa_type=sa.String(20))
    last_finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=sa.Text())
    consecutive_failures: int = Field(default=0, nullable=False)


class JobRun(SQLModel, table=True):
    """One run of a scheduled job (or of ``patchgap jobs run``)."""

    __tablename__ = "job_run"
    __table_args__ = (
        # "The recent runs of a job": WHERE job = ? ORDER BY id DESC.
        sa.Index(None, "job", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(sa_type=sa.String(120), nullable=False)
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    finished_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # "ok" | "failed" | "skipped"
    outcome: str = Field(sa_type=sa.String(20), nullable=False)
    counts: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON(), nullable=False)
    error: str | None = Field(default=None, sa_type=sa.Text())
    attempt: int = Field(default=1, nullable=False)
    # "manual" (patchgap jobs run) or "scheduled"
    trigger: str = Field(sa_type=sa.String(20), nullable=False)
    runner: str = Field(sa_type=sa.String(200), nullable=False)
