"""survival: covering indexes for the survival loader (first stop and last known status per recipient)

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_business_status_changes_survival",
        "business_status_changes",
        ["recipient_id", "status", "changed_at"],
    )
    op.create_index("ix_checkins_survival", "checkins", ["recipient_id", "status", "submitted_at"])


def downgrade() -> None:
    op.drop_index("ix_checkins_survival", table_name="checkins")
    op.drop_index("ix_business_status_changes_survival", table_name="business_status_changes")
