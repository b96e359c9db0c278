"""``system.inputs_seq``: the organization's change sequence when the system's exposure inputs last
changed. The change clock (0020) moves for list writes and rebuilds as well, and the exposure check
then computed the input digests of every system a list refresh rewrote (2,800 after one KEV entry at
10,000 systems), though neither changes what exposure rows are built from
(``store.queries.changes``).

Existing systems start at their ``changed_seq``: what a check would have looked at before it still does.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added in place (SQLite's ALTER TABLE ADD COLUMN), never by recreating the table (see 0013).
    with op.batch_alter_table("system") as batch:
        batch.add_column(sa.Column("inputs_seq", sa.BigInteger(), nullable=False, server_default="0"))
    op.execute(sa.text("UPDATE system SET inputs_seq = changed_seq"))
    op.create_index("ix_system_org_id_inputs_seq", "system", ["org_id", "inputs_seq"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_system_org_id_inputs_seq", table_name="system")
    # Not in batch mode: see 0013's downgrade.
    op.execute(sa.text("ALTER TABLE system DROP COLUMN inputs_seq"))
