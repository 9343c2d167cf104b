"""A recipient reports an obstacle ("Ada kendala"): it becomes a case their TKSK is alerted to at once.

```mermaid
stateDiagram-v2
    [*] --> kind: 🆘 menu button, /kendala, from a check-in, or a kept message (begin_obstacle_report)
    kind --> kind: voice note, video note, words or photo before the kind (kept as the description)
    kind --> description: kind button (8 kinds), nothing told yet
    kind --> details: kind button, the description already there
    description --> description: photo without words (kept; still asks for voice or text)
    description --> details: voice note, video note, or text (or a photo with a caption)
    details --> details: photos (up to cases.max_photos), more words, one voice note and one video note
    details --> [*]: urgency button (a disaster is always urgent: just "Send") → case opened or added to
    kind --> [*]: /batal
    description --> [*]: /batal
    details --> [*]: /batal
```

What is kept between steps (FSM data, JSON): the kind, the words, the voice note's and video note's file_ids,
the photos' file_ids and the check-in it came from. Nothing is written to the case tables before the last tap, so a
cancelled or abandoned report leaves nothing half-written. A second report of a kind that already has an open
case is added to that case (``open_case``'s duplicate rule) and the recipient is told so.

Taps to report by voice: 🆘 (1), kind (2), record and send the voice note (3), urgency (4) = 4. Straight from
the main menu (``conversations/kept.py``): the voice note, "report it as a problem", kind, urgency = 3 after
the voice note.
"""

from __future__ import annotations

import html
from typing import Any

from aiogram import F
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import ButtonText, RoleFilter
from bot.layout import pairs_when_short
from bot.messenger import Messenger
from bot.routing import Router
from conversations.questions import asks
from db.enums import CaseKind, OnboardingState, Role, Urgency
from db.models import TelegramAccount
from handlers.keyboards import MENU_HELP, MENU_REPORT, recipient_menu
from services.cases.alerts import alert_added_report, alert_new_case
from services.cases.opening import open_case
from services.cases.photos import PhotoRef, attach_photos
from services.cases.transitions import Actor
from services.cases.views import KIND_ICONS, REPORTABLE_KINDS, URGENCY_ICONS
from services.clock import Clock
from services.dates import relative_moment
from services.i18n_labels import case_kind_label

router = Router(name="obstacle")
router.message.filter(RoleFilter(Role.RECIPIENT))
router.callback_query.filter(RoleFilter(Role.RECIPIENT))

# Recipients who may report: joined, aid handed over or on its way.
REPORTING_STATES = (OnboardingState.ACTIVE, OnboardingState.AID_WAITING)
MAX_TEXT = 2000


class ObstacleReport(StatesGroup):
    kind = State()
    description = State()
    details = State()


# Every message step belongs to the report: anyone else's message skips its handlers with one check.
router.message.filter(StateFilter(ObstacleReport))


class ObCb(CallbackData, prefix="ob"):
    """``ob:<step>:<value>``; only valid in the matching state (an old keyboard just explains)."""

    step: str
    value: str


def kind_keyboard(aid_first: bool = False) -> InlineKeyboardMarkup:
    """The kinds, two per row only when both labels are short. ``aid_first``: the aid has not been handed
    over yet, so "aid not arrived or not as promised" is the likely one and comes first."""
    kinds = list(REPORTABLE_KINDS)
    if aid_first:
        kinds.remove(CaseKind.AID_PROBLEM)
        kinds.insert(0, CaseKind.AID_PROBLEM)
    buttons = [
        InlineKeyboardButton(text=f"{KIND_ICONS[k]} {case_kind_label(k.value)}",
                             callback_data=ObCb(step="kind", value=k.value).pack())
        for k in kinds
    ]
    return InlineKeyboardMarkup(inline_keyboard=pairs_when_short(buttons))


def urgency_keyboard(kind: str, settings: Settings) -> InlineKeyboardMarkup:
    if settings.cases.kind_urgency.get(kind) == Urgency.HIGH.value:
        return InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text=_("📨 Send the report"), callback_data=ObCb(step="urg", value="high").pack())
        ]])
    options = [
        (Urgency.HIGH, _("Very urgent: my business is stuck")),
        (Urgency.NORMAL, _("Urgent, but I can still work")),
        (Urgency.LOW, _("It can wait a few days")),
    ]
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=f"{URGENCY_ICONS[u]} {text}", callback_data=ObCb(step="urg", value=u.value).pack())]
        for u, text in options
    ])


