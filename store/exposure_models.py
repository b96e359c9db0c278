"""Exposure tables: stored exposure intervals, their build state, VEX statements and SLA policies.

Why exposures are stored rather than computed for every report: the intervals of a system depend on all
of its snapshots and their match results, which for a fleet of 1,000 systems × 52 weekly snapshots is
about a million (snapshot, affected package) rows — seconds of work — while the reports must answer in
well under two seconds and the CRA register (later) needs the awareness times of past exposures. So
each system's intervals are rebuilt as a whole (never patched) whenever one of their inputs changes —
a new or backfilled snapshot, new match results, an advisory withdrawn, a VEX statement — and reports
read them back. Rebuilding the whole system keeps the result independent of snapshot arrival order.

``ExposureState`` records which inputs a system's rows were built from (a digest, see
``store.exposure_queries``), so a report can tell which systems are out of date and rebuild only those.

The CRA tables (``cra_*``, queries in ``store.cra_queries``) keep what cannot be recomputed later: the
moments patchgap learned that a vulnerability is exploited and that it is present in a product, and the
manufacturer's own records (awareness override, report submissions, mitigations). The manufacturer
flag itself is ``organization.is_manufacturer``, added by this area's migration (0004).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from store.models import UTCDateTime, utcnow


class ExposureRow(SQLModel, table=True):
    """One exposure interval of (system, package, vulnerability group), or one a VEX statement excludes.

    ``package`` is the purl without version; ``ecosystem`` and ``package_name`` are the matcher's key of
    the package (as in ``package_version``). ``versions`` are the affected versions seen in the interval
    in order of appearance; ``fixed_versions`` those the advisories name for the last one.
    """

    __tablename__ = "exposure"
    __table_args__ = (
        # Named here: the conventional name would pass PostgreSQL's 63-character limit.
        sa.UniqueConstraint(
            "system_id", "package", "vuln_group", "first_seen", "vex_excluded", name="uq_exposure_interval"
        ),
        # Advisory pages and re-evaluation after an advisory changes look exposures up by group.
        sa.Index(None, "vuln_group"),
    )

    id: int | None = Field(default=None, primary_key=True)
    system_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("system.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    package: str = Field(sa_type=sa.Text(), nullable=False)
    ecosystem: str = Field(sa_type=sa.String(100), nullable=False)
    package_name: str = Field(sa_type=sa.Text(), nullable=False)
    vuln_group: str = Field(sa_type=sa.String(255), nullable=False)
    versions: list[str] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    fixed_versions: list[str] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    first_seen: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_affected_seen: datetime = Field(sa_type=UTCDateTime, nullable=False)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # upgraded | removed | vex_not_affected; NULL while open
    resolution: str | None = Field(default=None, sa_type=sa.String(20))
    vex_excluded: bool = Field(default=False, nullable=False)


class ExposureState(SQLModel, table=True):
    """The inputs a system's exposure rows were last built from (see the module docstring)."""

    __tablename__ = "exposure_state"

    system_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("system.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
    inputs_digest: str = Field(sa_type=sa.String(64), nullable=False)
    built_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class VexStatementRow(SQLModel, table=True):
    """An organization's VEX statement on a vulnerability and a package (OpenVEX statuses).

    ``vulnerability`` is the id as the statement gave it (CVE, GHSA, … or a group key); it is resolved to
    a vulnerability group when exposures are built, so statements imported before their advisory count
    once it arrives. ``version`` is ``""`` when the statement covers every version of the package.
    Re-importing the same statement from the same source updates it in place.
    """

    __tablename__ = "vex_statement"
    __table_args__ = (sa.UniqueConstraint("org_id", "vulnerability", "package", "version", "source"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    vulnerability: str = Field(sa_type=sa.String(255), nullable=False)
    aliases: list[str] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    package: str = Field(sa_type=sa.Text(), nullable=False)  # purl without version
    version: str = Field(default="", sa_type=sa.Text(), nullable=False)
    # not_affected | affected | fixed | under_investigation
    status: str = Field(sa_type=sa.String(30), nullable=False)
    justification: str | None = Field(default=None, sa_type=sa.String(100))
    impact_statement: str | None = Field(default=None, sa_type=sa.Text())
    source: str = Field(sa_type=sa.Text(), nullable=False)  # file name, or "api"
    # When the statement says it was made (else when it was imported): the latest statement wins.
    stated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class SlaPolicyRow(SQLModel, table=True):
    """An organization's SLA policy as ``reports.sla.SlaPolicy`` JSON (DESIGN.md defaults without one)."""

    __tablename__ = "sla_policy"

    org_id: int = Field(
        sa_column=sa.Column(
            sa.ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    policy: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON(), nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


# --- CRA Article 14: facts recorded when patchgap learned them, and what the manufacturer recorded ----


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
