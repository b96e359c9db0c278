"""The exposures list's sort and filter columns (``store.tables.lists``), derived from stored exposures.

Created empty: the first list of each organization (or ``patchgap db rebuild``) fills them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SORT_COLUMNS = ("sla_due", "first_seen", "cvss", "epss", "system", "package")


def _sortable() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "exposure_list",
        sa.Column("exposure_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("system", _sortable(), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("owner_key", sa.Text(), nullable=True),
        sa.Column("tags_key", sa.Text(), nullable=False),
        sa.Column("package", _sortable(), nullable=False),
        sa.Column("package_leaf", sa.Text(), nullable=False),
        sa.Column("ecosystem", sa.String(length=100), nullable=False),
        sa.Column("package_name", sa.Text(), nullable=False),
        sa.Column("vulnerability", sa.Text(), nullable=False),
        sa.Column("first_seen", _sortable(), nullable=False),
        sa.Column("ident", _sortable(), nullable=False),
        sa.Column("sla_due", _sortable(), nullable=False),
        sa.Column("cvss", sa.Float(), nullable=False),
        sa.Column("epss", sa.Float(), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("sla_tier", sa.Text(), nullable=True),
        sa.Column("kev", sa.Boolean(), nullable=False),
        sa.Column("risk_candidate", sa.Boolean(), nullable=False),
        sa.Column("accepted_until", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_exposure_list_org_id_organization"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["system_id"], ["system.id"], name=op.f("fk_exposure_list_system_id_system"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("exposure_id", name=op.f("pk_exposure_list")),
    )
    with op.batch_alter_table("exposure_list") as batch:
        batch.create_index(batch.f("ix_exposure_list_system_id"), ["system_id"], unique=False)
        for name in SORT_COLUMNS:
            batch.create_index(f"ix_exposure_list_{name}", ["org_id", "state", name, "ident"], unique=False)
    op.create_table(
        "exposure_list_state",
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.String(length=64), nullable=False),
        sa.Column("newest", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_exposure_list_state_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["system.id"],
            name=op.f("fk_exposure_list_state_system_id_system"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("system_id", name=op.f("pk_exposure_list_state")),
    )
    with op.batch_alter_table("exposure_list_state") as batch:
        batch.create_index(batch.f("ix_exposure_list_state_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    op.drop_table("exposure_list_state")
    op.drop_table("exposure_list")
