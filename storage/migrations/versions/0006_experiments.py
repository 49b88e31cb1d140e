"""experiments: a tenant's experiments between model versions (experiments), outcome
counters per arm (experiment_rollups) and who reached which arm (experiment_users)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:30:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

COUNTERS = ("impressions", "clicks", "starts", "completions", "helpful", "not_helpful",
            "dismissals", "content_reports", "distress")


def upgrade() -> None:
    op.create_table(
        'experiments',
        sa.Column('tenant', sa.String(length=64), nullable=False),
        sa.Column('experiment_id', sa.String(length=24), nullable=False),
        sa.Column('description', sa.String(length=200), server_default='', nullable=False),
        sa.Column('arms', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('stop_reason', sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint('tenant', 'experiment_id', name=op.f('pk_experiments')),
    )
    op.create_table(
        'experiment_rollups',
        sa.Column('tenant', sa.String(length=64), nullable=False),
        sa.Column('experiment_id', sa.String(length=24), nullable=False),
        sa.Column('arm', sa.String(length=12), nullable=False),
        *(sa.Column(name, sa.Integer(), server_default='0', nullable=False) for name in COUNTERS),
        sa.PrimaryKeyConstraint('tenant', 'experiment_id', 'arm', name=op.f('pk_experiment_rollups')),
    )
    op.create_table(
        'experiment_users',
        sa.Column('tenant', sa.String(length=64), nullable=False),
        sa.Column('experiment_id', sa.String(length=24), nullable=False),
        sa.Column('user_id', sa.String(length=128), nullable=False),
        sa.Column('arm', sa.String(length=12), nullable=False),
        sa.PrimaryKeyConstraint('tenant', 'experiment_id', 'user_id', name=op.f('pk_experiment_users')),
    )


def downgrade() -> None:
    op.drop_table('experiment_users')
    op.drop_table('experiment_rollups')
    op.drop_table('experiments')
