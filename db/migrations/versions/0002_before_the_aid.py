"""before the aid: candidates, assessments, hand-overs; catalog prices on aid items (issue #19)

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import db.base


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
Utc = db.base.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('aid_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('unit_price', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('quantity', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('handed_over', sa.Boolean(), nullable=True))

    op.create_table('candidates',
    sa.Column('id', BigId, nullable=False),
    sa.Column('nik_hash', sa.String(length=64), nullable=False),
    sa.Column('nik_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('desa', sa.String(length=120), nullable=False),
    sa.Column('kecamatan_id', sa.Integer(), nullable=False),
    sa.Column('dtks_id', sa.String(length=40), nullable=False),
    sa.Column('pkh', sa.Boolean(), nullable=False),
    sa.Column('preferred_business_type', sa.String(length=20), nullable=True),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('stage_at', Utc, nullable=False),
    sa.Column('approved_business_type', sa.String(length=20), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('recipient_id', BigId, nullable=True),
    sa.Column('created_at', Utc, nullable=False),
    sa.Column('updated_at', Utc, nullable=False),
    sa.ForeignKeyConstraint(['kecamatan_id'], ['kecamatan.id'], name=op.f('fk_candidates_kecamatan_id_kecamatan')),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipients.id'], name=op.f('fk_candidates_recipient_id_recipients'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_candidates')),
    sa.UniqueConstraint('nik_hash', name=op.f('uq_candidates_nik_hash')),
    sa.UniqueConstraint('recipient_id', name=op.f('uq_candidates_recipient_id'))
    )
    with op.batch_alter_table('candidates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_candidates_kecamatan_id'), ['kecamatan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_candidates_stage'), ['stage'], unique=False)

    op.create_table('candidate_events',
    sa.Column('id', BigId, nullable=False),
    sa.Column('candidate_id', BigId, nullable=False),
    sa.Column('at', Utc, nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('actor_account_id', BigId, nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('from_stage', sa.String(length=20), nullable=True),
    sa.Column('to_stage', sa.String(length=20), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_account_id'], ['telegram_accounts.id'], name=op.f('fk_candidate_events_actor_account_id_telegram_accounts')),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], name=op.f('fk_candidate_events_candidate_id_candidates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_candidate_events'))
    )
    with op.batch_alter_table('candidate_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_candidate_events_candidate_id'), ['candidate_id'], unique=False)

    op.create_table('assessments',
    sa.Column('id', BigId, nullable=False),
    sa.Column('candidate_id', BigId, nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('photos', sa.JSON(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('voice_file_id', sa.String(length=200), nullable=True),
    sa.Column('aspect_scores', sa.JSON(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('feasible_share', sa.Float(), nullable=True),
    sa.Column('verdict', sa.String(length=12), nullable=True),
    sa.Column('suggested_business_type', sa.String(length=20), nullable=True),
    sa.Column('recommended_business_type', sa.String(length=20), nullable=True),
    sa.Column('recommendation_reason', sa.Text(), nullable=True),
    sa.Column('started_at', Utc, nullable=False),
    sa.Column('updated_at', Utc, nullable=False),
    sa.Column('submitted_at', Utc, nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], name=op.f('fk_assessments_candidate_id_candidates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['worker_id'], ['field_workers.id'], name=op.f('fk_assessments_worker_id_field_workers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments')),
    sa.UniqueConstraint('candidate_id', name=op.f('uq_assessments_candidate_id'))
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessments_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessments_verdict'), ['verdict'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessments_worker_id'), ['worker_id'], unique=False)

    op.create_table('handovers',
    sa.Column('id', BigId, nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('package_id', BigId, nullable=False),
    sa.Column('recipient_id', BigId, nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('handed_over_on', sa.Date(), nullable=False),
    sa.Column('handed_over_at', Utc, nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('photo_id', BigId, nullable=False),
    sa.Column('total_value', sa.Integer(), nullable=False),
    sa.Column('created_at', Utc, nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['aid_packages.id'], name=op.f('fk_handovers_package_id_aid_packages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], name=op.f('fk_handovers_photo_id_photos')),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipients.id'], name=op.f('fk_handovers_recipient_id_recipients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['worker_id'], ['field_workers.id'], name=op.f('fk_handovers_worker_id_field_workers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handovers')),
    sa.UniqueConstraint('number', name=op.f('uq_handovers_number')),
    sa.UniqueConstraint('package_id', name=op.f('uq_handovers_package_id'))
    )
    with op.batch_alter_table('handovers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handovers_recipient_id'), ['recipient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handovers_worker_id'), ['worker_id'], unique=False)


def downgrade() -> None:
    op.drop_table('handovers')
    op.drop_table('assessments')
    op.drop_table('candidate_events')
    op.drop_table('candidates')
    with op.batch_alter_table('aid_items', schema=None) as batch_op:
        batch_op.drop_column('handed_over')
        batch_op.drop_column('quantity')
        batch_op.drop_column('unit_price')
        batch_op.drop_column('unit')
