"""case notices and alerts still waiting as reminders (the mechanism before the outbox) move into the outbox
(issues #23, #24)

Before 0006 a case notice or alert that could not go at once was a ``reminders`` row of kind ``case_notice`` or
``case_alert``; since then nothing sends those rows, so any still pending when a deployment upgrades would never
be told. Each becomes a pending ``outbox`` row with the same unique key, due time and tries, for the same
account; its text is built just before sending by the kind's refresher (``services/cases/notify.py``: the card as
the case is then, or nothing for a case that has moved on), as every case row's is. The reminder row is kept as
history, ``skipped`` with the reason. No schema change.

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa
import db.base


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

Utc = db.base.UtcDateTime(timezone=True)
MOVED = "moved to the outbox (migration 0011)"
KINDS = ("case_notice", "case_alert")
URGENT, CASE = 0, 1  # services.outgoing.priority.Priority

reminders = sa.table(
    "reminders",
    sa.column("id", sa.BigInteger), sa.column("dedupe_key", sa.String), sa.column("kind", sa.String),
    sa.column("due_at", Utc), sa.column("status", sa.String), sa.column("claimed_until", Utc),
    sa.column("attempts", sa.Integer), sa.column("error", sa.String), sa.column("payload", sa.JSON),
)
outbox = sa.table(
    "outbox",
    sa.column("id", sa.BigInteger), sa.column("account_id", sa.BigInteger), sa.column("chat_id", sa.BigInteger),
    sa.column("kind", sa.String), sa.column("priority", sa.Integer), sa.column("text", sa.Text),
    sa.column("reply_markup", sa.JSON), sa.column("photo", sa.String), sa.column("media", sa.JSON),
    sa.column("payload", sa.JSON), sa.column("dedupe_key", sa.String), sa.column("due_at", Utc),
    sa.column("status", sa.String), sa.column("attempts", sa.Integer), sa.column("claimed_until", Utc),
    sa.column("created_at", Utc), sa.column("sent_at", Utc), sa.column("message_id", sa.BigInteger),
    sa.column("error", sa.String),
)
accounts = sa.table("telegram_accounts", sa.column("id", sa.BigInteger), sa.column("chat_id", sa.BigInteger))
cases = sa.table("cases", sa.column("id", sa.BigInteger), sa.column("urgency", sa.String))


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(reminders).where(reminders.c.kind.in_(KINDS), reminders.c.status == "pending")
        .order_by(reminders.c.due_at, reminders.c.id)
    ).mappings().all()
    taken = set(bind.execute(sa.select(outbox.c.dedupe_key).where(outbox.c.dedupe_key.is_not(None))).scalars())
    for row in rows:
        payload = row["payload"] or {}
        account_id, case_id = _int(payload.get("account_id")), _int(payload.get("case_id"))
        chat_id = bind.execute(sa.select(accounts.c.chat_id).where(accounts.c.id == account_id)).scalar() \
            if account_id is not None else None
        urgency = bind.execute(sa.select(cases.c.urgency).where(cases.c.id == case_id)).scalar() \
            if case_id is not None else None
        if chat_id is None or urgency is None:
            error = "gone (migration 0011)"  # as the old sender did for a case or account that no longer exists
        else:
            error = MOVED
            key = (row["dedupe_key"] or f"reminder:{row['id']}")[:160]
            if key not in taken:
                taken.add(key)
                if row["kind"] == "case_notice":
                    moved = {"case_id": case_id, "state": payload.get("state"), "event_id": payload.get("event_id")}
                    priority = CASE
                else:
                    moved = {"case_id": case_id, "what": payload.get("what"), "header": None,
                             "media_caption": None, "to_tksk": False, "event_id": payload.get("event_id")}
                    priority = URGENT if urgency == "high" else CASE
                bind.execute(outbox.insert().values(  # the columns left out are NULL
                    account_id=account_id, chat_id=chat_id, kind=row["kind"], priority=priority, text="",
                    payload=moved, dedupe_key=key, due_at=row["due_at"], status="pending",
                    attempts=min(row["attempts"] or 0, 7), created_at=row["due_at"],
                ))
        bind.execute(reminders.update().where(reminders.c.id == row["id"])
                     .values(status="skipped", error=error, claimed_until=None))


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(reminders.c.id, reminders.c.dedupe_key)
        .where(reminders.c.kind.in_(KINDS), reminders.c.status == "skipped", reminders.c.error == MOVED)
    ).all()
    for reminder_id, key in rows:
        still = bind.execute(sa.delete(outbox).where(outbox.c.dedupe_key == key[:160], outbox.c.status == "pending")
                             .returning(outbox.c.id)).first()
        if still is not None:
            bind.execute(reminders.update().where(reminders.c.id == reminder_id)
                         .values(status="pending", error=None))
