"""Messages of the privacy feature to anyone other than the person whose update is being handled (the TKSK
and Dinas Sosial told of a request, the person told of an answer, breach notices).

Each one is written in the caller's transaction as a durable ``Reminder`` row (kind ``privacy_message``, its
text already translated into the receiver's language, a unique dedupe key), and sent by the scan task
``privacy_messages`` (scheduler/privacy_tasks.py) once the transaction has committed: nothing is said about
a change that was rolled back, and a crash loses nothing. :func:`enqueue` is the one place to switch to the
shared outbox (``services.outgoing.outbox.enqueue``) when it is on main.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.messenger import Messenger, SendOutcome
from db.claims import claim_rows
from db.enums import ReminderStatus
from db.models import Reminder, TelegramAccount
from services.outgoing.priority import Priority

log = logging.getLogger(__name__)

KIND = "privacy_message"
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5


async def enqueue(
    session: AsyncSession, *, account: TelegramAccount, text: str, dedupe_key: str, now: datetime,
    voice_file_id: str | None = None, priority: Priority = Priority.CASE,
) -> Reminder | None:
    """Queue ``text`` (already in the account's language) for the account; None when that key was queued before."""
    key = f"pdp:{dedupe_key}:{account.id}"[:120]
    if await session.scalar(select(Reminder.id).where(Reminder.dedupe_key == key)) is not None:
        return None
    row = Reminder(dedupe_key=key, kind=KIND, due_at=now, status=ReminderStatus.PENDING,
                   payload={"account_id": account.id, "text": text, "voice_file_id": voice_file_id,
                            "priority": priority.name})
    session.add(row)
    await session.flush()
    return row


async def deliver_due(ctx: AppContext, messenger: Messenger, now: datetime) -> int:
    """Send every due privacy message once; returns how many were sent."""
    sent = 0
    while True:
        ids = await claim_rows(
            ctx.session_factory, Reminder,
            where=[Reminder.kind == KIND, Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now],
            order_by=[Reminder.id], limit=ctx.settings.scheduler.batch_size, now=now, lease=LEASE,
        )
        for row_id in ids:
            async with ctx.session_factory.begin() as session:
                row = await session.get(Reminder, row_id)
                if row is None or row.status != ReminderStatus.PENDING:
                    continue
                sent += await _send(session, messenger, row, now)
        if len(ids) < ctx.settings.scheduler.batch_size:
            return sent


async def _send(session: AsyncSession, messenger: Messenger, row: Reminder, now: datetime) -> int:
    payload = row.payload or {}
    row.claimed_until = None
    account = await session.get(TelegramAccount, payload.get("account_id"))
    if account is None:
        row.status, row.error = ReminderStatus.SKIPPED, "no account"
        return 0
    priority = Priority[payload.get("priority") or Priority.CASE.name]
    result = await messenger.send(account, payload["text"], priority=priority)
    if result.ok and payload.get("voice_file_id"):
        await messenger.send_voice(account, payload["voice_file_id"], priority=priority)
    row.attempts += 1
    if result.ok:
        row.status, row.sent_at = ReminderStatus.SENT, now
        return 1
    if result.outcome is SendOutcome.RETRY and row.attempts < MAX_ATTEMPTS:
        row.due_at = now + timedelta(seconds=max(60.0, result.retry_after or 0))
        row.error = (result.error or "retry")[:300]
        return 0
    row.status, row.error = ReminderStatus.FAILED, (result.error or result.outcome.value)[:300]
    log.info("privacy message %s to account %s not delivered: %s", row.id, account.id, row.status)
    return 0
