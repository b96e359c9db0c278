"""System lifecycle: an owner, tags and the moment a system was decommissioned.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added in place (SQLite's ALTER TABLE ADD COLUMN), never by recreating the table: see downgrade().
    with op.batch_alter_table("system") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=200), nullable=True))
        # Existing systems get no tags; the server default fills them in on both dialects.
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("decommissioned_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Not in batch mode: on SQLite a batch drop recreates the table, and dropping the old ``system``
    # table (foreign keys on) would cascade into every exposure row. SQLite ≥ 3.35 drops a column in
    # place, as PostgreSQL does.
    for column in ("decommissioned_at", "tags", "owner"):
        op.execute(sa.text(f"ALTER TABLE system DROP COLUMN {column}"))
