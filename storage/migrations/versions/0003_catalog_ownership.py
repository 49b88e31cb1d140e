"""catalog ownership: resources.owner_tenant and api_keys.global_staff

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00.000000

Existing resources stay in the global catalog (owner_tenant NULL). Existing keys are not
global staff: after upgrading, create global editor keys with ``solace keys create
--global`` for the people who change the global catalog.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_tenant', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_resources_owner_tenant'), ['owner_tenant'], unique=False)

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('global_staff', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('global_staff')

    with op.batch_alter_table('resources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resources_owner_tenant'))
        batch_op.drop_column('owner_tenant')
