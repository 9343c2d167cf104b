"""web desk: a narrow covering index for finding people by name, desa or kecamatan

Revision ID: 0008
Revises: 0007
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The people list walks it in name order (no sort of 100,000 rows) and a name search scans it instead of
    # the wide recipients table.
    op.create_index("ix_recipients_search", "recipients", ["name", "desa", "kecamatan_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_recipients_search", table_name="recipients")
