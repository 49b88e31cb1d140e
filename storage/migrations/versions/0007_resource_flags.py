"""resource flags: resources whose outcomes sent them back to clinical review, with the
evidence and the reviewer's decision; outcome totals per tenant and resource (filled from
the day rollups here, kept up to date at ingestion); an index for one resource's days

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 08:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


COUNTERS = ("impressions", "clicks", "starts", "completions", "helpful", "not_helpful",
            "dismissals", "content_reports", "distress")


def upgrade() -> None:
    op.create_table(
        'outcome_totals',
        sa.Column('tenant', sa.String(length=64), nullable=False),
        sa.Column('resource_id', sa.String(length=80), nullable=False),
        *(sa.Column(name, sa.Integer(), server_default='0', nullable=False) for name in COUNTERS),
        sa.PrimaryKeyConstraint('tenant', 'resource_id', name=op.f('pk_outcome_totals')),
    )
    sums = ", ".join(f"sum({c})" for c in COUNTERS)
    op.execute(f"INSERT INTO outcome_totals (tenant, resource_id, {', '.join(COUNTERS)}) "
               f"SELECT tenant, resource_id, {sums} FROM outcome_rollups GROUP BY tenant, resource_id")
    with op.batch_alter_table('outcome_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_outcome_rollups_resource_day', ['resource_id', 'day'], unique=False)
    op.create_table(
        'resource_flags',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('resource_id', sa.String(length=80), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reasons', sa.JSON(), nullable=False),
        sa.Column('evidence', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('decided_by', sa.String(length=80), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_flags')),
    )
    with op.batch_alter_table('resource_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resource_flags_resource_id'), ['resource_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outcome_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_outcome_rollups_resource_day')
    op.drop_table('outcome_totals')
    with op.batch_alter_table('resource_flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resource_flags_resource_id'))
    op.drop_table('resource_flags')