def _details_prompt(data: dict[str, Any], settings: Settings) -> str:
    if settings.cases.kind_urgency.get(data.get("kind", "")) == Urgency.HIGH.value:
        return _("If you can, send photos of the problem now. Then press \"Send the report\".")
    return _("If you can, send photos of the problem now. Then choose how urgent it is:")


def _can_report(account: TelegramAccount | None) -> bool:
    return bool(account and account.recipient and account.recipient.onboarding_state in REPORTING_STATES)


async def begin_obstacle_report(
    message: Message, state: FSMContext, *, source_checkin_id: int | None = None,
    kept: dict[str, Any] | None = None, **data: Any,
) -> None:
    """Start a problem report: sets the first state and asks the first question.

    Called from the 🆘 button, /kendala, the check-in flow (``source_checkin_id``: the check-in it came from)
    and the kept-message question (``kept``: what the person already sent at the menu, which then is the
    description; a 🆘 press while such a message waits takes it too). ``data`` is what the caller's handler
    received (``account``, ``session``, ``settings`` …).
    """
    from conversations.kept import kept_items

    account: TelegramAccount | None = data.get("account")
    if not _can_report(account):
        await state.clear()
        await message.answer(_("Please finish joining the program first: send /start."))
        return
    if kept is None:
        kept = await kept_items(state)
    kept = kept or {}
    # An image sent as a file goes into a check-in (it is downloaded and stored), but Telegram cannot pass it on
    # to the TKSK as a photo, which the case alert does: the report takes the photos.
    kept_photos = [p for p in kept.get("photos") or [] if not p.get("as_file")]
    await state.set_state(ObstacleReport.kind)
    await state.set_data({
        "source_checkin_id": source_checkin_id, "photos": kept_photos[:_max_photos(data)],
        "voice": kept.get("voice"), "video_note": kept.get("video_note"), "text": kept.get("text") or "",
        "aid_waiting": bool(account and account.recipient
                            and account.recipient.onboarding_state == OnboardingState.AID_WAITING),
    })
    await ask_kind(message, state)


def _max_photos(data: dict[str, Any]) -> int:
    settings = data.get("settings")
    return settings.cases.max_photos if isinstance(settings, Settings) else 5


def _has_description(data: dict[str, Any]) -> bool:
    # A video note (round video) describes the problem like a voice note: the case keeps it and the TKSK gets it.
    return bool(data.get("text") or data.get("voice") or data.get("video_note") or data.get("photos"))


@asks(ObstacleReport.kind)
async def _kind_question(message: Message, state: FSMContext, _data: dict[str, Any]) -> None:
    await ask_kind(message, state)


@asks(ObstacleReport.description)
async def _description_question(message: Message, state: FSMContext, _data: dict[str, Any]) -> None:
    await message.answer(_("Tell us what happened: 🎤 hold the microphone button and speak, or write a few words."))


@asks(ObstacleReport.details)
async def _details_question(message: Message, state: FSMContext, handler_data: dict[str, Any]) -> None:
    settings: Settings = handler_data["settings"]
    data = await state.get_data()
    await message.answer(_details_prompt(data, settings), reply_markup=urgency_keyboard(data["kind"], settings))


