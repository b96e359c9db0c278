"""Initial schema: organizations, systems, snapshots, content-addressed component sets, package versions.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organization",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization")),
        sa.UniqueConstraint("name", name=op.f("uq_organization_name")),
    )
    op.create_table(
        "system",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("environment", sa.String(length=50), nullable=False),
        sa.Column("internet_exposed", sa.Boolean(), nullable=False),
        sa.Column("criticality", sa.String(length=20), nullable=False),
        sa.Column("cadence_days", sa.Integer(), nullable=False),
        sa.Column("release_label", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_system_org_id_organization")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_system_org_id_name")),
    )
    op.create_table(
        "package_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ecosystem", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("purl", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_package_version")),
        sa.UniqueConstraint(
            "purl", "ecosystem", "name", "version",
            name=op.f("uq_package_version_purl_ecosystem_name_version"),
        ),
    )
    op.create_index(
        op.f("ix_package_version_ecosystem_name"), "package_version", ["ecosystem", "name"], unique=False
    )
    op.create_table(
        "component_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("package_count", sa.Integer(), nullable=False),
        sa.Column("not_assessable_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_component_set")),
        sa.UniqueConstraint("digest", name=op.f("uq_component_set_digest")),
    )
    op.create_table(
        "component_set_member",
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("package_version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_version_id"], ["package_version.id"],
            name=op.f("fk_component_set_member_package_version_id_package_version"),
        ),
        sa.ForeignKeyConstraint(
            ["set_id"], ["component_set.id"], name=op.f("fk_component_set_member_set_id_component_set")
        ),
        sa.PrimaryKeyConstraint("set_id", "package_version_id", name=op.f("pk_component_set_member")),
    )
    op.create_index(
        op.f("ix_component_set_member_package_version_id_set_id"),
        "component_set_member", ["package_version_id", "set_id"], unique=False,
    )
    op.create_table(
        "not_assessable_component",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=True),
        sa.Column("purl", sa.String(), nullable=True),
        sa.Column("reason", sa.String(length=50), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["set_id"], ["component_set.id"], name=op.f("fk_not_assessable_component_set_id_component_set")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_not_assessable_component")),
    )
    op.create_index(
        op.f("ix_not_assessable_component_set_id"), "not_assessable_component", ["set_id"], unique=False
    )
    op.create_table(
        "snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("format", sa.String(length=30), nullable=False),
        sa.Column("spec_version", sa.String(length=20), nullable=False),
        sa.Column("serial_number", sa.String(), nullable=True),
        sa.Column("subject", sa.String(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("raw_size", sa.Integer(), nullable=False),
        sa.Column("compression", sa.String(length=10), nullable=False),
        sa.Column("quality", sa.JSON(), nullable=False),
        sa.Column("component_set_id", sa.Integer(), nullable=False),
        sa.Column("release_label", sa.String(length=200), nullable=True),
        sa.Column("component_count", sa.Integer(), nullable=False),
        sa.Column("not_assessable_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["component_set_id"], ["component_set.id"], name=op.f("fk_snapshot_component_set_id_component_set")
        ),
        sa.ForeignKeyConstraint(["system_id"], ["system.id"], name=op.f("fk_snapshot_system_id_system")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshot")),
        sa.UniqueConstraint("system_id", "sha256", name=op.f("uq_snapshot_system_id_sha256")),
    )
    op.create_index(op.f("ix_snapshot_component_set_id"), "snapshot", ["component_set_id"], unique=False)
    op.create_index(
        op.f("ix_snapshot_system_id_observed_at"), "snapshot", ["system_id", "observed_at"], unique=False
    )


def downgrade() -> None:
    op.drop_table("snapshot")
    op.drop_table("not_assessable_component")
    op.drop_table("component_set_member")
    op.drop_table("component_set")
    op.drop_table("package_version")
    op.drop_table("system")
    op.drop_table("organization")
