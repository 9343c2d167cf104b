"""Onboarding scan: recipients waiting for their aid (``AID_WAITING``) whose roster row has since got an aid date
(a roster re-import) are invited to confirm receipt.

Each recipient is claimed by moving them to ``AID_RECEIPT`` in the same transaction that queues the invitation
in the outbox (rows locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so the invitation is queued once and
sent after the commit. A transient send failure (429, network) is retried from the outbox row; a blocked bot
(403) keeps the move: the person finds the step with /start when they come back. An invitation whose person
has left the receipt step before it went (they found it with /start and answered) is not sent.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import OnboardingState
from db.models import OutboxMessage, Recipient, TelegramAccount
from scheduler.tasks import TaskRun, scan_task
from services.outgoing.outbox import Refreshed, enqueue, refresher
from services.outgoing.priority import Priority

log = logging.getLogger("uep.scheduler.onboarding")
AID_INVITE_KIND = "aid_receipt_invite"


@scan_task("onboarding_aid_arrived")
async def invite_to_aid_receipt(run: TaskRun) -> int:
    from aiogram.utils.i18n import gettext as _

    from conversations.onboarding import aid_prompt
    from services.onboarding.aid import ensure_package

    ctx = run.ctx
    handled = 0
    async with ctx.session_factory() as session:
        query = (
            select(Recipient.id)
            .where(Recipient.onboarding_state == OnboardingState.AID_WAITING, Recipient.aid_date.is_not(None))
            .order_by(Recipient.id)
            .limit(ctx.settings.scheduler.batch_size)
        )
        ids = list(await session.scalars(query))
    for recipient_id in ids:
        async with ctx.session_factory() as session:
            lock = select(Recipient).where(
                Recipient.id == recipient_id, Recipient.onboarding_state == OnboardingState.AID_WAITING
            )
            if session.bind.dialect.name == "postgresql":
                lock = lock.with_for_update(skip_locked=True, of=Recipient)
            recipient = await session.scalar(lock)
            if recipient is None or recipient.aid_date is None:
                await session.rollback()
                continue
            recipient.onboarding_state = OnboardingState.AID_RECEIPT
            recipient.updated_at = run.now
            package = await ensure_package(session, recipient, ctx.settings)
            account = await session.scalar(select(TelegramAccount).where(TelegramAccount.recipient_id == recipient.id))
            if account is not None:
                with run.messenger.speaking_to(account):
                    text, markup = aid_prompt(package)
                    text = _("📦 Good news: your aid is now recorded as handed over.") + "\n\n" + text
                await enqueue(session, account=account, kind=AID_INVITE_KIND, text=text, reply_markup=markup,
                              priority=Priority.ROUTINE, payload={"recipient_id": recipient.id},
                              dedupe_key=f"{AID_INVITE_KIND}:{recipient.id}:{recipient.aid_date.isoformat()}")
            await session.commit()
            handled += 1
    return handled


@refresher(AID_INVITE_KIND)
async def _refresh_invite(session: AsyncSession, row: OutboxMessage, account: TelegramAccount,
                          **_: object) -> Refreshed | None:
    """Not sent when the person has left the receipt step since it was queued (they answered it already)."""
    recipient = await session.get(Recipient, (row.payload or {}).get("recipient_id", 0))
    if recipient is None or recipient.onboarding_state != OnboardingState.AID_RECEIPT:
        return None
    return Refreshed(row.text, row.reply_markup)
