"""web desk: trigram indexes for finding people by part of a name or desa on PostgreSQL (pg_trgm)

Revision ID: 0013
Revises: 0012
"""
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# A search for "Rina" matches anywhere in a name (ILIKE '%Rina%'): without these PostgreSQL reads all 100,000
# recipients for it (~150-300 ms); with them it reads the few thousand that match. SQLite has no such index
# (its LIKE scan of the narrow ix_recipients_search is fast enough), so nothing changes there. pg_trgm is a
# trusted extension (PostgreSQL 13+): the database owner may create it.
INDEXES = (("ix_recipients_name_trgm", "name"), ("ix_recipients_desa_trgm", "desa"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES:
        op.create_index(name, "recipients", [column], postgresql_using="gin",
                        postgresql_ops={column: "gin_trgm_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _column in INDEXES:
        op.drop_index(name, table_name="recipients")
