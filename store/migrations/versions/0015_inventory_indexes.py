"""Inventory lists: an index of the open counted exposure rows by system (the systems list's open
exposure counts and sort).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = "resolved_at IS NULL AND excluded_by = ''"


def upgrade() -> None:
    op.create_index(
        "ix_exposure_open_system",
        "exposure",
        ["system_id"],
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_exposure_open_system", table_name="exposure")
