"""Package tables: the distinct package versions of the fleet and their memoized match results.

A ``PackageVersion`` is one distinct ``(ecosystem, name, version, purl)`` across the whole database;
a fleet of systems sharing a library is matched once. ``MatchResult`` holds one row per (package
version, affected entry) that is affected or could not be evaluated (``status`` = ``affected`` |
``unknown``); "not affected" is the absence of a row. ``PackageMatchState`` says a package version has
been matched at all, so a new snapshot matches only package versions never seen before. A new or
changed advisory deletes and recomputes the rows of the package keys it names.

Queries: ``store.queries.packages``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.time import utcnow
from store.tables.base import UTCDateTime


class PackageVersion(SQLModel, table=True):
    """One distinct package version across the whole database, as the matcher keys it."""

    __tablename__ = "package_version"
    __table_args__ = (
        # purl first: ingest resolves the ids of freshly upserted rows by purl through this index.
        sa.UniqueConstraint("purl", "ecosystem", "name", "version"),
        # Re-matching after an advisory changes looks packages up by (ecosystem, name).
        sa.Index(None, "ecosystem", "name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ecosystem: str = Field(sa_type=sa.String(100), nullable=False)
    name: str = Field(sa_type=sa.String(), nullable=False)
    version: str = Field(sa_type=sa.String(), nullable=False)
    purl: str = Field(sa_type=sa.String(), nullable=False)


class MatchResult(SQLModel, table=True):
    __tablename__ = "match_result"
    __table_args__ = (
        # "Which package versions does this advisory entry affect": re-matching and advisory pages.
        sa.Index(None, "affected_id"),
    )

    package_version_id: int = Field(
        sa_column=sa.Column(
            sa.ForeignKey("package_version.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    affected_id: int = Field(
        sa_column=sa.Column(
            sa.ForeignKey("affected_package.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    status: str = Field(sa_type=sa.String(20), nullable=False)  # "affected" | "unknown"
    range_index: int | None = Field(default=None)
    introduced: str | None = Field(default=None, sa_type=sa.Text())
    boundary_kind: str | None = Field(default=None, sa_type=sa.String(20))  # "fixed" | "last_affected"
    boundary_value: str | None = Field(default=None, sa_type=sa.Text())
    fixed_versions: list[str] = Field(default_factory=list, sa_type=sa.JSON(), nullable=False)
    reason: str | None = Field(default=None, sa_type=sa.Text())  # why "unknown"
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON(), nullable=False)


class PackageMatchState(SQLModel, table=True):
    __tablename__ = "package_match_state"

    package_version_id: int = Field(
        sa_column=sa.Column(
            sa.ForeignKey("package_version.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    matched_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class MatchEpoch(SQLModel, table=True):
    """How many times stored match results were forgotten (``invalidate_keys``, ``invalidate_all``):
    one row. Results written again after a forgetting name the same package versions and entries — so
    the same counts and id sums in the exposure build state — while their content can differ (a
    matcher upgrade moves fixed versions), so the build state counts the forgettings as well."""

    __tablename__ = "match_epoch"

    id: int = Field(default=1, primary_key=True)
    epoch: int = Field(default=0, nullable=False)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
