"""The exposures list's sort and filter columns, one row per stored exposure row.

Why stored: a page of the exposures list sorted by SLA due date, filtered by tier, severity or KEV,
must be found by an index, not by assessing every exposure of the organization (300,000 open ones in a
fleet of 10,000 systems). The tier, due date, severity, KEV flag and EPSS score of a row follow from the
advisories, KEV, EPSS, the system and the organization's SLA policy, so they are computed by the
reports' own code and written here; ``ExposureListState`` records, per system, the inputs they came
from (a stamp), and a list checks the stamps and recomputes the systems whose inputs changed before
answering (``pipeline.lists.exposures``). Everything here is derived: ``patchgap db rebuild`` recomputes
it from the stored exposures.

Text columns that lists sort by use the "C" collation on PostgreSQL: pages follow code-point order on
both databases, the order the cursors and the in-memory path compare in.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from store.tables.base import UTCDateTime

#: Sort name → column; each has an index (org, state, column, identity).
SORT_COLUMNS = ("sla_due", "first_seen", "cvss", "epss", "system", "package")
#: The overview's counting index: grouped by (state, fixable, system, tier) in its order, every other
#: column the statement reads after them.
OVERVIEW_COLUMNS = (
    "org_id",
    "state",
    "fixable",
    "system",
    "sla_tier",
    "kev",
    "due_at",
    "seen_past_due",
    "risk_candidate",
    "accepted_until",
    "interval_open",
)


def _sortable() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


class ExposureListRow(SQLModel, table=True):
    """The list columns of one stored exposure row (``exposure.id``), as its report row shows them.

    ``state``: ``open`` | ``resolved`` (counted) | ``excluded`` (by triage). ``ident``: the row's
    identity — system, package, vulnerability, first seen joined by U+001F — which breaks ties in every
    sort. ``sla_due`` is ``~`` without a due date, ``cvss``/``epss`` −1 without a score (the orders
    the list promises). ``owner_key`` is the owner case-folded; ``tags_key`` the tags as ``|a|b|``.
    ``risk_candidate``: the row's SLA status would be ``breached`` or ``open`` whatever the moment (an
    accepted risk in force turns it into ``risk_accepted``); ``accepted_until``: the expiry (Unix
    seconds) of the accepted risk that decides about it, 0 without one. ``fixable``: the row names a
    fixed version; ``interval_open``: its interval has no resolution yet (an excluded row may be open);
    ``due_at``: the due date as Unix seconds; ``seen_past_due``: last seen affected at or after it.
    """

    __tablename__ = "exposure_list"
    __table_args__ = (
        *(sa.Index(f"ix_exposure_list_{name}", "org_id", "state", name, "ident") for name in SORT_COLUMNS),
        # Covers the dashboard overview's one statement (``store.queries.lists.overview_counts``).
        sa.Index("ix_exposure_list_overview", *OVERVIEW_COLUMNS),
    )

    exposure_id: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True, autoincrement=False))
    org_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False)
    )
    system_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("system.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    state: str = Field(sa_type=sa.String(10), nullable=False)
    system: str = Field(sa_type=_sortable(), nullable=False)
    environment: str = Field(sa_type=sa.Text(), nullable=False)
    owner_key: str | None = Field(default=None, sa_type=sa.Text())
    tags_key: str = Field(default="|", sa_type=sa.Text(), nullable=False)
    package: str = Field(sa_type=_sortable(), nullable=False)
    package_leaf: str = Field(sa_type=sa.Text(), nullable=False)
    ecosystem: str = Field(sa_type=sa.String(100), nullable=False)
    package_name: str = Field(sa_type=sa.Text(), nullable=False)
    vulnerability: str = Field(sa_type=sa.Text(), nullable=False)
    first_seen: str = Field(sa_type=_sortable(), nullable=False)
    ident: str = Field(sa_type=_sortable(), nullable=False)
    sla_due: str = Field(sa_type=_sortable(), nullable=False)
    cvss: float = Field(nullable=False)
    epss: float = Field(nullable=False)
    severity: str = Field(sa_type=sa.String(20), nullable=False)
    sla_tier: str | None = Field(default=None, sa_type=sa.Text())
    kev: bool = Field(nullable=False)
    risk_candidate: bool = Field(nullable=False)
    accepted_until: float = Field(nullable=False)
    # The row names a fixed version; the interval has no resolution yet (also for excluded rows).
    fixable: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()}, nullable=False)
    interval_open: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa.false()}, nullable=False
    )
    # The SLA due date (Unix seconds; none without one) and whether the row was seen affected at or
    # after it (an open row is then ``breached`` whatever the moment, unless a risk is accepted).
    due_at: float | None = Field(default=None)
    seen_past_due: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa.false()}, nullable=False
    )


class ExposureListState(SQLModel, table=True):
    """The inputs a system's list rows were computed from (a stamp) and its newest moment (last
    snapshot or decommissioning): a list evaluated before it recomputes instead of reading the rows."""

    __tablename__ = "exposure_list_state"

    system_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("system.id", ondelete="CASCADE"), primary_key=True, nullable=False)
    )
    org_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    stamp: str = Field(sa_type=sa.String(64), nullable=False)
    newest: datetime | None = Field(default=None, sa_type=UTCDateTime)
