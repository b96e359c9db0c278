"""Exposures (stored intervals and their build state), VEX statements, SLA policies and the CRA facts.

Also adds ``organization.is_manufacturer`` (the CRA register is for manufacturers only).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sla_policy",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_sla_policy_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_sla_policy")),
    )
    op.create_table(
        "vex_statement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("vulnerability", sa.String(length=255), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("package", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("justification", sa.String(length=100), nullable=True),
        sa.Column("impact_statement", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("stated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_vex_statement_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vex_statement")),
        sa.UniqueConstraint(
            "org_id",
            "vulnerability",
            "package",
            "version",
            "source",
            name=op.f("uq_vex_statement_org_id_vulnerability_package_version_source"),
        ),
    )
    with op.batch_alter_table("vex_statement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vex_statement_org_id"), ["org_id"], unique=False)

    op.create_table(
        "exposure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("package", sa.Text(), nullable=False),
        sa.Column("ecosystem", sa.String(length=100), nullable=False),
        sa.Column("package_name", sa.Text(), nullable=False),
        sa.Column("vuln_group", sa.String(length=255), nullable=False),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("fixed_versions", sa.JSON(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_affected_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("vex_excluded", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["system_id"], ["system.id"], name=op.f("fk_exposure_system_id_system"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exposure")),
        sa.UniqueConstraint(
            "system_id", "package", "vuln_group", "first_seen", "vex_excluded", name="uq_exposure_interval"
        ),
    )
    with op.batch_alter_table("exposure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exposure_system_id"), ["system_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exposure_vuln_group"), ["vuln_group"], unique=False)

    op.create_table(
        "exposure_state",
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("inputs_digest", sa.String(length=64), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["system_id"], ["system.id"], name=op.f("fk_exposure_state_system_id_system"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("system_id", name=op.f("pk_exposure_state")),
    )

    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_manufacturer", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "cra_exploited",
        sa.Column("vuln_group", sa.String(length=255), nullable=False),
        sa.Column("known_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("kev_date_added", sa.DateTime(timezone=True), nullable=True),
        sa.Column("known_ransomware", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("vuln_group", name=op.f("pk_cra_exploited")),
    )
    op.create_table(
        "cra_presence",
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("vuln_group", sa.String(length=255), nullable=False),
        sa.Column("known_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["system_id"], ["system.id"], name=op.f("fk_cra_presence_system_id_system"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("system_id", "vuln_group", name=op.f("pk_cra_presence")),
    )
    op.create_table(
        "cra_case",
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("vuln_group", sa.String(length=255), nullable=False),
        sa.Column("awareness_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("awareness_note", sa.Text(), nullable=False),
        sa.Column("early_warning_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notification_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("final_report_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mitigations", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["system_id"], ["system.id"], name=op.f("fk_cra_case_system_id_system"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("system_id", "vuln_group", name=op.f("pk_cra_case")),
    )


def downgrade() -> None:
    op.drop_table("cra_case")
    op.drop_table("cra_presence")
    op.drop_table("cra_exploited")
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_column("is_manufacturer")
    op.drop_table("exposure_state")
    with op.batch_alter_table("exposure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exposure_vuln_group"))
        batch_op.drop_index(batch_op.f("ix_exposure_system_id"))
    op.drop_table("exposure")
    with op.batch_alter_table("vex_statement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vex_statement_org_id"))
    op.drop_table("vex_statement")
    op.drop_table("sla_policy")
