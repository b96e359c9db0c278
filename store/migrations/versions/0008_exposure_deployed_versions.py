"""Exposures name every affected version deployed at their last affected snapshot, each with its fixes.

``current_versions``: the affected versions of the package at the interval's last affected snapshot
(a system may run several at once); ``version_fixes``: the fixed versions the advisories name for each
of them. Every system's build state is cleared, so the next report rebuilds the rows with both.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exposure") as batch:
        batch.add_column(sa.Column("current_versions", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("version_fixes", sa.JSON(), nullable=False, server_default="{}"))
    # Rows built before this revision lack both: rebuild every system on the next report.
    op.execute("DELETE FROM exposure_state")


def downgrade() -> None:
    with op.batch_alter_table("exposure") as batch:
        batch.drop_column("version_fixes")
        batch.drop_column("current_versions")
