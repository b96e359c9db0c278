"""Exposure tables: stored exposure intervals, their build state and SLA policies.

Why exposures are stored rather than computed for every report: the intervals of a system depend on all
of its snapshots and their match results, which for a fleet of 1,000 systems × 52 weekly snapshots is
about a million (snapshot, affected package) rows — seconds of work — while the reports must answer in
well under two seconds and the CRA register needs the awareness times of past exposures. So each
system's intervals are rebuilt as a whole (never patched) whenever one of their inputs changes — a new
or backfilled snapshot, new match results, an advisory withdrawn, a triage decision (an analysis record
or an imported VEX statement, ``store.tables.triage``) — and reports read them back. Rebuilding the
whole system keeps the result independent of snapshot arrival order.

``ExposureState`` records which inputs a system's rows were built from (a digest, see
``store.queries.exposures``), so a report can tell which systems are out of date and rebuild only those.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.time import utcnow
from store.tables.base import UTCDateTime


class ExposureRow(SQLModel, table=True):
    """One exposure interval of (system, package, vulnerability group), or one an analysis record excludes.

    ``package`` is the purl without version; ``ecosystem`` and ``package_name`` are the matcher's key of
    the package (as in ``package_version``). ``versions`` are the affected versions seen in the interval
    in order of appearance; ``current_versions`` those deployed at the last affected snapshot (several
    when a system runs several at once); ``version_fixes`` maps each of them, and every other
    version of ``versions``, to the fixed versions the advisories name for it (what an earlier moment
    deployed), and ``fixed_versions`` is that list for the exposure's ``version``.
    ``excluded_by`` is ``""`` for a counted interval, else the state of the records that exclude it
    (``not_affected`` | ``false_positive``); ``analysis_id`` the record that decides about the last
    version (any state), ``NULL`` when none does. Both are rebuilt with the rows whenever a record changes.
    """

    __tablename__ = "exposure"
    __table_args__ = (
        # Named here: the conventional name would pass PostgreSQL's 63-character limit.
        sa.UniqueConstraint(
            "system_id", "package", "vuln_group", "first_seen", "excluded_by", name="uq_exposure_interval"
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
    current_versions: list[str] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON(), nullable=False, server_default="[]")
    )
    version_fixes: dict[str, list[str]] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON(), nullable=False, server_default="{}")
    )
    # ``reports.exposure_records.Exposure.steps``: [[ISO 8601 time, [versions]], ...], ``[]`` when the
    # deployed versions never changed within the interval (what an earlier moment's cut reads).
    version_steps: list[list[Any]] = Field(
        default_factory=list, sa_column=sa.Column(sa.JSON(), nullable=False, server_default="[]")
    )
    first_seen: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_affected_seen: datetime = Field(sa_type=UTCDateTime, nullable=False)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # upgraded | removed | vex_not_affected | false_positive; NULL while open
    resolution: str | None = Field(default=None, sa_type=sa.String(20))
    excluded_by: str = Field(default="", sa_type=sa.String(20), nullable=False)
    analysis_id: int | None = Field(
        default=None, sa_column=sa.Column(sa.ForeignKey("analysis.id"), nullable=True)
    )


class ExposureState(SQLModel, table=True):
    """The inputs a system's exposure rows were last built from (see the module docstring)."""

    __tablename__ = "exposure_state"

    system_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("system.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
    inputs_digest: str = Field(sa_type=sa.String(64), nullable=False)
    built_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


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


# The systems list counts and sorts by each system's open counted exposures: an index of just those rows
# (partial, on both dialects) answers a system's count from a few index entries.
sa.Index(
    "ix_exposure_open_system",
    ExposureRow.__table__.c.system_id,  # type: ignore[attr-defined]
    sqlite_where=sa.text("resolved_at IS NULL AND excluded_by = ''"),
    postgresql_where=sa.text("resolved_at IS NULL AND excluded_by = ''"),
)
