"""Exposures keep where their deployed versions changed, and the fixes of every version they ran.

``version_steps``: (snapshot time, the affected versions deployed from it on) for every change within
the interval; ``version_fixes`` now names every version of ``versions``, not only those deployed last.
With both, a report at an earlier moment cuts the stored rows there instead of computing every interval
again from the snapshots (``pipeline.exposures.lookback``). Every system's build state is cleared, so
the next report rebuilds the rows with them (or ``patchgap db rebuild``).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added in place (SQLite's ALTER TABLE ADD COLUMN), never by recreating the table (see 0013).
    with op.batch_alter_table("exposure") as batch:
        batch.add_column(sa.Column("version_steps", sa.JSON(), nullable=False, server_default="[]"))
    # Rows built before this revision lack both: rebuild every system on the next report.
    op.execute(sa.text("DELETE FROM exposure_state"))
    # A build state written moves the organization's change clock and names its systems
    # (``store.queries.changes``): a process that found them current before this revision checks again.
    op.execute(sa.text("UPDATE org_change SET seq = seq + 1"))
    op.execute(
        sa.text(
            "UPDATE system SET changed_seq = (SELECT seq FROM org_change WHERE org_id = system.org_id), "
            "inputs_seq = (SELECT seq FROM org_change WHERE org_id = system.org_id) "
            "WHERE org_id IN (SELECT org_id FROM org_change)"
        )
    )


def downgrade() -> None:
    # Not in batch mode: see 0013's downgrade.
    op.execute(sa.text("ALTER TABLE exposure DROP COLUMN version_steps"))
