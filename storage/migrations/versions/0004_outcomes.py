"""outcomes: events.reason (content reports), the per-day outcome rollups, and
erasure_log.action (the log of users' rights: erasures and exports)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 05:30:00.000000

The rollups start empty: outcomes count from the upgrade on (the events before it were
impressions, clicks and the like; ``solace analytics rebuild`` recounts them if wanted).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

COUNTERS = ("impressions", "clicks", "starts", "completions", "helpful", "not_helpful",
            "dismissals", "content_reports", "distress")


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=16), nullable=True))
    with op.batch_alter_table('erasure_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('action', sa.String(length=16), server_default='erase', nullable=False))
    op.create_table(
        'outcome_rollups',
        sa.Column('tenant', sa.String(length=64), nullable=False),
        sa.Column('resource_id', sa.String(length=80), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        *(sa.Column(name, sa.Integer(), server_default='0', nullable=False) for name in COUNTERS),
        sa.PrimaryKeyConstraint('tenant', 'resource_id', 'day', name=op.f('pk_outcome_rollups')),
    )


def downgrade() -> None:
    op.drop_table('outcome_rollups')
    with op.batch_alter_table('erasure_log', schema=None) as batch_op:
        batch_op.drop_column('action')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('reason')
