"""API tables: API keys, dashboard sessions and the durable upload job queue.

- ``ApiKey``: a key belongs to one organization and has one role. Only the SHA-256 of the whole token
  is stored, beside a short random ``prefix`` that is part of the token and indexes the lookup, so a
  request costs one indexed read and one constant-time comparison, and a database leak reveals no
  usable key. Revoking sets ``revoked_at`` (the row stays, for the audit trail of ``keys list``).
- ``DashboardSession``: a signed-in browser. The cookie carries a random token whose SHA-256 is the
  key here; the row points to the API key that signed in, so revoking the key ends its sessions.
  Kept in the database (not in a signed cookie) so that several API workers share sessions and a
  sign-out is real.
- ``UploadJob``: one queued SBOM upload (Dependency-Track-compatible ``/api/v1/bom``). The SBOM bytes
  wait here, compressed, until a worker claims the job (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so an
  accepted upload survives a restart. ``token`` is the UUID the client polls.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from store.models import UTCDateTime, utcnow


class ApiKey(SQLModel, table=True):
    """An API key of one organization; the secret itself is never stored."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    name: str = Field(default="", sa_type=sa.String(200), nullable=False)
    role: str = Field(sa_type=sa.String(20), nullable=False)  # "admin" | "uploader" | "reader"
    prefix: str = Field(sa_column=sa.Column(sa.String(32), nullable=False, unique=True))
    key_hash: str = Field(sa_type=sa.String(64), nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DashboardSession(SQLModel, table=True):
    """A browser signed in to the dashboard with an API key."""

    __tablename__ = "dashboard_session"

    token_hash: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True, nullable=False))
    key_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("api_key.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    csrf_token: str = Field(sa_type=sa.String(64), nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


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
