"""Who hears about a case, and when: recipients (never in quiet hours), the TKSK, Dissos caseworkers.

Every such message is an outbox row (:mod:`services.outgoing.outbox`), written in the transaction that
changed the case and sent after its commit: kind ``case_notice`` to the recipient, ``case_alert`` (a case
card with its buttons) to a TKSK or caseworker. Both are rebuilt just before sending, so a card shows the case
as it is then, and a notice that a later change has overtaken (or an alert about a case that is done) is
skipped rather than sent late. An alert that cannot reach a TKSK (blocked the bot, or failed for good) goes
to every Dissos caseworker instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, ReplyParameters
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.messenger import Messenger
from db.enums import CaseState, StaffRole, Urgency
from db.models import Case, CaseEvent, FieldWorker, Kabupaten, Kecamatan, OutboxMessage, Photo, Staff, TelegramAccount
from services.cases.opening import tksk_account_of
from services.cases.transitions import Actor
from services.cases.views import case_card, case_keyboard, recipient_notice, reopen_keyboard
from services.i18n_labels import business_type_label
from services.outgoing.outbox import Refreshed, enqueue, on_undeliverable, refresher
from services.outgoing.outbox import pending_count as outbox_pending
from services.outgoing.priority import Priority
from services.schedule import outside_quiet_hours, recently_active

log = logging.getLogger(__name__)

CASE_NOTICE = "case_notice"  # to the recipient; respects quiet hours
CASE_ALERT = "case_alert"    # to a TKSK or caseworker; quiet hours unless the case is urgent
CASE_CARD_EDIT = "case_card_edit"  # an edit of a card already sent (the case moved on): never two states at once
CASE_KINDS = (CASE_NOTICE, CASE_ALERT, CASE_CARD_EDIT)
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
        owner_staff = f"{s.name} (Dinas Sosial)" if s else None
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
    keyboard = case_keyboard(case, actor, back=back,
                             has_media=bool(case.voice_file_id or case.video_note_file_id or ctx.photo_ids))
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
    video_note_file_ids: list[str] | None = None,
) -> None:
    """Forward the recipient's voice notes, video notes and photos by file_id (no download, no re-upload)."""
    reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
    for voice in voice_file_ids:
        await messenger.send_voice(account, voice, caption=caption, reply_parameters=reply, priority=priority)
    for video in video_note_file_ids or []:
        await messenger.send_video_note(account, video, reply_parameters=reply, priority=priority)
    photos = photo_file_ids[:MAX_ALBUM]
    if len(photos) == 1:
        await messenger.send_photo(account, photos[0], caption=caption, reply_parameters=reply, priority=priority)
    elif photos:
        media = [InputMediaPhoto(media=p, caption=caption if i == 0 else None) for i, p in enumerate(photos)]
        await messenger.send_media_group(account, media, reply_parameters=reply, priority=priority)


# ---------------------------------------------------------------------------------------------- outbox
def _media(voices: list[str], photos: list[str], videos: list[str] | None = None) -> list[dict[str, str]]:
    return ([{"type": "voice", "file_id": v} for v in voices]
            + [{"type": "video_note", "file_id": v} for v in videos or []]
            + [{"type": "photo", "file_id": p} for p in photos])


