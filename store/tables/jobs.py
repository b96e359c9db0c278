"""Job tables: the durable queue of SBOM uploads.

``UploadJob``: one queued SBOM upload (Dependency-Track-compatible ``/api/v1/bom``). The SBOM bytes
wait here, compressed, until a worker claims the job (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so an
accepted upload survives a restart. ``token`` is the UUID the client polls.

Queries: ``store.queries.jobs``.
"""

from __future__ import annotations

from datetime import datetime

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
