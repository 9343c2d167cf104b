"""monitoring: visit reports and visit plan rows

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

import db.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "visits",
        sa.Column("id", BigId, nullable=False),
        sa.Column("recipient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kecamatan_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("visited_at", db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("observed_status", sa.String(length=20), nullable=False),
        sa.Column("days_open", sa.Integer(), nullable=True),
        sa.Column("sales_bracket", sa.String(length=20), nullable=True),
        sa.Column("stock", sa.String(length=20), nullable=True),
        sa.Column("equipment", sa.String(length=20), nullable=True),
        sa.Column("obstacles", sa.JSON(), nullable=True),
        sa.Column("advice", sa.Text(), nullable=True),
        sa.Column("next_visit_on", sa.Date(), nullable=True),
        sa.Column("photo_file_ids", sa.JSON(), nullable=True),
        sa.Column("checkin_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["telegram_accounts.id"], name=op.f("fk_visits_account_id_telegram_accounts")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_visits_case_id_cases"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["checkin_id"], ["checkins.id"], name=op.f("fk_visits_checkin_id_checkins"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["kecamatan_id"], ["kecamatan.id"], name=op.f("fk_visits_kecamatan_id_kecamatan")),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"], name=op.f("fk_visits_recipient_id_recipients"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["worker_id"], ["field_workers.id"], name=op.f("fk_visits_worker_id_field_workers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
        sa.UniqueConstraint("checkin_id", name=op.f("uq_visits_checkin_id")),
    )
    op.create_index("ix_visits_recipient_at", "visits", ["recipient_id", "visited_at"], unique=False)
    op.create_index(op.f("ix_visits_kecamatan_id"), "visits", ["kecamatan_id"], unique=False)
    op.create_index(op.f("ix_visits_worker_id"), "visits", ["worker_id"], unique=False)
    op.create_table(
        "visit_dues",
        sa.Column("id", BigId, nullable=False),
        sa.Column("recipient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("due_at", db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_visit_at", db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("planned_on", sa.Date(), nullable=True),
        sa.Column("planned_at", db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("overdue_notified_at", db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"], name=op.f("fk_visit_dues_recipient_id_recipients"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_dues")),
        sa.UniqueConstraint("recipient_id", name=op.f("uq_visit_dues_recipient_id")),
    )
    op.create_index("ix_visit_dues_due", "visit_dues", ["due_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_visit_dues_due", table_name="visit_dues")
    op.drop_table("visit_dues")
    op.drop_index(op.f("ix_visits_worker_id"), table_name="visits")
    op.drop_index(op.f("ix_visits_kecamatan_id"), table_name="visits")
    op.drop_index("ix_visits_recipient_at", table_name="visits")
    op.drop_table("visits")
