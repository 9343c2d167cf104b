"""Telling people about a decision or a hand-over: the TKSK/PSM who assessed, the kecamatan's TKSK, and the
candidate when they have a Telegram account. Texts are translated into each account's language.

Messages to anyone but the person whose update is handled go through the outbox
(``services.outgoing.outbox.enqueue``: written in the same transaction, sent after commit, retried, paced).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import N_, CatalogI18n
from db.enums import WorkerRole
from db.models import Assessment, Candidate, FieldWorker, TelegramAccount
from services.aid.catalog import rupiah
from services.i18n_labels import business_type_label

TKSK_APPROVED = N_("✅ Dinas Sosial approved {name}: {business}, package {total}. Please arrange the hand-over "
                   "and invite them to the bot (/penerima).")
TKSK_REJECTED = N_("❌ Dinas Sosial did not approve {name}. Reason: {reason}\nPlease tell the candidate in person.")
CANDIDATE_APPROVED = N_("🎉 Good news: your business aid has been approved. Your TKSK will contact you about the "
                        "hand-over.")
CANDIDATE_REJECTED = N_("We are sorry: your business aid has not been approved this time. Your TKSK can explain "
                        "why.")


@dataclass
class Notice:
    account: TelegramAccount
    kind: str
    text: str
    dedupe_key: str


async def _worker_accounts(session: AsyncSession, candidate: Candidate, assessment: Assessment | None
                           ) -> list[TelegramAccount]:
    """The assessor and the kecamatan's TKSK (once each), active and linked."""
    cond = [FieldWorker.kecamatan_id == candidate.kecamatan_id, FieldWorker.role == WorkerRole.TKSK]
    query = select(TelegramAccount).join(FieldWorker, FieldWorker.id == TelegramAccount.worker_id).where(
        FieldWorker.active.is_(True),
        or_(FieldWorker.id == (assessment.worker_id if assessment else -1),
            (cond[0] & cond[1])),
    )
    return list((await session.scalars(query)).unique().all())


async def _candidate_account(session: AsyncSession, candidate: Candidate) -> TelegramAccount | None:
    if candidate.recipient_id is None:
        return None
    return await session.scalar(select(TelegramAccount).where(TelegramAccount.recipient_id == candidate.recipient_id))


def _tr(i18n: CatalogI18n, account: TelegramAccount, settings: Settings) -> tuple[Callable[[str], str], str]:
    locale = account.language if account.language in i18n.available_locales else settings.i18n.default_locale
    return i18n.translator(locale), locale


async def decision_notices(
    session: AsyncSession, candidate: Candidate, assessment: Assessment | None, *, approved: bool,
    settings: Settings, i18n: CatalogI18n, total: int | None = None,
) -> list[Notice]:
    import html

    notices: list[Notice] = []
    name = html.escape(candidate.name)
    for account in await _worker_accounts(session, candidate, assessment):
        t, locale = _tr(i18n, account, settings)
        if approved:
            label = business_type_label(candidate.approved_business_type or "", settings, locale)
            text = t(TKSK_APPROVED).format(
                name=name, business=label, total=rupiah(total or 0))
        else:
            text = t(TKSK_REJECTED).format(name=name, reason=html.escape(candidate.decision_reason or ""))
        notices.append(Notice(account, "aid.decision", text, f"aid.decision:{candidate.id}:{account.id}"))
    account = await _candidate_account(session, candidate)
    if account is not None:
        t, _locale = _tr(i18n, account, settings)
        text = t(CANDIDATE_APPROVED) if approved else t(CANDIDATE_REJECTED)
        notices.append(Notice(account, "aid.decision", text, f"aid.decision:{candidate.id}:{account.id}"))
    return notices


async def queue(session: AsyncSession, notices: list[Notice]) -> None:
    """Write the notices into the caller's transaction (the outbox sends them after its commit)."""
    from services.outgoing import outbox
    from services.outgoing.priority import Priority

    for n in notices:
        await outbox.enqueue(session, account=n.account, kind=n.kind, text=n.text, priority=Priority.CASE,
                             dedupe_key=n.dedupe_key)
