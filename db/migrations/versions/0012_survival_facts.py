"""survival facts on recipients: the first "stopped" and the latest running/changed/paused evidence, kept by
db/survival_facts.py with every check-in and status row, backfilled here from the whole history; an index
covering the compliance by month (issue #18: /laporan under 3 s at 100,000 recipients)

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa
import db.base


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

Utc = db.base.UtcDateTime(timezone=True)

# The statement of db.survival_facts.refresh_statement, written out so this migration never changes with the code.
BACKFILL = """
UPDATE recipients SET first_stopped_at = facts.first_stop, last_known_at = facts.last_known
FROM (
    SELECT recipient_id,
           MIN(CASE WHEN status = 'stopped' THEN at END) AS first_stop,
           MAX(CASE WHEN status IN ('running', 'changed', 'paused') THEN at END) AS last_known
    FROM (
        SELECT recipient_id, status, changed_at AS at FROM business_status_changes
        UNION ALL
        SELECT recipient_id, status, submitted_at AS at FROM checkins
    ) AS evidence
    GROUP BY recipient_id
) AS facts
WHERE recipients.id = facts.recipient_id
"""


def upgrade() -> None:
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_stopped_at', Utc, nullable=True))
        batch_op.add_column(sa.Column('last_known_at', Utc, nullable=True))
    op.execute(BACKFILL)
    op.create_index('ix_checkin_dues_compliance', 'checkin_dues', ['due_at', 'state', 'completed_at'])


def downgrade() -> None:
    op.drop_index('ix_checkin_dues_compliance', table_name='checkin_dues')
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.drop_column('last_known_at')
        batch_op.drop_column('first_stopped_at')
