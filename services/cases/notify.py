"""Who hears about a case, and when: recipients (never in quiet hours), the TKSK, Dissos caseworkers.

Anything that cannot go out at once is a durable ``Reminder`` row (kind ``case_notice`` for a recipient,
``case_alert`` for a TKSK or caseworker) with a due time and a unique dedupe key; :func:`deliver_due` sends
what is due, once, from the scan tick (claimed with a lease and ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
several processes never send the same row twice). A recipient notice that a later change has overtaken is
skipped rather than sent late.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, ReplyParameters
from aiogram.utils.i18n import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.context import AppContext
from bot.messenger import Messenger, SendOutcome, SendResult
from db.enums import CaseState, ReminderStatus, StaffRole, Urgency
from db.models import Case, CaseEvent, FieldWorker, Kabupaten, Kecamatan, Photo, Reminder, Staff, TelegramAccount
from services.cases.opening import tksk_account_of
from services.cases.transitions import Actor
from services.cases.views import case_card, case_keyboard, recipient_notice, reopen_keyboard
from services.i18n_labels import business_type_label
from services.outgoing.priority import Priority
from services.schedule import outside_quiet_hours

log = logging.getLogger(__name__)

CASE_NOTICE = "case_notice"  # to the recipient; respects quiet hours
CASE_ALERT = "case_alert"    # to a TKSK or caseworker; quiet hours unless the case is urgent
CASE_KINDS = (CASE_NOTICE, CASE_ALERT)
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
MAX_ALBUM = 10


# ---------------------------------------------------------------------------------------------- people
async def account_of_recipient(session: AsyncSession, recipient_id: int | None) -> TelegramAccount | None:
    if recipient_id is None:
        return None
    return await session.scalar(select(TelegramAccount).where(TelegramAccount.recipient_id == recipient_id))


async def staff_accounts(session: AsyncSession, staff_id: int | None = None) -> list[TelegramAccount]:
    """Accounts of active Dissos caseworkers and admins (or of one of them)."""
    query = (
        select(TelegramAccount).join(Staff, Staff.id == TelegramAccount.staff_id)
        .where(Staff.active.is_(True), Staff.role.in_([StaffRole.CASEWORKER.value, StaffRole.ADMIN.value]))
        .order_by(TelegramAccount.id)
    )
    if staff_id is not None:
        query = query.where(Staff.id == staff_id)
    return list(await session.scalars(query))


async def worker_account(session: AsyncSession, worker_id: int | None) -> TelegramAccount | None:
    if worker_id is None:
        return None
    return await session.scalar(
        select(TelegramAccount).join(FieldWorker, FieldWorker.id == TelegramAccount.worker_id)
        .where(FieldWorker.id == worker_id, FieldWorker.active.is_(True))
    )


async def owners(session: AsyncSession, case: Case) -> list[TelegramAccount]:
    """Who must act on the case now: its Dissos owner, else its TKSK owner, else the kecamatan's TKSK; when
    none of them is in the bot (or it sits unclaimed with Dissos), every caseworker."""
    if case.owner_staff_id is not None:
        found = await staff_accounts(session, case.owner_staff_id)
        if found:
            return found
    if case.with_dissos and case.owner_staff_id is None:
        return await staff_accounts(session)
    account = await worker_account(session, case.owner_worker_id)
    if account is None:
        _worker, account = await tksk_account_of(session, case.kecamatan_id)
    return [account] if account is not None else await staff_accounts(session)


# ---------------------------------------------------------------------------------------------- the card
@dataclass(slots=True)
class CardContext:
    kecamatan: str
    kabupaten: str
    owner_worker: str | None
    owner_staff: str | None
    photo_ids: list[str]
    events: list[CaseEvent]


async def card_context(session: AsyncSession, case: Case, *, last_events: int = 3) -> CardContext:
    kec, kab = (await session.execute(
        select(Kecamatan.name, Kabupaten.name).join(Kabupaten, Kabupaten.id == Kecamatan.kabupaten_id)
        .where(Kecamatan.id == case.kecamatan_id)
    )).one()
    owner_worker = owner_staff = None
    if case.owner_worker_id is not None:
        w = await session.get(FieldWorker, case.owner_worker_id)
        owner_worker = f"{w.name} (TKSK)" if w else None
    if case.owner_staff_id is not None:
        s = await session.get(Staff, case.owner_staff_id)
        owner_staff = f"{s.name} (Dissos)" if s else None
    photo_ids = list(await session.scalars(select(Photo.file_id).where(Photo.case_id == case.id).order_by(Photo.id)))
    events: list[CaseEvent] = []
    if last_events:
        events = list(reversed(list(await session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc()).limit(last_events)
        ))))
    return CardContext(kec, kab, owner_worker, owner_staff, photo_ids, events)


async def render_card(
    session: AsyncSession,
    case: Case,
    actor: Actor,
    *,
    now: datetime,
    settings: Settings,
    locale: str,
    header: str | None = None,
    back: InlineKeyboardButton | None = None,
) -> tuple[str, InlineKeyboardMarkup, CardContext]:
    """Text and buttons of the case for ``actor``, in the current locale."""
    ctx = await card_context(session, case)
    business = business_type_label(case.recipient.business_type, settings, locale) if case.recipient else None
    text = case_card(
        case, now=now, settings=settings, kecamatan=ctx.kecamatan, kabupaten=ctx.kabupaten,
        owner_worker=ctx.owner_worker, owner_staff=ctx.owner_staff, photos=len(ctx.photo_ids), business=business,
        last_events=ctx.events,
    )
    if header:
        text = header + "\n\n" + text
    keyboard = case_keyboard(case, actor, back=back, has_media=bool(case.voice_file_id or ctx.photo_ids))
    return text, keyboard, ctx


async def send_media(
    messenger: Messenger,
    account: TelegramAccount,
    *,
    voice_file_ids: list[str],
    photo_file_ids: list[str],
    caption: str,
    reply_to: int | None = None,
    priority: Priority = Priority.CASE,
) -> None:
    """Forward the recipient's voice notes and photos by file_id (no download, no re-upload)."""
    reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
    for voice in voice_file_ids:
        await messenger.send_voice(account, voice, caption=caption, reply_parameters=reply, priority=priority)
    photos = photo_file_ids[:MAX_ALBUM]
    if len(photos) == 1:
        await messenger.send_photo(account, photos[0], caption=caption, reply_parameters=reply, priority=priority)
    elif photos:
        media = [InputMediaPhoto(media=p, caption=caption if i == 0 else None) for i, p in enumerate(photos)]
        await messenger.send_media_group(account, media, reply_parameters=reply, priority=priority)