async def ask_kind(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    if _has_description(data):
        question = _("🆘 I have it. What kind of problem is it? Choose one:")
    else:
        question = _("🆘 What is the problem? Choose one:")
    await message.answer(question + "\n" + _("(Send /batal to stop.)"),
                         reply_markup=kind_keyboard(bool(data.get("aid_waiting"))))


@router.callback_query(ObstacleReport.kind, ObCb.filter(F.step == "kind"))
async def chose_kind(query: CallbackQuery, callback_data: ObCb, state: FSMContext, settings: Settings) -> None:
    if callback_data.value not in {k.value for k in REPORTABLE_KINDS}:
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    await state.update_data(kind=callback_data.value)
    data = await state.get_data()
    # What the person already told (kept from the menu, or sent before choosing the kind) is the description:
    # only the urgency is still missing.
    described = _has_description(data)
    await state.set_state(ObstacleReport.details if described else ObstacleReport.description)
    await query.answer()
    if isinstance(query.message, Message):
        kind = CaseKind(callback_data.value)
        await query.message.edit_text(
            _("🆘 Problem: {kind}").format(kind=f"{KIND_ICONS[kind]} {html.escape(case_kind_label(kind.value))}")
        )
        if described:
            await query.message.answer(_details_prompt(data, settings),
                                       reply_markup=urgency_keyboard(data["kind"], settings))
        else:
            await query.message.answer(
                _("Tell us what happened: 🎤 hold the microphone button and speak, or write a few words.")
            )


def _photo_ref(message: Message) -> dict[str, Any]:
    best = message.photo[-1]  # type: ignore[index]
    return PhotoRef(best.file_id, best.file_unique_id, best.file_size, best.width, best.height).as_dict()


async def _add_photo(message: Message, state: FSMContext, settings: Settings) -> tuple[bool, bool]:
    """Keep the photo; (kept, first of its album). Past the limit the photo is politely refused."""
    data = await state.get_data()
    photos = list(data.get("photos") or [])
    group = message.media_group_id
    first_of_group = group is None or group != data.get("last_group")
    if len(photos) >= settings.cases.max_photos:
        await state.update_data(last_group=group)
        return False, first_of_group
    photos.append(_photo_ref(message))
    await state.update_data(photos=photos, last_group=group)
    return True, first_of_group


@router.message(StateFilter(ObstacleReport), ButtonText(MENU_REPORT, MENU_HELP))
async def menu_inside_report(message: Message) -> None:
    await message.answer(_("You are in the middle of a problem report. Finish it, or send /batal to stop."))


@router.message(ObstacleReport.kind, F.voice | F.video_note | F.photo | (F.text & ~F.text.startswith("/")))
async def described_before_kind(message: Message, state: FSMContext, settings: Settings) -> None:
    """A voice note, a video note, words or a photo before the kind is chosen are the description, not a wrong
    answer."""
    data = await state.get_data()
    if message.photo:
        _kept, first = await _add_photo(message, state, settings)
        if message.caption:
            words = str(data.get("text") or "") + "\n" + message.caption.strip()
            await state.update_data(text=words.strip()[:MAX_TEXT])
        if not first:
            return  # one answer per album
    elif message.voice:
        if not data.get("voice"):
            await state.update_data(voice=message.voice.file_id)
    elif message.video_note:
        if not data.get("video_note"):
            await state.update_data(video_note=message.video_note.file_id)
    else:
        text = (message.text or "").strip()
        if len(text) < 3:
            await kind_expected(message, state)
            return
        await state.update_data(text=(str(data.get("text") or "") + "\n" + text).strip()[:MAX_TEXT])
    await ask_kind(message, state)


@router.message(ObstacleReport.description, F.voice | F.video_note | F.text | F.photo)
async def got_description(message: Message, state: FSMContext, settings: Settings) -> None:
    if message.text and message.text.startswith("/"):
        await message.answer(_("Please tell us the problem with a voice note or a few words, or send /batal."))
        return
    if message.photo:
        kept, first = await _add_photo(message, state, settings)
        if message.caption:
            await state.update_data(text=message.caption.strip()[:MAX_TEXT])
        elif first:
            await message.answer(_("📷 Photo received. Now tell us what happened: a voice note 🎤 or a few words."))
            return
        else:
            return
    elif message.voice:
        await state.update_data(voice=message.voice.file_id)
    elif message.video_note:
        await state.update_data(video_note=message.video_note.file_id)
    else:
        text = (message.text or "").strip()
        if len(text) < 3:
            await message.answer(_("Please tell us a little more: a voice note 🎤 or a few words."))
            return
        await state.update_data(text=text[:MAX_TEXT])
    await state.set_state(ObstacleReport.details)
    data = await state.get_data()
    await message.answer(_("Thank you.") + " " + _details_prompt(data, settings),
                         reply_markup=urgency_keyboard(data["kind"], settings))


@router.message(ObstacleReport.details, F.photo)
async def got_photo(message: Message, state: FSMContext, settings: Settings) -> None:
    kept, first = await _add_photo(message, state, settings)
    if message.caption:
        data = await state.get_data()
        await state.update_data(text=(str(data.get("text") or "") + "\n" + message.caption.strip())[:MAX_TEXT])
    if not first:
        return  # one answer per album
    data = await state.get_data()
    if kept:
        text = _("📷 Photo received ({count} of {max}).").format(
            count=len(data.get("photos") or []), max=settings.cases.max_photos)
    else:
        text = _("That is enough photos ({max}).").format(max=settings.cases.max_photos)
    await message.answer(text + " " + _details_prompt(data, settings),
                         reply_markup=urgency_keyboard(data["kind"], settings))


@router.message(ObstacleReport.details, F.voice | F.video_note | F.text)
async def got_more_words(message: Message, state: FSMContext, settings: Settings) -> None:
    data = await state.get_data()
    if message.text and message.text.startswith("/"):
        await message.answer(_details_prompt(data, settings), reply_markup=urgency_keyboard(data["kind"], settings))
        return
    if message.video_note:
        if data.get("video_note"):
            reply = _("I already have a video message for this report. You can add words in writing.")
        else:
            await state.update_data(video_note=message.video_note.file_id)
            reply = _("🎥 Video message received.")
    elif message.voice:
        if data.get("voice"):
            reply = _("I already have a voice note for this report. You can add words in writing.")
        else:
            await state.update_data(voice=message.voice.file_id)
            reply = _("🎤 Voice note received.")
    else:
        text = (str(data.get("text") or "") + "\n" + (message.text or "").strip()).strip()
        await state.update_data(text=text[:MAX_TEXT])
        reply = _("Added to your report.")
    await message.answer(reply + " " + _details_prompt(data, settings),
                         reply_markup=urgency_keyboard(data["kind"], settings))


@router.callback_query(ObstacleReport.details, ObCb.filter(F.step == "urg"))
async def submit(
    query: CallbackQuery,
    callback_data: ObCb,
    state: FSMContext,
    session: AsyncSession,
    account: TelegramAccount,
    settings: Settings,
    clock: Clock,
    messenger: Messenger,
) -> None:
    if callback_data.value not in Urgency._value2member_map_ or not _can_report(account):
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    data = await state.get_data()
    recipient = account.recipient
    assert recipient is not None
    photos = [PhotoRef.from_dict(p) for p in data.get("photos") or []]
    text = (data.get("text") or "").strip() or None
    opened = await open_case(
        session, recipient=recipient, kind=data["kind"], urgency=callback_data.value, description=text,
        voice_file_id=data.get("voice"), video_note_file_id=data.get("video_note"),
        source="checkin" if data.get("source_checkin_id") else "report",
        source_checkin_id=data.get("source_checkin_id"), actor=Actor.of(account).label,
        actor_account_id=account.id, settings=settings, clock=clock,
    )
    case = opened.case
    await attach_photos(session, case, photos, now=clock.now())
    await state.clear()
    # Commit, then speak: the case, its alerts (outbox rows) and the cleared state are written before the
    # first request below commits them; who is named as told is what those rows say.
    if opened.created:
        told = await alert_new_case(messenger, session, case, settings=settings)
        when = relative_moment(case.take_due_at, clock.now(), settings.program.tz) if case.take_due_at else "-"
        if told.tksk is not None:
            nxt = _("Your TKSK {name} has been told and will contact you by {when} at the latest.").format(
                name=html.escape(told.tksk.name), when=when)
        else:
            nxt = _("Dinas Sosial has been told and will contact you by {when} at the latest.").format(when=when)
        reply = _("✅ Your report is saved as case <b>{number}</b>.").format(number=html.escape(case.number))
    else:
        await alert_added_report(
            messenger, session, case, settings=settings, note=text, voice_file_id=data.get("voice"),
            photo_file_ids=[p.file_id for p in photos], video_note_file_id=data.get("video_note"),
        )
        reply = _("✅ You already have an open case about this: <b>{number}</b>. I added this report to it.").format(
            number=html.escape(case.number))
        nxt = _("The people handling it have been told.")
    follow = _("You can follow it with 📂 Status of my reports.")
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
    target = query.message if isinstance(query.message, Message) else None
    if target is not None:
        await target.answer(f"{reply}\n{nxt}\n{follow}", reply_markup=recipient_menu(account))


@router.callback_query(ObCb.filter())
async def stale_obstacle_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)


@router.message(StateFilter(ObstacleReport.kind))
async def kind_expected(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    await message.answer(_("Please choose the kind of problem with the buttons below, or send /batal."),
                         reply_markup=kind_keyboard(bool(data.get("aid_waiting"))))


@router.message(StateFilter(ObstacleReport.description))
async def description_expected(message: Message) -> None:
    await message.answer(_("Please tell us the problem with a voice note 🎤 or a few words, or send /batal."))


@router.message(StateFilter(ObstacleReport.details))
async def details_expected(message: Message, state: FSMContext, settings: Settings) -> None:
    data = await state.get_data()
    await message.answer(_("I cannot use this here.") + " " + _details_prompt(data, settings),
                         reply_markup=urgency_keyboard(data["kind"], settings))
