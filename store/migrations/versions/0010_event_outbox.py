"""The event outbox: facts that change an organization's picture, written with the change.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=True),
        sa.Column("vuln_group", sa.String(length=255), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_event_org_id_organization"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["system_id"], ["system.id"], name=op.f("fk_event_system_id_system"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_event_dedupe_key")),
    )
    with op.batch_alter_table("event") as batch:
        batch.create_index(batch.f("ix_event_org_id"), ["org_id"], unique=False)
        batch.create_index(batch.f("ix_event_system_id"), ["system_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.drop_index(batch.f("ix_event_system_id"))
        batch.drop_index(batch.f("ix_event_org_id"))
    op.drop_table("event")
