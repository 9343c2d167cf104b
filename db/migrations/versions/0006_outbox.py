"""outbox: durable outgoing messages; case and check-in ids never reused on SQLite (AUTOINCREMENT)

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import db.base


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _sqlite_autoincrement(table: str, *, on: bool) -> None:
    """Give ``table`` (or take away) AUTOINCREMENT, so SQLite never hands out the id of a deleted row again.

    Why not a table rebuild (``batch_alter_table(recreate=...)``): the migration runs with foreign keys on
    (PRAGMA foreign_keys cannot change inside its transaction), so dropping the old table would delete,
    through ON DELETE CASCADE, every row that points at it (case events, photos). Both definitions make ``id``
    the rowid, so the rows on disk are the same either way: only the table's SQL in the schema changes (the
    procedure of https://www.sqlite.org/lang_altertable.html#otheralter), and ``sqlite_sequence`` starts at the
    highest id in use.
    """
    bind = op.get_bind()
    sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (table,)
    ).scalar_one()
    plain, auto = "\tid INTEGER NOT NULL, ", "\tid INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "
    constraint = f", \n\tCONSTRAINT pk_{table} PRIMARY KEY (id)"
    if on:
        new_sql = sql.replace(plain, auto, 1).replace(constraint, "", 1)
    else:
        new_sql = sql.replace(auto, plain, 1)
        new_sql = new_sql[:new_sql.rindex("\n)")] + constraint + "\n)"
    if new_sql == sql or (on and constraint in new_sql):
        raise RuntimeError(f"unexpected definition of table {table}: {sql}")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql=? WHERE type='table' AND name=?", (new_sql, table))
    bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")
    # sqlite_sequence exists: the outbox table above was created with AUTOINCREMENT.
    bind.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name=?", (table,))
    if on:
        bind.exec_driver_sql(
            f"INSERT INTO sqlite_sequence (name, seq) SELECT ?, coalesce(max(id), 0) FROM {table}", (table,)
        )


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', _ID, nullable=False),
    sa.Column('account_id', _ID, nullable=True),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('reply_markup', sa.JSON(), nullable=True),
    sa.Column('photo', sa.String(length=300), nullable=True),
    sa.Column('media', sa.JSON(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=160), nullable=True),
    sa.Column('due_at', db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_until', db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['telegram_accounts.id'], name=op.f('fk_outbox_account_id_telegram_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_dedupe_key')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_outbox_status_due', ['status', 'due_at'], unique=False)
    if op.get_bind().dialect.name == 'sqlite':
        for table in ('cases', 'checkins'):
            _sqlite_autoincrement(table, on=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for table in ('cases', 'checkins'):
            _sqlite_autoincrement(table, on=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_due')
        batch_op.drop_index(batch_op.f('ix_outbox_account_id'))
    op.drop_table('outbox')
