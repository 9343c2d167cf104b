"""web desk: one-time sign-in links and browser sessions

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import db.base


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('web_login_links',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('used_at', db.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['telegram_accounts.id'], name=op.f('fk_web_login_links_account_id_telegram_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_login_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_web_login_links_token_hash'))
    )
    op.create_index(op.f('ix_web_login_links_account_id'), 'web_login_links', ['account_id'], unique=False)
    op.create_table('web_sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.Column('via', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['telegram_accounts.id'], name=op.f('fk_web_sessions_account_id_telegram_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_web_sessions_token_hash'))
    )
    op.create_index(op.f('ix_web_sessions_account_id'), 'web_sessions', ['account_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_web_sessions_account_id'), table_name='web_sessions')
    op.drop_table('web_sessions')
    op.drop_index(op.f('ix_web_login_links_account_id'), table_name='web_login_links')
    op.drop_table('web_login_links')
