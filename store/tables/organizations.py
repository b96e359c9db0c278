"""Organization tables: tenants, their API keys and the dashboard sessions signed in with those keys.

- ``Organization``: a tenant; every system, snapshot, API key and VEX statement belongs to one.
- ``ApiKey``: a key belongs to one organization and has one role. Only the SHA-256 of the whole token
  is stored, beside a short random ``prefix`` that is part of the token and indexes the lookup, so a
  request costs one indexed read and one constant-time comparison, and a database leak reveals no
  usable key. Revoking sets ``revoked_at`` (the row stays, for the audit trail of ``keys list``).
- ``DashboardSession``: a signed-in browser. The cookie carries a random token whose SHA-256 is the
  key here; the row points to the API key that signed in, so revoking the key ends its sessions.
  Kept in the database (not in a signed cookie) so that several API workers share sessions and a
  sign-out is real.

Queries: ``store.queries.organizations``.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.time import utcnow
from store.tables.base import UTCDateTime


class Organization(SQLModel, table=True):
    """A tenant: every system, snapshot and (later) API key and VEX statement belongs to one."""

    __tablename__ = "organization"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # A manufacturer under the Cyber Resilience Act: only these get the Article 14 register. The column
    # is added by migration 0004 (the exposures area, where the register's facts live).
    is_manufacturer: bool = Field(
        default=False, nullable=False, sa_column_kwargs={"server_default": sa.false()}
    )
    # An Akrites member: may be shown embargoed Akrites records (with keys that have ``embargo``). Set by
    # the installation's operator only (``patchgap orgs set --akrites-member``), never by the tenant.
    akrites_member: bool = Field(
        default=False, nullable=False, sa_column_kwargs={"server_default": sa.false()}
    )


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
    # May read embargoed Akrites data (only counts in an organization that is an Akrites member).
    embargo: bool = Field(default=False, nullable=False, sa_column_kwargs={"server_default": sa.false()})


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
