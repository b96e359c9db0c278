"""API keys, dashboard sessions and the durable upload job queue.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('prefix', sa.String(length=32), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_api_key_org_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
    sa.UniqueConstraint('prefix', name=op.f('uq_api_key_prefix'))
    )
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_key_org_id'), ['org_id'], unique=False)

    op.create_table('dashboard_session',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['key_id'], ['api_key.id'], name=op.f('fk_dashboard_session_key_id_api_key'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_dashboard_session'))
    )
    with op.batch_alter_table('dashboard_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dashboard_session_key_id'), ['key_id'], unique=False)

    op.create_table('upload_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=36), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('system_name', sa.String(length=200), nullable=False),
    sa.Column('release_label', sa.String(length=200), nullable=True),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('result', sa.String(length=20), nullable=True),
    sa.Column('snapshot_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_upload_job_org_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['snapshot_id'], ['snapshot.id'], name=op.f('fk_upload_job_snapshot_id_snapshot'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upload_job')),
    sa.UniqueConstraint('token', name=op.f('uq_upload_job_token'))
    )
    with op.batch_alter_table('upload_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_job_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_upload_job_status_id'), ['status', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('upload_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_job_status_id'))
        batch_op.drop_index(batch_op.f('ix_upload_job_org_id'))

    op.drop_table('upload_job')
    with op.batch_alter_table('dashboard_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dashboard_session_key_id'))

    op.drop_table('dashboard_session')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_key_org_id'))

    op.drop_table('api_key')
