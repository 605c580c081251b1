"""Review log: the due time each review scheduled.

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Times are stored as naive UTC (pathway.db.models.UtcDateTime wraps sa.DateTime).


def upgrade() -> None:
    with op.batch_alter_table('reviewlog', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scheduled_due', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('reviewlog', schema=None) as batch_op:
        batch_op.drop_column('scheduled_due')
