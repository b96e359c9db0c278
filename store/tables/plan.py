"""The remediation plan's items, stored: one row per open exposure-list row and affected version
deployed at its last snapshot (``reports.plan.PlanItem``), with the upgrade advice.

Why stored: the plan of a fleet of 10,000 systems merges half a million items, each needing the
exposure's assessment and the version's advice; computed per request that is many seconds. The items
follow from the same inputs as the exposures list's rows (``store.tables.lists``) and are written with
them, under the same per-system stamp, by ``pipeline.lists.exposures.refresh_list``; a plan page then
ranks the actions with one aggregate statement (``store.queries.plan``). ``weight`` is the pair's
weight without the past-due factor (``reports.plan.base_weight``): the statement applies that factor at
the moment asked for. Everything here is derived: ``patchgap db rebuild`` recomputes it.

Text columns the plan sorts by use the "C" collation on PostgreSQL (code-point order, as in memory).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from store.tables.base import UTCDateTime


def _sortable() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


class PlanItemRow(SQLModel, table=True):
    """One item of the plan: an affected ``version`` of the open exposure ``exposure_id``.

    ``owner_key`` is the system's owner case-folded, ``tags_key`` its tags as ``|a|b|`` (the exposures
    list's filter columns); ``due_us`` is ``sla_due`` in microseconds since the Unix epoch (days past
    due are computed from it, exactly as from the datetimes); ``in_major_leaves_open`` the groups as a
    JSON array.
    """

    __tablename__ = "plan_item"
    __table_args__ = (
        # The ranking's GROUP BY walks this index, which also holds what the score and the filters need
        # (no row is read from the table).
        sa.Index(
            "ix_plan_item_action",
            "org_id",
            "advice",
            "package",
            "version",
            "to_version",
            "ecosystem",
            "weight",
            "due_us",
            "kev",
            "vulnerability",
            "system",
            "environment",
            "internet_exposed",
            "owner_key",
            "tags_key",
        ),
        # One system's plan.
        sa.Index("ix_plan_item_system", "org_id", "system", "advice"),
    )

    exposure_id: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True, autoincrement=False))
    version: str = Field(sa_column=sa.Column(_sortable(), primary_key=True))
    org_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False)
    )
    system_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("system.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    system: str = Field(sa_type=_sortable(), nullable=False)
    environment: str = Field(sa_type=sa.Text(), nullable=False)
    internet_exposed: bool = Field(nullable=False)
    owner_key: str | None = Field(default=None, sa_type=sa.Text())
    tags_key: str = Field(default="|", sa_type=sa.Text(), nullable=False)
    package: str = Field(sa_type=_sortable(), nullable=False)
    ecosystem: str = Field(sa_type=_sortable(), nullable=False)
    vulnerability: str = Field(sa_type=sa.Text(), nullable=False)
    severity: str = Field(sa_type=sa.String(20), nullable=False)
    cvss: float | None = Field(default=None)
    kev: bool = Field(nullable=False)
    epss: float | None = Field(default=None)
    sla_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_us: int | None = Field(default=None, sa_type=sa.BigInteger())
    advice: str = Field(sa_type=sa.String(30), nullable=False)
    to_version: str | None = Field(default=None, sa_type=_sortable())
    advice_detail: str = Field(sa_type=sa.Text(), nullable=False)
    major_upgrade: bool | None = Field(default=None)
    in_major: str | None = Field(default=None, sa_type=sa.Text())
    in_major_leaves_open: str = Field(default="[]", sa_type=sa.Text(), nullable=False)
    last_resort_maintainer: bool = Field(nullable=False)
    weight: float = Field(nullable=False)
