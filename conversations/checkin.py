"""The check-in: is the business still running, and if not, why?

Opened from the main menu (📋), a reminder's button, or /lapor. Nothing is written until the summary is
confirmed; the answers wait in the conversation state (photos as Telegram file ids), so /batal or a restart
never leaves half a report. A "running" check-in with one photo takes seven taps: menu, status, days, sales,
photo, continue, send.

```mermaid
stateDiagram-v2
    [*] --> status: 📋 / reminder button / lapor
    status --> new_business: changed to another business
    new_business --> days
    status --> days: running
    status --> reason: paused / stopped
    days --> sales
    sales --> photos
    photos --> photos: photo or album (up to 3)
    photos --> confirm: location shared / continue
    reason --> note
    note --> confirm: voice note / text / skip
    confirm --> [*]: send (thank-you, next due date)
    confirm --> obstacle: send and report a problem
    confirm --> status: start again
```
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import Awaitable
from typing import Any

from aiogram import Bot, F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.answers import typed_yes
from bot.config import Settings
from bot.context import AppContext
from bot.filters import ButtonText, RoleFilter
from bot.i18n import N_
from bot.messenger import Messenger
from bot.routing import Router
from bot.speaking import together
from conversations.questions import asks
from db.enums import BusinessStatus, OnboardingState, Role
from db.models import TelegramAccount
from handlers.keyboards import recipient_main_menu
from services.answers import typed_number
from services.checkins import (
    PAUSE_REASONS,
    REASON_LABELS,
    SALES_BRACKETS,
    SALES_LABELS,
    CheckinAnswers,
    submit_checkin,
)
from services.dates import long_date
from services.i18n_labels import business_status_label, business_type_label
from services.photos import PhotoRef, PhotoTooLarge, best_photo_size, image_document, process_photos

log = logging.getLogger(__name__)
router = Router(name="checkin")
router.message.filter(RoleFilter(Role.RECIPIENT))
router.callback_query.filter(RoleFilter(Role.RECIPIENT))

CONTINUE = N_("➡️ Continue without location")
SEND_LOCATION = N_("📍 Send my location")



class Checkin(StatesGroup):
    status = State()
    new_business = State()
    days = State()
    sales = State()
    photos = State()
    reason = State()
    note = State()
    confirm = State()


# Every message step belongs to the flow: anyone else's message skips its handlers with one check.
router.message.filter(StateFilter(Checkin))


class CiCb(CallbackData, prefix="ci"):
    step: str
    value: str = ""


def _kb(rows: list[list[tuple[str, CiCb]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=cb.pack()) for t, cb in row] for row in rows]
    )


def _active(account: TelegramAccount | None) -> bool:
    return bool(account and account.recipient and account.recipient.onboarding_state == OnboardingState.ACTIVE)


async def _ask_status(message: Message, state: FSMContext, kept: dict[str, Any] | None = None) -> None:
    await state.set_state(Checkin.status)
    data: dict[str, Any] = {"photos": []}
    if kept:  # sent at the main menu and chosen for this report (conversations/kept.py)
        data["photos"] = list(kept.get("photos") or [])
        if kept.get("text"):
            data["note"] = str(kept["text"])[:1000]
        if kept.get("voice"):
            data["voice_file_id"] = kept["voice"]
    await state.set_data(data)
    await _status_question(message, state, {})


@asks(Checkin.status)
async def _status_question(message: Message, state: FSMContext, _data: dict[str, Any]) -> None:
    s = CiCb
    await message.answer(
        _("📋 How is your business now?"),
        reply_markup=_kb([
            [(_("✅ Running"), s(step="st", value=BusinessStatus.RUNNING))],
            [(_("⏸ Paused for now"), s(step="st", value=BusinessStatus.PAUSED))],
            [(_("⛔ Stopped for good"), s(step="st", value=BusinessStatus.STOPPED))],
            [(_("🔄 Changed to another business"), s(step="st", value=BusinessStatus.CHANGED))],
        ]),
    )


async def begin_checkin(
    message: Message, state: FSMContext, account: TelegramAccount | None, kept: dict[str, Any] | None = None
) -> None:
    """Start a check-in (the entry points are in ``handlers/recipient.py``): any earlier unfinished one is dropped.

    ``kept``: what the person sent at the main menu (a photo, words, a voice note) and chose to use for this
    report; a 📋 press while such a message waits takes it too."""
    from conversations.kept import kept_items

    if not _active(account):
        await message.answer(_("Please finish joining the program first: send /start."))
        return
    if kept is None:
        kept = await kept_items(state)
    await _ask_status(message, state, kept)


async def _edit_done(query: CallbackQuery, text: str, *then: Awaitable[Any]) -> None:
    """Show the chosen answer in place of the buttons, so old buttons cannot be pressed again; ``then``: the next
    question. All at once (``bot.speaking.together``): one round trip to Telegram, not three, so write the
    conversation state first."""
    edit = [query.message.edit_text(text)] if isinstance(query.message, Message) else []
    await together(query.answer(), *edit, *then)


def _days_question(message: Message) -> Awaitable[Message]:
    row1 = [(str(n), CiCb(step="days", value=str(n))) for n in range(0, 4)]
    row2 = [(str(n), CiCb(step="days", value=str(n))) for n in range(4, 8)]
    return message.answer(_("How many days was it open in the last 7 days?"), reply_markup=_kb([row1, row2]))


async def _ask_days(message: Message, state: FSMContext, _data: dict[str, Any] | None = None) -> None:
    await state.set_state(Checkin.days)
    await _days_question(message)


@router.callback_query(Checkin.status, CiCb.filter(F.step == "st"))
async def chose_status(query: CallbackQuery, callback_data: CiCb, state: FSMContext, settings: Settings) -> None:
    try:
        status = BusinessStatus(callback_data.value)
    except ValueError:
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    await state.update_data(status=status.value)
    done = _("Business: {status}").format(status=business_status_label(status))
    message = query.message
    assert isinstance(message, Message)
    if status == BusinessStatus.RUNNING:  # the common answer: the next question goes with the edit
        await state.set_state(Checkin.days)
        await _edit_done(query, done, _days_question(message))
        return
    await _edit_done(query, done)
    if status == BusinessStatus.CHANGED:
        await state.set_state(Checkin.new_business)
        locale = "en" if (await state.get_data()).get("locale") == "en" else None
        rows = [[(business_type_label(code, settings, locale or _locale()), CiCb(step="nb", value=code))]
                for code in settings.program.business_types]
        rows.append([(_("Another kind of business"), CiCb(step="nb", value="other"))])
        await message.answer(_("What is your business now?"), reply_markup=_kb(rows))
    else:
        await state.set_state(Checkin.reason)
        await _reason_question(message, state, {})


@asks(Checkin.reason)
async def _reason_question(message: Message, state: FSMContext, _data: dict[str, Any]) -> None:
    rows = [[(_(REASON_LABELS[r]), CiCb(step="rs", value=r))] for r in PAUSE_REASONS]
    await message.answer(_("What is the main reason?"), reply_markup=_kb(rows))


@asks(Checkin.new_business)
async def _new_business_question(message: Message, state: FSMContext, data: dict[str, Any]) -> None:
    settings: Settings = data["settings"]
    rows = [[(business_type_label(code, settings, _locale()), CiCb(step="nb", value=code))]
            for code in settings.program.business_types]
    rows.append([(_("Another kind of business"), CiCb(step="nb", value="other"))])
    await message.answer(_("What is your business now?"), reply_markup=_kb(rows))


def _locale() -> str:
    from aiogram.utils.i18n import get_i18n

    return get_i18n().current_locale


@router.callback_query(Checkin.new_business, CiCb.filter(F.step == "nb"))
async def chose_new_business(query: CallbackQuery, callback_data: CiCb, state: FSMContext, settings: Settings) -> None:
    if callback_data.value != "other" and callback_data.value not in settings.program.business_types:
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    await state.update_data(new_business=callback_data.value)
    label = (_("Another kind of business") if callback_data.value == "other"
             else business_type_label(callback_data.value, settings, _locale()))
    await _edit_done(query, _("New business: {label}").format(label=label))
    assert isinstance(query.message, Message)
    await _ask_days(query.message, state)


@router.callback_query(Checkin.days, CiCb.filter(F.step == "days"))
async def chose_days(query: CallbackQuery, callback_data: CiCb, state: FSMContext) -> None:
    if not callback_data.value.isdigit() or not 0 <= int(callback_data.value) <= 7:
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    await state.update_data(days_open=int(callback_data.value))
    await state.set_state(Checkin.sales)
    assert isinstance(query.message, Message)
    await _edit_done(query, _("Days open in the last week: {n}").format(n=callback_data.value),
                     _sales_message(query.message))


async def _days_chosen(message: Message, state: FSMContext, days: int) -> None:
    await state.update_data(days_open=days)
    await state.set_state(Checkin.sales)
    await _sales_question(message, state, {})


def _sales_message(message: Message) -> Awaitable[Message]:
    rows = [[(_(SALES_LABELS[b]), CiCb(step="sales", value=b))] for b in SALES_BRACKETS]
    return message.answer(_("About how much did you sell in the last week?"), reply_markup=_kb(rows))


@asks(Checkin.sales)
async def _sales_question(message: Message, state: FSMContext, _data: dict[str, Any]) -> None:
    await _sales_message(message)


@router.message(Checkin.days, F.text)
async def typed_days(message: Message, state: FSMContext, settings: Settings) -> None:
    """ "6" or "6 hari" typed where the buttons offer 0–7 counts like the button."""
    days = typed_number(message.text, 0, 7)
    if days is None:
        await message.answer(_("Please press a number from 0 to 7, or type it."))
        await _ask_days(message, state)
        return
    await message.answer(_("Days open in the last week: {n}").format(n=days))
    await _days_chosen(message, state, days)


def _photo_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_(SEND_LOCATION), request_location=True)], [KeyboardButton(text=_(CONTINUE))]],
        resize_keyboard=True, one_time_keyboard=False,
    )


@router.callback_query(Checkin.sales, CiCb.filter(F.step == "sales"))
async def chose_sales(query: CallbackQuery, callback_data: CiCb, state: FSMContext, settings: Settings) -> None:
    if callback_data.value not in SALES_BRACKETS:
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    await state.update_data(sales_bracket=callback_data.value)
    await state.set_state(Checkin.photos)
    assert isinstance(query.message, Message)
    photos = (await state.get_data()).get("photos") or []
    await _edit_done(query, _("Sales last week: {label}").format(label=_(SALES_LABELS[callback_data.value])),
                     _photos_message(query.message, photos, settings))


@asks(Checkin.photos)
async def _photos_question(message: Message, state: FSMContext, data: dict[str, Any]) -> None:
    await _ask_photos(message, state, data["settings"])


async def _ask_photos(message: Message, state: FSMContext, settings: Settings) -> None:
    await _photos_message(message, (await state.get_data()).get("photos") or [], settings)


def _photos_message(message: Message, photos: list[Any], settings: Settings) -> Awaitable[Message]:
    if photos:  # kept from the main menu: already there, so the step only offers more, location or continue
        return message.answer(
            _("📷 I have {n} photo(s) for this report. You can send more, then share your location (optional) "
              "or continue.").format(n=len(photos)),
            reply_markup=_photo_keyboard(),
        )
    return message.answer(
        _("📷 Send 1 to {max} photos of your business at work (for example your stall with goods, or a customer).")
        .format(max=settings.checkin.max_photos)
    )


async def _add_photo(message: Message, state: FSMContext, ref: PhotoRef, settings: Settings) -> None:
    data = await state.get_data()
    photos: list[dict[str, Any]] = data.get("photos", [])
    if any(p["file_unique_id"] == ref.file_unique_id for p in photos):
        return
    if len(photos) >= settings.checkin.max_photos:
        await message.answer(_("That is enough photos, thank you. Share your location or continue."),
                             reply_markup=_photo_keyboard())
        return
    photos.append(ref.as_dict())
    same_album = message.media_group_id is not None and data.get("album") == message.media_group_id
    await state.update_data(photos=photos, album=message.media_group_id)
    if same_album:
        return  # one answer per album, not one per picture
    await message.answer(
        _("👍 Photo received. You can send more, then share your location (optional) or continue."),
        reply_markup=_photo_keyboard(),
    )


@router.message(Checkin.photos, F.photo)
async def got_photo(message: Message, state: FSMContext, settings: Settings) -> None:
    try:
        ref = best_photo_size(message.photo or [], settings.storage.max_download_bytes)
    except PhotoTooLarge:
        await message.answer(_("This photo is too large for me to receive. Please send a smaller photo."))
        return
    await _add_photo(message, state, ref, settings)


@router.message(Checkin.photos, F.document)
async def got_document(message: Message, state: FSMContext, settings: Settings) -> None:
    try:
        ref = image_document(message.document, settings.storage.max_download_bytes)  # type: ignore[arg-type]
    except PhotoTooLarge:
        await message.answer(_("This photo is too large for me to receive. Please send a smaller photo."))
        return
    if ref is None:
        await message.answer(_("I can only use photos here. Please send a photo of your business."))
        return
    await _add_photo(message, state, ref, settings)


async def _need_a_photo(message: Message, state: FSMContext) -> bool:
    if not (await state.get_data()).get("photos"):
        await message.answer(_("Please send at least one photo of your business first."))
        return True
    return False


@router.message(Checkin.photos, F.location)
async def got_location(message: Message, state: FSMContext, settings: Settings) -> None:
    if await _need_a_photo(message, state):
        return
    assert message.location is not None
    await state.update_data(latitude=message.location.latitude, longitude=message.location.longitude)
    await _show_summary(message, state, settings)


@router.message(Checkin.photos, ButtonText(CONTINUE))
async def photos_done(message: Message, state: FSMContext, settings: Settings) -> None:
    if await _need_a_photo(message, state):
        return
    await _show_summary(message, state, settings)


@router.message(Checkin.photos)
async def photos_unexpected(message: Message) -> None:
    await message.answer(_("Please send a photo of your business, or press a button below."),
                         reply_markup=_photo_keyboard())


@router.callback_query(Checkin.reason, CiCb.filter(F.step == "rs"))
async def chose_reason(query: CallbackQuery, callback_data: CiCb, state: FSMContext, settings: Settings) -> None:
    if callback_data.value not in PAUSE_REASONS:
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    await state.update_data(reason=callback_data.value)
    await _edit_done(query, _("Reason: {label}").format(label=_(REASON_LABELS[callback_data.value])))
    assert isinstance(query.message, Message)
    data = await state.get_data()
    if data.get("note") or data.get("voice_file_id"):  # told at the main menu already (conversations/kept.py)
        await _show_summary(query.message, state, settings)
        return
    await state.set_state(Checkin.note)
    await _note_question(query.message, state, {})


@asks(Checkin.note)
async def _note_question(message: Message, state: FSMContext, _data: dict[str, Any]) -> None:
    await message.answer(
        _("🎤 Tell us a little more with a voice note or a short text. Or press Skip."),
        reply_markup=_kb([[(_("Skip"), CiCb(step="note", value="skip"))]]),
    )


@router.message(Checkin.note, F.voice)
async def got_voice(message: Message, state: FSMContext, settings: Settings) -> None:
    assert message.voice is not None
    await state.update_data(voice_file_id=message.voice.file_id)
    await _show_summary(message, state, settings)


@router.message(Checkin.note, F.text, ~F.text.startswith("/"))
async def got_note(message: Message, state: FSMContext, settings: Settings) -> None:
    await state.update_data(note=(message.text or "")[:1000])
    await _show_summary(message, state, settings)


@router.callback_query(Checkin.note, CiCb.filter(F.step == "note"))
async def skip_note(query: CallbackQuery, state: FSMContext, settings: Settings) -> None:
    await _edit_done(query, _("No extra note."))
    assert isinstance(query.message, Message)
    await _show_summary(query.message, state, settings)


def _summary(data: dict[str, Any], settings: Settings) -> str:
    status = BusinessStatus(data["status"])
    lines = [_("Please check your report:"), _("Business: {status}").format(status=business_status_label(status))]
    if data.get("new_business"):
        nb = data["new_business"]
        label = _("Another kind of business") if nb == "other" else business_type_label(nb, settings, _locale())
        lines.append(_("New business: {label}").format(label=label))
    if data.get("days_open") is not None:
        lines.append(_("Days open in the last week: {n}").format(n=data["days_open"]))
    if data.get("sales_bracket"):
        lines.append(_("Sales last week: {label}").format(label=_(SALES_LABELS[data["sales_bracket"]])))
    if data.get("photos"):
        lines.append(_("Photos: {n}").format(n=len(data["photos"])))
    if data.get("latitude") is not None:
        lines.append(_("Location: shared"))
    if data.get("reason"):
        lines.append(_("Reason: {label}").format(label=_(REASON_LABELS[data["reason"]])))
    if data.get("voice_file_id"):
        lines.append(_("Voice note: yes"))
    if data.get("note"):
        lines.append(_("Note: {note}").format(note=html.escape(data["note"][:200])))
    return "\n".join(lines)


@asks(Checkin.confirm)
async def _confirm_question(message: Message, state: FSMContext, data: dict[str, Any]) -> None:
    await _show_summary(message, state, data["settings"])


async def _show_summary(message: Message, state: FSMContext, settings: Settings) -> None:
    await state.set_state(Checkin.confirm)
    data = await state.get_data()
    # The reply keyboard of the photo step is replaced by the main menu again.
    await message.answer(_summary(data, settings), reply_markup=recipient_main_menu())
    question = await message.answer(
        _("Send this report? If something is getting in the way of your business, choose 🆘 and we will help."),
        reply_markup=_kb([
            [(_("✅ Send"), CiCb(step="ok", value="send"))],
            [(_("🆘 Send and report a problem"), CiCb(step="ok", value="problem"))],
            [(_("🔁 Start again"), CiCb(step="ok", value="again"))],
        ]),
    )
    # A typed "iya" answers this question too: its buttons are then taken away (typed_send).
    await state.update_data(confirm_message_id=question.message_id)


@router.callback_query(Checkin.confirm, CiCb.filter(F.step == "ok"))
async def confirm(
    query: CallbackQuery, callback_data: CiCb, state: FSMContext, session: AsyncSession, settings: Settings,
    account: TelegramAccount | None, messenger: Messenger, ctx: AppContext, bot: Bot, **handler_data: Any,
) -> None:
    message = query.message
    if not isinstance(message, Message) or not _active(account):
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    if callback_data.value == "again":
        await _edit_done(query, _("Starting again."))
        await _ask_status(message, state)
        return
    await _send_report(message, callback_data.value, state, session, settings, account, messenger, ctx, bot,
                       query=query, **handler_data)


@router.message(Checkin.confirm, F.text, typed_yes)
async def typed_send(
    message: Message, state: FSMContext, session: AsyncSession, settings: Settings,
    account: TelegramAccount | None, messenger: Messenger, ctx: AppContext, bot: Bot, **handler_data: Any,
) -> None:
    """ "iya", "ya", "oke", "siap" at "Send this report?" mean ✅ Send."""
    if not _active(account):
        await message.answer(_("Please finish joining the program first: send /start."))
        return
    await _send_report(message, "send", state, session, settings, account, messenger, ctx, bot, query=None,
                       **handler_data)


async def _send_report(
    message: Message, value: str, state: FSMContext, session: AsyncSession, settings: Settings,
    account: TelegramAccount | None, messenger: Messenger, ctx: AppContext, bot: Bot, *,
    query: CallbackQuery | None, **handler_data: Any,
) -> None:
    data = await state.get_data()
    answers = CheckinAnswers(
        status=BusinessStatus(data["status"]), days_open=data.get("days_open"), sales_bracket=data.get("sales_bracket"),
        reason=data.get("reason"), note=data.get("note"), voice_file_id=data.get("voice_file_id"),
        new_business=data.get("new_business"), latitude=data.get("latitude"), longitude=data.get("longitude"),
        photos=[PhotoRef.from_dict(p) for p in data.get("photos", [])],
    )
    assert account is not None and account.recipient is not None
    now = ctx.clock.now()
    result = await submit_checkin(session, account.recipient, answers, settings=settings, now=now)
    await state.clear()
    told = None
    if result.stopped_case is not None:
        from services.cases.alerts import alert_new_case

        told = await alert_new_case(messenger, session, result.stopped_case, settings=settings)
    # Commit, then speak: the check-in, the cleared state and any alert are committed together by the first
    # request below, so a second press of "Kirim" finds the conversation done and stores nothing twice.
    thanks = _("Thank you! Your report is saved.")
    if result.checkin.is_extra:
        thanks += " " + _("You had already reported for this period, so this one is kept as an extra report.")
    if result.next_due is not None:
        day = long_date(result.next_due.due_at.astimezone(settings.program.tz).date())
        thanks += "\n" + _("Your next report is due on {day}.").format(day=day)
    if told is not None and told.tksk is not None:
        thanks += "\n" + _("We are sorry your business stopped. Your TKSK has been told and will contact you.")
    elif told is not None:
        thanks += "\n" + _("We are sorry your business stopped. Dinas Sosial has been told and will contact you.")
    reply = message.answer(thanks, reply_markup=recipient_main_menu())
    if query is not None:  # the press's answer, its message's edit and the thanks at once
        await _edit_done(query, _("✅ Report sent."), reply)
    elif data.get("confirm_message_id"):
        await together(_edit_quietly(bot, message.chat.id, int(data["confirm_message_id"]), _("✅ Report sent.")),
                       reply)
    else:
        await reply
    if result.photo_ids:
        _download_soon(bot, ctx, result.photo_ids)  # the rows were committed before the replies above
    if value == "problem":
        from conversations.obstacle import begin_obstacle_report

        await begin_obstacle_report(message, state, source_checkin_id=result.checkin.id, account=account,
                                    session=session, settings=settings, **handler_data)


async def _edit_quietly(bot: Bot, chat_id: int, message_id: int, text: str) -> None:
    """The question's buttons taken away (a typed answer); it may be gone or already edited."""
    with contextlib.suppress(TelegramBadRequest):
        await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)


_background: set[asyncio.Task[Any]] = set()
# A few downloads at a time, and none queued beyond a backlog: in a burst (everyone reporting after a
# broadcast) the photo scan task stores the rest, instead of downloads crowding out people's updates.
_DOWNLOADS: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}  # one per event loop (tests run several)
_MAX_BACKLOG = 32


def _download_soon(bot: Bot, ctx: AppContext, photo_ids: list[int]) -> None:
    """Store the photos right away in the background; the scan task retries whatever fails or waits."""
    if len(_background) >= _MAX_BACKLOG:
        return

    async def run() -> None:
        try:
            async with _DOWNLOADS.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(4)):
                await process_photos(bot, ctx.session_factory, settings=ctx.settings, now=ctx.clock.now(),
                                     limit=len(photo_ids), photo_ids=photo_ids)
        except Exception:  # the retry scan takes over
            log.warning("immediate photo download failed; the scan will retry", exc_info=True)

    task = asyncio.create_task(run())
    _background.add(task)
    task.add_done_callback(_background.discard)


@router.callback_query(CiCb.filter())
async def stale(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
