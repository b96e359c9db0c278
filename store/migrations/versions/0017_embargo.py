"""Akrites embargo: which organizations are Akrites members, and which API keys may read embargoed data.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN on both dialects (no batch: on SQLite a batch may recreate the table,
    # and dropping the old ``organization`` would fail on, or cascade into, every row of the tenant).
    # Existing organizations are no members, existing keys have no embargo permission.
    op.add_column(
        "organization", sa.Column("akrites_member", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("api_key", sa.Column("embargo", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    # Not in batch mode: a batch drop on SQLite recreates the table, and dropping the old ``organization``
    # would cascade into every row of the tenant (see 0013).
    op.execute(sa.text("ALTER TABLE api_key DROP COLUMN embargo"))
    op.execute(sa.text("ALTER TABLE organization DROP COLUMN akrites_member"))
