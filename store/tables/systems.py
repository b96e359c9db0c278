"""System tables: deployed systems, their SBOM snapshots and the component sets the snapshots point at.

Shape of the data (why it is split this way):

- A ``Snapshot`` is one uploaded SBOM of one system at one point in time. Its raw bytes are kept
  (compressed) so that anything derived from them can be re-derived without asking for a re-upload.
- Most weekly snapshots repeat the previous one, so the components are not linked to the snapshot
  directly: a snapshot points to a ``ComponentSet``, addressed by the SHA-256 of its sorted component
  identities and stored once, however many snapshots (of however many systems) share it.
- A set links the distinct package versions it contains (``store.tables.packages.PackageVersion``,
  shared across the whole database, so matching is memoized on them).
- Components that cannot be assessed (no purl, unsupported ecosystem …) are kept as
  ``NotAssessableComponent`` rows of the set, with the reason, so they are counted and reported.

Queries: ``store.queries.systems``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.time import utcnow
from store.tables.base import UTCDateTime


class System(SQLModel, table=True):
    """A deployed system whose SBOMs are uploaded over time."""

    __tablename__ = "system"
    __table_args__ = (
        sa.UniqueConstraint("org_id", "name"),
        # "Which systems of the organization changed since sequence N" (``store.queries.changes``).
        sa.Index("ix_system_org_id_changed_seq", "org_id", "changed_seq"),
        # "… whose exposure inputs changed since sequence N" (the exposure check).
        sa.Index("ix_system_org_id_inputs_seq", "org_id", "inputs_seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organization.id", nullable=False)
    name: str = Field(sa_type=sa.String(200), nullable=False)
    environment: str = Field(default="prod", sa_type=sa.String(50), nullable=False)
    internet_exposed: bool = Field(default=False, nullable=False)
    criticality: str = Field(default="medium", sa_type=sa.String(20), nullable=False)
    # Expected SBOM cadence: a system silent for more than twice this is reported as stale.
    cadence_days: int = Field(default=7, nullable=False)
    release_label: str | None = Field(default=None, sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # Who answers for the system (a team or an e-mail address) and its labels (``core.systems`` rules;
    # tags stored de-duplicated and sorted).
    owner: str | None = Field(default=None, sa_type=sa.String(200))
    tags: list[str] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON(), nullable=False, server_default="[]")
    )
    # Taken out of service at this moment (NULL: active). Its history stays; its open exposures close
    # as ``decommissioned`` there (``reports.timeline``), and uploads to it are refused.
    decommissioned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The organization's change sequence (``OrgChange``) when the system's exposure or list inputs last
    # changed: 0 before the first change recorded.
    changed_seq: int = Field(
        default=0, sa_type=sa.BigInteger, nullable=False, sa_column_kwargs={"server_default": "0"}
    )
    # The same when its exposure inputs last changed (not by a list write or a rebuild only).
    inputs_seq: int = Field(
        default=0, sa_type=sa.BigInteger, nullable=False, sa_column_kwargs={"server_default": "0"}
    )


class OrgChange(SQLModel, table=True):
    """An organization's change clock: its sequence number moves, in the writing transaction, with
    every change of one of its systems' exposure or list inputs (``store.queries.changes``). Row
    locked from the move to the commit on PostgreSQL, so the numbers are taken in commit order."""

    __tablename__ = "org_change"

    org_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("organization.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        )
    )
    seq: int = Field(sa_type=sa.BigInteger, nullable=False)


class ComponentSet(SQLModel, table=True):
    """The components of one or more snapshots, stored once and addressed by content."""

    __tablename__ = "component_set"

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    package_count: int = Field(nullable=False)
    not_assessable_count: int = Field(nullable=False)


class ComponentSetMember(SQLModel, table=True):
    """Link from a component set to a distinct package version it contains."""

    __tablename__ = "component_set_member"
    __table_args__ = (
        # "Which sets (hence snapshots) contain this package version": the exposure queries' entry.
        sa.Index(None, "package_version_id", "set_id"),
    )

    set_id: int = Field(foreign_key="component_set.id", primary_key=True)
    package_version_id: int = Field(foreign_key="package_version.id", primary_key=True)


class NotAssessableComponent(SQLModel, table=True):
    """A component of a set that cannot be matched, kept with the reason so it is counted and shown."""

    __tablename__ = "not_assessable_component"

    id: int | None = Field(default=None, primary_key=True)
    set_id: int = Field(foreign_key="component_set.id", nullable=False, index=True)
    name: str = Field(sa_type=sa.String(), nullable=False)
    version: str | None = Field(default=None, sa_type=sa.String())
    purl: str | None = Field(default=None, sa_type=sa.String())
    reason: str = Field(sa_type=sa.String(50), nullable=False)
    detail: str = Field(default="", sa_type=sa.String(), nullable=False)


class Snapshot(SQLModel, table=True):
    """One uploaded SBOM of a system; ``(system_id, sha256)`` makes re-uploads idempotent."""

    __tablename__ = "snapshot"
    __table_args__ = (
        sa.UniqueConstraint("system_id", "sha256"),
        # Timelines: the snapshots of a system in observed order.
        sa.Index(None, "system_id", "observed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    system_id: int = Field(foreign_key="system.id", nullable=False)
    observed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    format: str = Field(sa_type=sa.String(30), nullable=False)
    spec_version: str = Field(sa_type=sa.String(20), nullable=False)
    serial_number: str | None = Field(default=None, sa_type=sa.String())
    subject: str | None = Field(default=None, sa_type=sa.String())
    sha256: str = Field(sa_type=sa.String(64), nullable=False)
    raw: bytes = Field(sa_type=sa.LargeBinary(), nullable=False)
    raw_size: int = Field(nullable=False)
    compression: str = Field(sa_type=sa.String(10), nullable=False)
    quality: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    component_set_id: int = Field(foreign_key="component_set.id", nullable=False, index=True)
    release_label: str | None = Field(default=None, sa_type=sa.String(200))
    component_count: int = Field(nullable=False)
    not_assessable_count: int = Field(nullable=False)
