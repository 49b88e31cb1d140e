"""staff accounts: named people with roles (staff_accounts), the log of their sign-ins
(staff_signins), the account an editor key acts as (api_keys.staff) and a reviewer's
comment on a catalog decision (resource_audit.comment)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 07:20:00.000000

Existing editor keys are bound to no account: they still read the catalog, but changing
it needs a key bound to a person (``solace keys create --role editor --staff NAME``).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'staff_accounts',
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('tenant', sa.String(length=64), nullable=True),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('failed_attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_staff_accounts')),
    )
    op.create_table(
        'staff_signins',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('success', sa.Boolean(), nullable=False),
        sa.Column('outcome', sa.String(length=32), nullable=False),
        sa.Column('via', sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_signins')),
    )
    with op.batch_alter_table('staff_signins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_signins_name'), ['name'], unique=False)
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff', sa.String(length=80), nullable=True))
    with op.batch_alter_table('resource_audit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comment', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('resource_audit', schema=None) as batch_op:
        batch_op.drop_column('comment')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('staff')
    with op.batch_alter_table('staff_signins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_signins_name'))
    op.drop_table('staff_signins')
    op.drop_table('staff_accounts')
