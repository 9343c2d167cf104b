"""a case keeps a video note (round video) like a voice note; a case event keeps the voice note that gave its
reason (a TKSK passing a case to Dinas Sosial) (issue #17)

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('video_note_file_id', sa.String(length=200), nullable=True))
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voice_file_id', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_column('voice_file_id')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('video_note_file_id')
