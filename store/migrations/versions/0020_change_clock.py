"""A per-organization change clock: ``org_change`` holds each organization's sequence number, moved in
the transaction of every change of a system's exposure or list inputs, and ``system.changed_seq`` the
number under which each system last changed (``store.queries.changes``).

Existing organizations start without a row (sequence 0) and existing systems at 0: a reader's first
check of an organization reads every system, as before.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "org_change",
        sa.Column("org_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_org_change_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_org_change")),
    )
    # Added in place (SQLite's ALTER TABLE ADD COLUMN), never by recreating the table (see 0013).
    with op.batch_alter_table("system") as batch:
        batch.add_column(sa.Column("changed_seq", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_index("ix_system_org_id_changed_seq", "system", ["org_id", "changed_seq"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_system_org_id_changed_seq", table_name="system")
    # Not in batch mode: see 0013's downgrade.
    op.execute(sa.text("ALTER TABLE system DROP COLUMN changed_seq"))
    op.drop_table("org_change")
