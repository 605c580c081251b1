"""Runs chosen for the portfolio; the plan's start date and weekly hours for pacing.

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('portfolio', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('learner', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_start', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('weekly_hours', sa.Integer(), nullable=False, server_default='15'))


def downgrade() -> None:
    with op.batch_alter_table('learner', schema=None) as batch_op:
        batch_op.drop_column('weekly_hours')
        batch_op.drop_column('plan_start')
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_column('portfolio')
