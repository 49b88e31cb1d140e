"""mood check-ins: events.score (1 to 5, mood_before and mood_after only) and the mood
counters (pairs, sum of changes, sum of squared changes) beside the other outcome counters

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 08:10:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

MOOD = ("mood_n", "mood_sum", "mood_sq")
TABLES = ("outcome_rollups", "outcome_totals", "experiment_rollups")


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('score', sa.SmallInteger(), nullable=True))
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in MOOD:
                batch_op.add_column(sa.Column(name, sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in MOOD:
                batch_op.drop_column(name)
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('score')
