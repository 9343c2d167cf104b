"""photo reuse check through an index: the 8 bytes of every stored photo's perceptual hash, by position and
value (db.models.PhotoHashByte), backfilled here from photos.phash. Before, each new photo was compared with
every photo ever stored, in Python: linear in the program's whole history (#23, in production).

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

BATCH = 5_000


def upgrade() -> None:
    table = op.create_table(
        'photo_hash_bytes',
        sa.Column('photo_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('position', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('value', sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], name=op.f('fk_photo_hash_bytes_photo_id_photos'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('photo_id', 'position', name=op.f('pk_photo_hash_bytes')),
    )
    bind = op.get_bind()
    last = 0
    while True:  # in batches by id: a year of check-ins is ~80,000 photos
        rows = bind.execute(sa.text(
            "SELECT id, phash FROM photos WHERE phash IS NOT NULL AND id > :last ORDER BY id LIMIT :n"
        ), {"last": last, "n": BATCH}).all()
        if not rows:
            break
        values = [{"photo_id": pid, "position": i, "value": b}
                  for pid, phash in rows if _is_hash(phash)
                  for i, b in enumerate(int(phash, 16).to_bytes(8, "big"))]
        if values:
            op.bulk_insert(table, values)
        last = rows[-1][0]
    # photo_id rides along: the lookup reads the index alone, never the table.
    op.create_index('ix_photo_hash_bytes_lookup', 'photo_hash_bytes', ['position', 'value', 'photo_id'])


def _is_hash(value: str) -> bool:
    """16 hex digits, as imagehash writes them (anything else could never be compared anyway)."""
    return len(value) == 16 and all(c in "0123456789abcdefABCDEF" for c in value)


def downgrade() -> None:
    op.drop_index('ix_photo_hash_bytes_lookup', table_name='photo_hash_bytes')
    op.drop_table('photo_hash_bytes')