async def send_card(
    messenger: Messenger,
    session: AsyncSession,
    account: TelegramAccount,
    case: Case,
    *,
    now: datetime,
    settings: Settings,
    header: str | None = None,
    with_media: bool = False,
    extra_voice: list[str] | None = None,
    extra_photos: list[str] | None = None,
    priority: Priority | None = None,
) -> SendResult:
    """The case card with the buttons this account may press, in the account's language (plus media).
    Outside an update it waits for the pacer: ``URGENT`` for an urgent case, else ``CASE``."""
    priority = priority if priority is not None else alert_priority(case)
    with messenger.speaking_to(account) as locale:
        actor = Actor.of(account)
        text, keyboard, ctx = await render_card(
            session, case, actor, now=now, settings=settings, locale=locale, header=header
        )
        result = await messenger.send(account, text, reply_markup=keyboard, priority=priority)
        voices = list(extra_voice or []) + ([case.voice_file_id] if with_media and case.voice_file_id else [])
        photos = list(extra_photos or []) + (ctx.photo_ids if with_media else [])
        if result.ok and (voices or photos):
            caption = _("Case {number}").format(number=case.number)
            await send_media(messenger, account, voice_file_ids=voices, photo_file_ids=photos, caption=caption,
                             reply_to=result.message.message_id if result.message else None, priority=priority)
    return result


def alert_priority(case: Case) -> Priority:
    """Alerts to the people handling a case: urgent cases before everything else."""
    return Priority.URGENT if case.urgency == Urgency.HIGH else Priority.CASE


# ---------------------------------------------------------------------------------------------- outbox
def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    dedupe_key: str,
    due_at: datetime,
    payload: dict[str, Any],
    recipient_id: int | None = None,
) -> Reminder:
    row = Reminder(
        dedupe_key=dedupe_key[:120], kind=kind, recipient_id=recipient_id, step=0, due_at=due_at,
        status=ReminderStatus.PENDING, payload=payload,
    )
    session.add(row)
    return row


async def tell_recipient(
    session: AsyncSession,
    messenger: Messenger | None,
    case: Case,
    event: CaseEvent,
    *,
    now: datetime,
    settings: Settings,
) -> None:
    """Tell the recipient their case changed state: at once when awake and a messenger is at hand, else a
    queued notice at the end of the quiet hours."""
    account = await account_of_recipient(session, case.recipient_id)
    if account is None:
        return
    at = outside_quiet_hours(now, settings)
    if at <= now and messenger is not None:
        result = await send_recipient_notice(messenger, account, case, now=now, settings=settings)
        if result.outcome is not SendOutcome.RETRY:
            return
        at = now + timedelta(minutes=5)
    enqueue(
        session, kind=CASE_NOTICE, dedupe_key=f"case:{case.id}:e{event.id}:r", due_at=at,
        recipient_id=case.recipient_id,
        payload={"case_id": case.id, "account_id": account.id, "state": case.state, "event_id": event.id},
    )


