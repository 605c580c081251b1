"""Quiz cards, review log, mock interviews; lab runs and metrics.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# Times are stored as naive UTC (pathway.db.models.UtcDateTime wraps sa.DateTime).


def upgrade() -> None:
    op.create_table('card',
    sa.Column('question_id', sa.String(), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=True),
    sa.Column('stability', sa.Float(), nullable=True),
    sa.Column('difficulty', sa.Float(), nullable=True),
    sa.Column('due', sa.DateTime(), nullable=False),
    sa.Column('last_review', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('question_id')
    )
    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_card_due'), ['due'], unique=False)

    op.create_table('mockinterview',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('settings', sa.String(), nullable=False),
    sa.Column('report', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )

    op.create_table('reviewlog',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.String(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(), nullable=False),
    sa.Column('correct', sa.Boolean(), nullable=True),
    sa.Column('answer', sa.String(), nullable=True),
    sa.Column('mock_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['mock_id'], ['mockinterview.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reviewlog', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviewlog_question_id'), ['question_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reviewlog_reviewed_at'), ['reviewed_at'], unique=False)

    op.create_table('run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab', sa.String(), nullable=False),
    sa.Column('config', sa.String(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('pid_create_time', sa.Float(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('run_dir', sa.String(), nullable=False),
    sa.Column('device', sa.String(), nullable=True),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('total_steps', sa.Integer(), nullable=True),
    sa.Column('final_metrics', sa.String(), nullable=True),
    sa.Column('error', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_lab'), ['lab'], unique=False)
        batch_op.create_index(batch_op.f('ix_run_status'), ['status'], unique=False)

    op.create_table('metric',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('t', sa.Float(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('metric', schema=None) as batch_op:
        batch_op.create_index('ix_metric_run_name_step', ['run_id', 'name', 'step'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('metric', schema=None) as batch_op:
        batch_op.drop_index('ix_metric_run_name_step')
    op.drop_table('metric')
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_status'))
        batch_op.drop_index(batch_op.f('ix_run_lab'))
    op.drop_table('run')
    with op.batch_alter_table('reviewlog', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviewlog_reviewed_at'))
        batch_op.drop_index(batch_op.f('ix_reviewlog_question_id'))
    op.drop_table('reviewlog')
    op.drop_table('mockinterview')
    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_card_due'))
    op.drop_table('card')
