"""Consent under UU PDP 27/2022: the text, its version, and what agreeing, declining and withdrawing do.

- Nothing about the person is stored before they agree: the identified recipient waits in the conversation
  state only; the account is linked on *agree*.
- *Decline* stores only the decline (a ``ConsentRecord``) and marks the roster row ``DECLINED`` so the TKSK
  knows; the person can change their mind later with /start.
- *Withdraw* (``/privasi``) records the withdrawal, unlinks the account, skips every pending reminder, and the
  TKSK is told. Data already collected stays with Dinas Sosial for the program's accountability records and is
  no longer added to; the person may ask for it to be corrected or deleted.
- Every record keeps ``settings.onboarding.consent_version`` and the language the text was shown in.
"""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.enums import ConsentDecision, OnboardingState, ReminderStatus
from db.models import ConsentRecord, Recipient, Reminder, TelegramAccount
from services.audit import audit
from services.clock import Clock
from services.onboarding.linking import link_recipient


def consent_text() -> str:
    """The consent text in the current language (short sentences, plain words)."""
    return _(
        "<b>Before we start: your data</b>\n\n"
        "<b>What we record:</b> your phone number, photos of your business, how your business is doing, "
        "and your location only when you send it.\n"
        "<b>Why:</b> so your TKSK and Dinas Sosial can help you quickly when your business has a problem, "
        "and to see how the UEP program is working.\n"
        "<b>Who sees it:</b> your TKSK and PSM, and Dinas Sosial Kalimantan Timur staff. "
        "We do not give it to anyone else.\n"
        "<b>How long:</b> while the program monitors your business, and then as long as the law on government "
        "records requires. After that it is deleted.\n"
        "<b>Your rights:</b> you may see your data, ask for it to be corrected or deleted, and withdraw your "
        "consent at any time with /privasi."
    )


def consent_summary() -> str:
    """Three short lines for a small phone: who asks, what for, the person's rights (the full text is one
    button away, and under /privasi)."""
    return _(
        "📄 <b>Dinas Sosial</b> records your phone number, photos and reports about your business.\n"
        "🤝 So your TKSK can help you quickly and the program can be checked.\n"
        "🛡 You may see, correct or delete your data, or withdraw with /privasi."
    )


def record(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    *,
    account: TelegramAccount,
    recipient_id: int | None,
    decision: ConsentDecision,
    language: str,
) -> ConsentRecord:
    entry = ConsentRecord(
        telegram_account_id=account.id, recipient_id=recipient_id, decision=decision,
        text_version=settings.onboarding.consent_version, language=language, at=clock.now(),
    )
    session.add(entry)
    return entry


async def agree(
    session: AsyncSession, clock: Clock, settings: Settings, *, account: TelegramAccount, recipient: Recipient,
    language: str,
) -> None:
    """Record the consent, link the account and move on to the phone check."""
    record(session, clock, settings, account=account, recipient_id=recipient.id, decision=ConsentDecision.AGREE,
           language=language)
    link_recipient(account, recipient)
    recipient.onboarding_state = OnboardingState.PHONE
    recipient.updated_at = clock.now()
    audit(session, clock, actor=f"account:{account.id}", actor_account_id=account.id, action="consent.agree",
          target=f"recipient:{recipient.id}", details={"version": settings.onboarding.consent_version})
    await session.flush()


async def decline(
    session: AsyncSession, clock: Clock, settings: Settings, *, account: TelegramAccount, recipient: Recipient,
    language: str,
) -> None:
    record(session, clock, settings, account=account, recipient_id=recipient.id, decision=ConsentDecision.DECLINE,
           language=language)
    if recipient.onboarding_state in (OnboardingState.NOT_JOINED, OnboardingState.CONSENT):
        recipient.onboarding_state = OnboardingState.DECLINED
        recipient.updated_at = clock.now()
    await session.flush()


async def withdraw(
    session: AsyncSession, clock: Clock, settings: Settings, *, account: TelegramAccount, language: str
) -> Recipient | None:
    """Withdraw consent: record it, unlink the account, stop reminders. Returns the recipient it was for."""
    recipient = account.recipient
    if recipient is None:
        return None
    now = clock.now()
    record(session, clock, settings, account=account, recipient_id=recipient.id, decision=ConsentDecision.WITHDRAW,
           language=language)
    await session.execute(
        update(Reminder)
        .where(Reminder.recipient_id == recipient.id, Reminder.status == ReminderStatus.PENDING)
        .values(status=ReminderStatus.SKIPPED, error="consent withdrawn")
        .execution_options(synchronize_session=False)
    )
    account.recipient = None
    account.recipient_id = None
    account.is_proxy = False
    account.contact_phone = None
    recipient.onboarding_state = OnboardingState.DECLINED
    recipient.updated_at = now
    audit(session, clock, actor=f"account:{account.id}", actor_account_id=account.id, action="consent.withdraw",
          target=f"recipient:{recipient.id}", details={"version": settings.onboarding.consent_version})
    await session.flush()
    return recipient
