"""CRA Article 14 tables: facts recorded when patchgap learned them, and what the manufacturer recorded.

They keep what cannot be recomputed later: the moments patchgap learned that a vulnerability is
exploited and that it is present in a product, and the manufacturer's own records (awareness override,
report submissions, mitigations). The manufacturer flag itself is ``organization.is_manufacturer``
(added by migration 0004, with these tables).

Queries: ``store.queries.cra``.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.time import utcnow
from store.tables.base import UTCDateTime


class CraExploitedRow(SQLModel, table=True):
    """When patchgap first held an exploitation fact for a vulnerability group (global, not per org).

    ``known_at`` is the arrival of the first fact — an exploited advisory's ``imported_at``, or the
    fetch time of the KEV catalog that listed one of the group's CVEs — recorded once and never moved:
    KEV and advisory rows are replaced on every import, so their own times cannot be read back later.
    ``sources`` and the KEV facts grow as further sources report the same exploitation.
    """

    __tablename__ = "cra_exploited"

    vuln_group: str = Field(sa_type=sa.String(255), primary_key=True)
    known_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    sources: list[str] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    kev_date_added: datetime | None = Field(default=None, sa_type=UTCDateTime)  # KEV's own dateAdded
    known_ransomware: bool = Field(default=False, nullable=False)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class CraPresenceRow(SQLModel, table=True):
    """When patchgap first knew a vulnerability group was present in a system (a product, for CRA).

    ``known_at`` = the earliest max(snapshot received_at, advisory imported_at) over the affected
    matches of the system's snapshots, computed when its exposures are rebuilt and recorded once: a
    later re-import of the advisory (a newer ``imported_at``) must not move what was known earlier.
    """

    __tablename__ = "cra_presence"

    system_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("system.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
    vuln_group: str = Field(sa_type=sa.String(255), primary_key=True)
    known_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class CraCaseRow(SQLModel, table=True):
    """What the manufacturer recorded on one (product, vulnerability group): an awareness override with
    its note, when each of the three Article 14 reports was submitted, and the mitigations applied."""

    __tablename__ = "cra_case"

    system_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("system.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
    vuln_group: str = Field(sa_type=sa.String(255), primary_key=True)
    awareness_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    awareness_note: str = Field(default="", sa_type=sa.Text(), nullable=False)
    early_warning_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    notification_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    final_report_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    mitigations: list[str] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