async def queue_card(
    session: AsyncSession,
    messenger: Messenger | None,
    account: TelegramAccount,
    case: Case,
    *,
    now: datetime,
    settings: Settings,
    header: str | None = None,
    what: str = "update",
    event_id: int | None = None,
    with_media: bool = False,
    extra_voice: list[str] | None = None,
    extra_photos: list[str] | None = None,
    extra_video_notes: list[str] | None = None,
    priority: Priority | None = None,
    due_at: datetime | None = None,
    to_tksk: bool = False,
) -> OutboxMessage:
    """Queue the case card (header, buttons this account may press, and media) for ``account``: sent after
    the caller's commit. ``header`` is already in the account's language (``messenger.speaking_to``)."""
    await session.flush()  # the case and its event have ids
    photos = list(extra_photos or [])
    voices = list(extra_voice or []) + ([case.voice_file_id] if with_media and case.voice_file_id else [])
    videos = list(extra_video_notes or []) + (
        [case.video_note_file_id] if with_media and case.video_note_file_id else [])
    text, markup = "", None
    if messenger is not None:
        with messenger.speaking_to(account) as locale:
            text, markup, ctx = await render_card(session, case, Actor.of(account), now=now, settings=settings,
                                                  locale=locale, header=header)
            caption = _("Case {number}").format(number=case.number)
        if with_media:
            photos += ctx.photo_ids
    else:
        caption = case.number
        if with_media:
            photos += (await card_context(session, case, last_events=0)).photo_ids
    if priority is None:
        priority = Priority.URGENT if case.urgency == Urgency.HIGH else Priority.CASE
    key = f"case:{case.id}:e{event_id}:{what}:a{account.id}" if event_id is not None else None
    return await enqueue(
        session, account=account, kind=CASE_ALERT, text=text, reply_markup=markup, priority=priority,
        dedupe_key=key, due_at=due_at, media=_media(voices, photos[:MAX_ALBUM], videos) or None,
        payload={"case_id": case.id, "what": what, "header": header, "media_caption": caption,
                 "to_tksk": to_tksk, "event_id": event_id},
    )


async def tell_recipient(
    session: AsyncSession,
    messenger: Messenger | None,
    case: Case,
    event: CaseEvent,
    *,
    now: datetime,
    settings: Settings,
) -> None:
    """Tell the recipient their case changed state: after the commit when awake, else at the end of the
    quiet hours (a later change overtakes the notice: see the refresher below)."""
    account = await account_of_recipient(session, case.recipient_id)
    if account is None:
        return
    at = outside_quiet_hours(now, settings)
    if at > now and recently_active(account.last_seen_at, now, settings):
        at = now  # they wrote a moment ago: the answer comes now, not at the end of the quiet hours
    text, markup = "", None
    if messenger is not None:
        with messenger.speaking_to(account):
            text, markup = _notice(case, now, settings)
    await enqueue(
        session, account=account, kind=CASE_NOTICE, text=text, reply_markup=markup, priority=Priority.CASE,
        dedupe_key=f"case:{case.id}:e{event.id}:r", due_at=at if at > now else None,
        payload={"case_id": case.id, "state": case.state, "event_id": event.id},
    )


def _notice(case: Case, now: datetime, settings: Settings) -> tuple[str, InlineKeyboardMarkup | None]:
    markup = reopen_keyboard(case.id) if case.state == CaseState.RESOLVED else None
    return recipient_notice(case, now, settings), markup


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
        await queue_card(session, None, account, case, now=now, settings=settings, what=what, event_id=event_id,
                         due_at=at if at > now else None)


def _alert_header(what: str, case: Case, settings: Settings) -> str:
    from services.cases.views import local

    if what == "escalated":
        return _("⏫ Not taken within the deadline: this case is now in the Dinas Sosial queue.")
    if what == "remind":
        deadline = local(case.resolve_due_at, settings) if case.resolve_due_at else "-"
        return _("⏰ Reminder: this case must be resolved by {deadline}.").format(deadline=deadline)
    if what == "tksk_unreachable":
        return _("🔔 New problem reported; the TKSK of this kecamatan is not reachable in the bot.")
    return _("🔔 Case update")


def _markup_json(markup: InlineKeyboardMarkup | None) -> dict[str, Any] | None:
    return markup.model_dump(mode="json", exclude_none=True) if markup is not None else None


@refresher(CASE_NOTICE)
async def _refresh_notice(
    session: AsyncSession, row: OutboxMessage, account: TelegramAccount, *, now: datetime, settings: Settings,
    messenger: Messenger,
) -> Refreshed | None:
    payload = row.payload or {}
    case = await session.get(Case, payload.get("case_id"))
    if case is None or case.state != payload.get("state"):
        return None  # gone, or overtaken by a later change (which has its own notice)
    text, markup = _notice(case, now, settings)
    return Refreshed(text, _markup_json(markup))