async def send_recipient_notice(
    messenger: Messenger, account: TelegramAccount, case: Case, *, now: datetime, settings: Settings
) -> SendResult:
    with messenger.speaking_to(account):
        markup = reopen_keyboard(case.id) if case.state == CaseState.RESOLVED else None
        return await messenger.send(account, recipient_notice(case, now, settings), reply_markup=markup,
                                    priority=Priority.CASE)


async def alert_later(
    session: AsyncSession,
    case: Case,
    accounts: list[TelegramAccount],
    *,
    what: str,
    event_id: int,
    now: datetime,
    settings: Settings,
) -> None:
    """Queue an alert about ``case`` for each account: now if the case is urgent, else after quiet hours."""
    at = now if case.urgency == Urgency.HIGH else outside_quiet_hours(now, settings)
    for account in accounts:
        enqueue(
            session, kind=CASE_ALERT, dedupe_key=f"case:{case.id}:e{event_id}:{what}:a{account.id}", due_at=at,
            payload={"case_id": case.id, "account_id": account.id, "what": what, "event_id": event_id},
        )


def _alert_header(what: str, case: Case, settings: Settings) -> str:
    from services.cases.views import local

    if what == "escalated":
        return _("⏫ Not taken within the deadline: this case is now in the Dissos queue.")
    if what == "remind":
        deadline = local(case.resolve_due_at, settings) if case.resolve_due_at else "-"
        return _("⏰ Reminder: this case must be resolved by {deadline}.").format(deadline=deadline)
    return _("🔔 Case update")


async def _claim(ctx: AppContext, now: datetime, limit: int) -> list[int]:
    async with ctx.session_factory.begin() as session:
        query = (
            select(Reminder.id)
            .where(
                Reminder.kind.in_(CASE_KINDS), Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now,
                or_(Reminder.claimed_until.is_(None), Reminder.claimed_until < now),
            )
            .order_by(Reminder.due_at, Reminder.id)
            .limit(limit)
        )
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(await session.scalars(query))
        if ids:
            await session.execute(update(Reminder).where(Reminder.id.in_(ids)).values(claimed_until=now + LEASE))
    return ids


async def deliver_due(ctx: AppContext, messenger: Messenger, now: datetime) -> int:
    """Send every due case notice and alert once; returns how many rows were handled."""
    handled = 0
    while True:
        ids = await _claim(ctx, now, ctx.settings.scheduler.batch_size)
        if not ids:
            return handled
        for reminder_id in ids:
            async with ctx.session_factory.begin() as session:
                await _deliver_one(session, messenger, reminder_id, now=now, settings=ctx.settings)
            handled += 1
        if len(ids) < ctx.settings.scheduler.batch_size:
            return handled


async def _deliver_one(
    session: AsyncSession, messenger: Messenger, reminder_id: int, *, now: datetime, settings: Settings
) -> None:
    row = await session.get(Reminder, reminder_id)
    if row is None or row.status != ReminderStatus.PENDING:
        return
    payload = row.payload or {}
    case = await session.get(Case, payload.get("case_id"))
    account = await session.get(TelegramAccount, payload.get("account_id"))
    if case is None or account is None:
        row.status, row.error, row.claimed_until = ReminderStatus.SKIPPED, "gone", None
        return
    if row.kind == CASE_NOTICE:
        if case.state != payload.get("state"):
            row.status, row.error, row.claimed_until = ReminderStatus.SKIPPED, "superseded", None
            return
        result = await send_recipient_notice(messenger, account, case, now=now, settings=settings)
    else:
        what = str(payload.get("what", ""))
        if case.state in (CaseState.RESOLVED, CaseState.CLOSED):
            row.status, row.error, row.claimed_until = ReminderStatus.SKIPPED, "case done", None
            return
        with messenger.speaking_to(account):
            header = _alert_header(what, case, settings)
        result = await send_card(messenger, session, account, case, now=now, settings=settings, header=header)
    row.attempts += 1
    row.claimed_until = None
    if result.ok:
        row.status, row.sent_at, row.error = ReminderStatus.SENT, now, None
    elif result.outcome is SendOutcome.RETRY and row.attempts < MAX_ATTEMPTS:
        retry_at = now + timedelta(seconds=max(60.0, result.retry_after or 0) * row.attempts)
        row.due_at = outside_quiet_hours(retry_at, settings) if row.kind == CASE_NOTICE else retry_at
        row.error = (result.error or "retry")[:300]
    else:
        row.status, row.error = ReminderStatus.FAILED, (result.error or result.outcome.value)[:300]


async def pending_count(session: AsyncSession) -> int:
    return await session.scalar(
        select(func.count()).select_from(Reminder)
        .where(Reminder.kind.in_(CASE_KINDS), Reminder.status == ReminderStatus.PENDING)
    ) or 0
