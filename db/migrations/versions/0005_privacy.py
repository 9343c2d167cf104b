"""privacy: requests under UU PDP, breaches, restriction and anonymisation marks on recipients

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
import db.base


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_AT = db.base.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('restricted_at', _AT, nullable=True))
        batch_op.add_column(sa.Column('anonymised_at', _AT, nullable=True))

    op.create_table('privacy_requests',
    sa.Column('id', _BIG, nullable=False),
    sa.Column('recipient_id', _BIG, nullable=True),
    sa.Column('account_id', _BIG, nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('voice_file_id', sa.String(length=200), nullable=True),
    sa.Column('via_proxy', sa.Boolean(), nullable=False),
    sa.Column('created_at', _AT, nullable=False),
    sa.Column('due_at', _AT, nullable=False),
    sa.Column('reminded_at', _AT, nullable=True),
    sa.Column('escalated_at', _AT, nullable=True),
    sa.Column('claimed_until', _AT, nullable=True),
    sa.Column('closed_at', _AT, nullable=True),
    sa.Column('closed_by', sa.String(length=200), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('kept_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['telegram_accounts.id'], name=op.f('fk_privacy_requests_account_id_telegram_accounts')),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipients.id'], name=op.f('fk_privacy_requests_recipient_id_recipients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_requests'))
    )
    with op.batch_alter_table('privacy_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_requests_recipient_id'), ['recipient_id'], unique=False)
        batch_op.create_index('ix_privacy_requests_state_due', ['state', 'due_at'], unique=False)

    op.create_table('privacy_breaches',
    sa.Column('id', _BIG, nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('data_kinds', sa.String(length=300), nullable=False),
    sa.Column('occurred_at', _AT, nullable=True),
    sa.Column('discovered_at', _AT, nullable=False),
    sa.Column('recorded_at', _AT, nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('affected_query', sa.JSON(), nullable=False),
    sa.Column('affected_count', sa.Integer(), nullable=False),
    sa.Column('measures', sa.Text(), nullable=False),
    sa.Column('notify_due_at', _AT, nullable=False),
    sa.Column('people_notified_at', _AT, nullable=True),
    sa.Column('authority_notified_at', _AT, nullable=True),
    sa.Column('reminded_at', _AT, nullable=True),
    sa.Column('escalated_at', _AT, nullable=True),
    sa.Column('claimed_until', _AT, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_breaches'))
    )
    with op.batch_alter_table('privacy_breaches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_breaches_notify_due_at'), ['notify_due_at'], unique=False)

    op.create_table('privacy_breach_people',
    sa.Column('id', _BIG, nullable=False),
    sa.Column('breach_id', _BIG, nullable=False),
    sa.Column('recipient_id', _BIG, nullable=False),
    sa.Column('notified_at', _AT, nullable=True),
    sa.ForeignKeyConstraint(['breach_id'], ['privacy_breaches.id'], name=op.f('fk_privacy_breach_people_breach_id_privacy_breaches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipients.id'], name=op.f('fk_privacy_breach_people_recipient_id_recipients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_breach_people')),
    sa.UniqueConstraint('breach_id', 'recipient_id', name=op.f('uq_privacy_breach_people_breach_id_recipient_id'))
    )
    with op.batch_alter_table('privacy_breach_people', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_breach_people_breach_id'), ['breach_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_breach_people_recipient_id'), ['recipient_id'], unique=False)


def downgrade() -> None:
    op.drop_table('privacy_breach_people')
    op.drop_table('privacy_breaches')
    op.drop_table('privacy_requests')
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
        batch_op.drop_column('restricted_at')
