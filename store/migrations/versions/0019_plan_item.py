"""The remediation plan's items (``store.tables.plan``), derived from stored exposures.

Created empty. The exposures list's rows are forgotten with their stamps, so that the next list of
each organization (or ``patchgap db rebuild``) computes its rows and its plan items together.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sortable() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM exposure_list"))
    op.execute(sa.text("DELETE FROM exposure_list_state"))
    op.create_table(
        "plan_item",
        sa.Column("exposure_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", _sortable(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("system", _sortable(), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("internet_exposed", sa.Boolean(), nullable=False),
        sa.Column("owner_key", sa.Text(), nullable=True),
        sa.Column("tags_key", sa.Text(), nullable=False),
        sa.Column("package", _sortable(), nullable=False),
        sa.Column("ecosystem", _sortable(), nullable=False),
        sa.Column("vulnerability", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("cvss", sa.Float(), nullable=True),
        sa.Column("kev", sa.Boolean(), nullable=False),
        sa.Column("epss", sa.Float(), nullable=True),
        sa.Column("sla_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_us", sa.BigInteger(), nullable=True),
        sa.Column("advice", sa.String(length=30), nullable=False),
        sa.Column("to_version", _sortable(), nullable=True),
        sa.Column("advice_detail", sa.Text(), nullable=False),
        sa.Column("major_upgrade", sa.Boolean(), nullable=True),
        sa.Column("in_major", sa.Text(), nullable=True),
        sa.Column("in_major_leaves_open", sa.Text(), nullable=False),
        sa.Column("last_resort_maintainer", sa.Boolean(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_plan_item_org_id_organization"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["system_id"], ["system.id"], name=op.f("fk_plan_item_system_id_system"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("exposure_id", "version", name=op.f("pk_plan_item")),
    )
    with op.batch_alter_table("plan_item") as batch:
        batch.create_index(batch.f("ix_plan_item_system_id"), ["system_id"], unique=False)
        batch.create_index(
            "ix_plan_item_action",
            [
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
            ],
            unique=False,
        )
        batch.create_index("ix_plan_item_system", ["org_id", "system", "advice"], unique=False)


def downgrade() -> None:
    op.drop_table("plan_item")
