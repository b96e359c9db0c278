"""Memoized match results per distinct package version.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('package_match_state',
    sa.Column('package_version_id', sa.Integer(), nullable=False),
    sa.Column('matched_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['package_version_id'], ['package_version.id'], name=op.f('fk_package_match_state_package_version_id_package_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('package_version_id', name=op.f('pk_package_match_state'))
    )
    op.create_table('match_result',
    sa.Column('package_version_id', sa.Integer(), nullable=False),
    sa.Column('affected_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('range_index', sa.Integer(), nullable=True),
    sa.Column('introduced', sa.Text(), nullable=True),
    sa.Column('boundary_kind', sa.String(length=20), nullable=True),
    sa.Column('boundary_value', sa.Text(), nullable=True),
    sa.Column('fixed_versions', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['affected_id'], ['affected_package.id'], name=op.f('fk_match_result_affected_id_affected_package'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['package_version_id'], ['package_version.id'], name=op.f('fk_match_result_package_version_id_package_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('package_version_id', 'affected_id', name=op.f('pk_match_result'))
    )
    with op.batch_alter_table('match_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_result_affected_id'), ['affected_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('match_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_result_affected_id'))

    op.drop_table('match_result')
    op.drop_table('package_match_state')
