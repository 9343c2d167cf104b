"""Messages of the privacy feature to anyone other than the person whose update is being handled (the TKSK
and Dinas Sosial told of a request, the person told of an answer or a delay, breach notices).

Each one goes through the shared outbox (``services.outgoing.outbox.enqueue``): written in the caller's
transaction with its text already in the receiver's language and a unique dedupe key, sent after the commit,
paced, retried. Nothing is said about a change that was rolled back, and a crash loses nothing. A voice note
of a correction rides along as the outbox row's media (sent right after the text).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import OutboxMessage, TelegramAccount
from services.outgoing import outbox
from services.outgoing.priority import Priority

KIND = "privacy_message"


async def enqueue(
    session: AsyncSession, *, account: TelegramAccount, text: str, dedupe_key: str, now: datetime,
    voice_file_id: str | None = None, priority: Priority = Priority.CASE,
) -> OutboxMessage | None:
    """Queue ``text`` (already in the account's language) for the account; None when that key was queued before.
    ``now`` is when it was decided (the outbox sends at once after the commit)."""
    key = f"pdp:{dedupe_key}:{account.id}"[:160]
    from sqlalchemy import select

    if await session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is not None:
        return None
    return await outbox.enqueue(
        session, account=account, kind=KIND, text=text, priority=priority, dedupe_key=key,
        media=[{"type": "voice", "file_id": voice_file_id}] if voice_file_id else None,
    )
