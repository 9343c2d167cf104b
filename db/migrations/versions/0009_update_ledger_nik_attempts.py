"""processed updates (redelivered updates change nothing twice); the NIK's keyed hash on identity attempts
(wrong tries per NIK over all accounts) (issues #23, #24)

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
import db.base


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

Utc = db.base.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('processed_updates',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('handled_at', Utc, nullable=False),
    sa.PrimaryKeyConstraint('update_id', name=op.f('pk_processed_updates'))
    )
    with op.batch_alter_table('processed_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processed_updates_handled_at'), ['handled_at'], unique=False)

    with op.batch_alter_table('identity_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nik_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_identity_attempts_nik_hash'), ['nik_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('identity_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_attempts_nik_hash'))
        batch_op.drop_column('nik_hash')

    with op.batch_alter_table('processed_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processed_updates_handled_at'))

    op.drop_table('processed_updates')
