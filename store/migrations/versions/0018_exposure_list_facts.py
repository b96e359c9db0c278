"""The exposures list's rows say whether a fix is published and whether the interval is still open.

``fixable`` (the row names a fixed version), ``interval_open`` (no resolution yet, also for rows
triage excludes), ``due_at`` (the SLA due date as Unix seconds) and ``seen_past_due`` (last seen
affected at or after the due date) let the dashboard overview count open fixable, past-due and
excluded-open exposures with one statement instead of assessing every exposure. Existing list rows are forgotten: the next list
of each organization (or ``patchgap db rebuild``) computes them again with the new columns.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Covers the dashboard overview's one statement (``store.queries.lists.overview_counts``).
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


def upgrade() -> None:
    # Derived rows: forgetting them is safe (their stamps go with them, so they are recomputed).
    op.execute(sa.text("DELETE FROM exposure_list"))
    op.execute(sa.text("DELETE FROM exposure_list_state"))
    # Plain ADD COLUMN on both dialects (no batch: see 0017).
    op.add_column("exposure_list", sa.Column("fixable", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column(
        "exposure_list", sa.Column("interval_open", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("exposure_list", sa.Column("due_at", sa.Float(), nullable=True))
    op.add_column(
        "exposure_list", sa.Column("seen_past_due", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_index("ix_exposure_list_overview", "exposure_list", list(OVERVIEW_COLUMNS), unique=False)


def downgrade() -> None:
    op.drop_index("ix_exposure_list_overview", table_name="exposure_list")
    op.execute(sa.text("ALTER TABLE exposure_list DROP COLUMN seen_past_due"))
    op.execute(sa.text("ALTER TABLE exposure_list DROP COLUMN due_at"))
    op.execute(sa.text("ALTER TABLE exposure_list DROP COLUMN interval_open"))
    op.execute(sa.text("ALTER TABLE exposure_list DROP COLUMN fixable"))