@refresher(CASE_ALERT)
async def _refresh_card(
    session: AsyncSession, row: OutboxMessage, account: TelegramAccount, *, now: datetime, settings: Settings,
    messenger: Messenger,
) -> Refreshed | None:
    """The card as the case is now, with the buttons the account may press now; none for a case that is done."""
    payload = row.payload or {}
    case = await session.get(Case, payload.get("case_id"))
    if case is None or case.state in (CaseState.RESOLVED, CaseState.CLOSED):
        return None
    header = payload.get("header") or _alert_header(str(payload.get("what", "")), case, settings)
    text, keyboard, _ctx = await render_card(session, case, Actor.of(account), now=now, settings=settings,
                                             locale=messenger.locale_of(account), header=header)
    return Refreshed(text, _markup_json(keyboard))


@on_undeliverable(CASE_ALERT)
async def _alert_dissos_instead(
    session: AsyncSession, row: OutboxMessage, *, now: datetime, settings: Settings, messenger: Messenger | None = None,
    blocked: bool = False,
) -> None:
    """A TKSK's alert about a case could not be delivered: every Dissos caseworker gets the case instead."""
    payload = row.payload or {}
    if not payload.get("to_tksk"):
        return
    case = await session.get(Case, payload.get("case_id"))
    if case is None or case.state in (CaseState.RESOLVED, CaseState.CLOSED):
        return
    for staff in await staff_accounts(session):
        await queue_card(session, None, staff, case, now=now, settings=settings, what="tksk_unreachable",
                         event_id=payload.get("event_id") or 0, with_media=True, priority=Priority.URGENT)


# ---------------------------------------------------------------------------------------------- old cards
async def retire_cards(
    session: AsyncSession,
    messenger: Messenger | None,
    case: Case,
    event: CaseEvent,
    *,
    now: datetime,
    settings: Settings,
    skip: tuple[int, int] | None = None,
) -> int:
    """The case changed: every card of it already sent through the outbox (alerts, updates) is edited to the
    case as it is now, with only the buttons that now make sense, so no chat shows two states of one case.
    ``skip``: (chat id, message id) of the card the change was pressed on (its handler edits it). The edits are
    outbox rows too (sent after the commit, rebuilt just before sending); returns how many were queued."""
    await session.flush()
    rows = list(await session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.kind == CASE_ALERT, OutboxMessage.status == "sent", OutboxMessage.message_id.is_not(None),
            OutboxMessage.payload["case_id"].as_integer() == case.id,
        ).order_by(OutboxMessage.id)
    ))
    seen: set[tuple[int, int]] = set()
    queued = 0
    for row in rows:
        assert row.message_id is not None
        where = (row.chat_id, row.message_id)
        if where == skip or where in seen or row.account_id is None:
            continue
        seen.add(where)
        account = await session.get(TelegramAccount, row.account_id)
        if account is None:
            continue
        await enqueue(
            session, account=account, kind=CASE_CARD_EDIT, text="", priority=Priority.CASE,
            dedupe_key=f"cardedit:{row.id}:e{event.id}",
            payload={"case_id": case.id, "edit_message_id": row.message_id},
        )
        queued += 1
    return queued


@refresher(CASE_CARD_EDIT)
async def _refresh_edit(
    session: AsyncSession, row: OutboxMessage, account: TelegramAccount, *, now: datetime, settings: Settings,
    messenger: Messenger,
) -> Refreshed | None:
    """The old card becomes the case as it is now (done cases too: their remaining buttons, e.g. History)."""
    payload = row.payload or {}
    case = await session.get(Case, payload.get("case_id"))
    if case is None:
        return None
    header = _("🔄 Updated: this is the case as it is now.")
    text, keyboard, _ctx = await render_card(session, case, Actor.of(account), now=now, settings=settings,
                                             locale=messenger.locale_of(account), header=header)
    return Refreshed(text, _markup_json(keyboard))


async def pending_count(session: AsyncSession) -> int:
    return await outbox_pending(session, CASE_ALERT) + await outbox_pending(session, CASE_NOTICE)
