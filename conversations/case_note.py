"""A TKSK or caseworker gives what a case action needs, and confirms what cannot be undone: why a case is passed
to Dinas Sosial, how it was resolved, why it is closed, or an update on it.

```mermaid
stateDiagram-v2
    [*] --> text: ⏫ Pass to Dinas Sosial / ✅ Resolved / 🔒 Close / 📝 Add a note on a case card
    text --> text: sticker, empty, a voice note for a note that the recipient reads (asks for words)
    text --> confirm: ⏫ a preset reason, a voice note 🎤 or a few words
    text --> confirm: ✅ / 🔒 a few words (the note the recipient will read)
    text --> [*]: 📝 a few words → note saved (re-checked: state, role, kecamatan) → card refreshed
    confirm --> text: ✏️ Change
    confirm --> [*]: ✅ Yes → action applied (re-checked) → reason or note on the case event → card edited
    confirm --> [*]: ↩️ Cancel, /batal (nothing changed)
    text --> [*]: ↩️ Cancel, /batal
```

Passing a case on, resolving and closing it cannot be undone by the person who does it, so each asks once more
with what will be stored (the reason, the note) before anything is written. The reason for passing a case to
Dinas Sosial is kept on the case event (a voice note by its file id) and shown to the caseworkers in their
alert. The action is checked when the button is pressed (so nobody types a note for nothing) and again when it
is applied (the case may have moved on meanwhile: then it is refused with the reason, nothing saved). What is
being written waits in the conversation state (JSON, in the database).
"""

from __future__ import annotations

import contextlib
import html
from typing import Any

from aiogram import Bot, F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.answers import typed_yes
from bot.config import Settings
from bot.filters import STAFF_ROLES, WORKER_ROLES, RoleFilter
from bot.i18n import N_
from bot.layout import pairs_when_short
from bot.messenger import Messenger
from bot.routing import Router
from conversations.questions import asks
from db.models import Case, TelegramAccount
from handlers.case_cards import show_card
from services.cases.actions import perform
from services.cases.transitions import Action, Actor, CaseActionRefused
from services.cases.views import refusal_text
from services.clock import Clock

router = Router(name="case_note")
router.message.filter(RoleFilter(*WORKER_ROLES, *STAFF_ROLES))
router.callback_query.filter(RoleFilter(*WORKER_ROLES, *STAFF_ROLES))

NOTE_ACTIONS = (Action.ESCALATE, Action.RESOLVE, Action.CLOSE, Action.COMMENT)
# Cannot be undone by whoever does it: asked once more before anything is written.
CONFIRMED = (Action.ESCALATE, Action.RESOLVE, Action.CLOSE)
MAX_NOTE = 1500
# Preset reasons for passing a case to Dinas Sosial (stored in the TKSK's words, as they read them).
REASONS = {
    "beyond": N_("Needs help beyond what I can do"),
    "money": N_("Needs money or new equipment"),
    "unreachable": N_("I cannot reach the recipient"),
    "health": N_("Health, family or disaster"),
}


class CaseNote(StatesGroup):
    text = State()
    confirm = State()


class CnCb(CallbackData, prefix="cn"):
    """``cn:<op>:<case id>:<value>``: op r (a preset reason), y (yes), e (change), x (cancel). Valid only for the
    case and step the person's conversation is at; the action itself is re-checked when it is applied."""

    op: str
    case_id: int
    value: str = ""


def prompt(action: Action, number: str) -> str:
    if action is Action.ESCALATE:
        return _("⏫ Case {number}: why pass it to Dinas Sosial? Choose a reason, send a voice note 🎤 or write it.") \
            .format(number=number)
    if action is Action.RESOLVE:
        return _("✅ Case {number}: how was the problem solved? Write a short note (the recipient will see it).") \
            .format(number=number)
    if action is Action.CLOSE:
        return _("🔒 Case {number}: why is it closed? Write a short note (the recipient will see it).") \
            .format(number=number)
    return _("📝 Case {number}: write your note or update.").format(number=number)


def _cancel_button(case_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("↩️ Cancel"), callback_data=CnCb(op="x", case_id=case_id).pack())


def prompt_keyboard(action: Action, case_id: int) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if action is Action.ESCALATE:
        rows = [[InlineKeyboardButton(text=_(label), callback_data=CnCb(op="r", case_id=case_id, value=key).pack())]
                for key, label in REASONS.items()]
    rows.append([_cancel_button(case_id)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def confirm_text(action: Action, number: str, note: str) -> str:
    note = html.escape(note[:500])
    if action is Action.ESCALATE:
        return _("⏫ Pass case {number} to Dinas Sosial?\nReason: {reason}\nYou cannot take it back afterwards.") \
            .format(number=number, reason=note)
    if action is Action.RESOLVE:
        return _("✅ Mark case {number} as resolved?\nThe recipient will be told: {note}").format(
            number=number, note=note)
    return _("🔒 Close case {number}?\nThe recipient will be told: {note}\nA closed case cannot be opened again.") \
        .format(number=number, note=note)


def confirm_keyboard(action: Action, case_id: int) -> InlineKeyboardMarkup:
    yes = {Action.ESCALATE: _("✅ Yes, pass it on"), Action.RESOLVE: _("✅ Yes, resolved"),
           Action.CLOSE: _("✅ Yes, close it")}[action]
    buttons = [
        InlineKeyboardButton(text=yes, callback_data=CnCb(op="y", case_id=case_id).pack()),
        InlineKeyboardButton(text=_("✏️ Change"), callback_data=CnCb(op="e", case_id=case_id).pack()),
        _cancel_button(case_id),
    ]
    return InlineKeyboardMarkup(inline_keyboard=pairs_when_short(buttons))


async def ask_for_note(
    message: Message, state: FSMContext, *, case: Case, action: Action, card_message_id: int | None,
    back: dict[str, Any] | None = None,
) -> None:
    await state.set_state(CaseNote.text)
    await state.set_data({"case_id": case.id, "number": case.number, "action": action.value,
                          "card_message_id": card_message_id, "back": back})
    await _ask_text(message, state)


async def _ask_text(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    action = Action(data["action"])
    await state.set_state(CaseNote.text)
    asked = await message.answer(prompt(action, html.escape(str(data["number"]))) + "\n" + _("(Send /batal to stop.)"),
                                 reply_markup=prompt_keyboard(action, int(data["case_id"])))
    await state.update_data(asked_message_id=asked.message_id, note=None, voice=None)


@asks(CaseNote.text)
async def _text_question(message: Message, state: FSMContext, _data: dict[str, Any]) -> None:
    await _ask_text(message, state)


@asks(CaseNote.confirm)
async def _confirm_question(message: Message, state: FSMContext, _data: dict[str, Any]) -> None:
    await _ask_confirm(message, state)


async def _ask_confirm(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    action = Action(data["action"])
    await state.set_state(CaseNote.confirm)
    asked = await message.answer(confirm_text(action, html.escape(str(data["number"])), str(data.get("note") or "")),
                                 reply_markup=confirm_keyboard(action, int(data["case_id"])))
    await state.update_data(asked_message_id=asked.message_id)


async def _close_question(bot: Bot, chat_id: int, data: dict[str, Any], text: str) -> None:
    """The question answered: its buttons go, so an old one cannot be pressed again."""
    if data.get("asked_message_id"):
        with contextlib.suppress(TelegramBadRequest):
            await bot.edit_message_text(text, chat_id=chat_id, message_id=int(data["asked_message_id"]))


async def _noted(
    message: Message, state: FSMContext, note: str, voice: str | None, **handler: Any,
) -> None:
    """A reason or note arrived: what cannot be undone is asked once more, a plain note is saved at once."""
    await state.update_data(note=note[:MAX_NOTE], voice=voice)
    data = await state.get_data()
    action = Action(data["action"])
    bot: Bot = handler["bot"]
    await _close_question(bot, message.chat.id, data, prompt(action, html.escape(str(data["number"]))))
    if action in CONFIRMED:
        await _ask_confirm(message, state)
        return
    await _apply(message, state, **handler)


@router.message(CaseNote.text, F.text)
async def got_note(message: Message, state: FSMContext, **handler: Any) -> None:
    note = (message.text or "").strip()
    if note.startswith("/") or len(note) < 2:
        await message.answer(_("Please write the note in a few words, or send /batal."))
        return
    await _noted(message, state, note, None, **handler)


@router.message(CaseNote.text, F.voice)
async def got_voice(message: Message, state: FSMContext, **handler: Any) -> None:
    """A reason for Dinas Sosial may be spoken; a note the recipient reads must be written."""
    data = await state.get_data()
    if Action(data["action"]) is not Action.ESCALATE:
        await note_expected(message)
        return
    assert message.voice is not None
    await _noted(message, state, _("🎤 reason by voice note"), message.voice.file_id, **handler)


@router.callback_query(CaseNote.text, CnCb.filter(F.op == "r"))
async def chose_reason(query: CallbackQuery, callback_data: CnCb, state: FSMContext, **handler: Any) -> None:
    data = await state.get_data()
    label = REASONS.get(callback_data.value)
    if (label is None or data.get("case_id") != callback_data.case_id or Action(data["action"]) is not Action.ESCALATE
            or not isinstance(query.message, Message)):
        await _stale(query)
        return
    await query.answer()
    await _noted(query.message, state, _(label), None, **handler)


@router.callback_query(CaseNote.confirm, CnCb.filter(F.op == "y"))
async def confirmed(query: CallbackQuery, callback_data: CnCb, state: FSMContext, **handler: Any) -> None:
    data = await state.get_data()
    if data.get("case_id") != callback_data.case_id or not isinstance(query.message, Message):
        await _stale(query)
        return
    await query.answer()
    await _apply(query.message, state, **handler)


@router.callback_query(CaseNote.confirm, CnCb.filter(F.op == "e"))
async def change(query: CallbackQuery, callback_data: CnCb, state: FSMContext, bot: Bot) -> None:
    data = await state.get_data()
    if data.get("case_id") != callback_data.case_id or not isinstance(query.message, Message):
        await _stale(query)
        return
    await query.answer()
    await _close_question(bot, query.message.chat.id, data, _("✏️ Change"))
    await _ask_text(query.message, state)


@router.callback_query(CnCb.filter(F.op == "x"))
async def cancel(query: CallbackQuery, callback_data: CnCb, state: FSMContext) -> None:
    data = await state.get_data()
    current = await state.get_state()
    if current not in (CaseNote.text.state, CaseNote.confirm.state) or data.get("case_id") != callback_data.case_id:
        await _stale(query)
        return
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(_("↩️ Nothing changed on case {number}.").format(
            number=html.escape(str(data.get("number") or ""))))


@router.callback_query(CnCb.filter())
async def stale_button(query: CallbackQuery) -> None:
    await _stale(query)


async def _stale(query: CallbackQuery) -> None:
    with contextlib.suppress(TelegramBadRequest):
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)


async def _apply(
    message: Message,
    state: FSMContext,
    *,
    session: AsyncSession,
    account: TelegramAccount,
    settings: Settings,
    clock: Clock,
    messenger: Messenger,
    bot: Bot,
    i18n: I18n,
    **_handler: Any,
) -> None:
    data = await state.get_data()
    action = Action(data["action"])
    actor = Actor.of(account)
    now = clock.now()
    card = data.get("card_message_id")
    try:
        applied = await perform(session, messenger, int(data["case_id"]), action, actor, now=now, settings=settings,
                                note=str(data.get("note") or ""), voice_file_id=data.get("voice"),
                                shown_in=(message.chat.id, int(card)) if card else None)
    except CaseActionRefused as exc:
        await state.clear()
        await _close_question(bot, message.chat.id, data, refusal_text(exc, settings) + " " + _("Nothing was saved."))
        await message.answer(refusal_text(exc, settings) + " " + _("Nothing was saved."))
        return
    await state.clear()
    done = {
        Action.ESCALATE: _("⏫ Case {number} was passed to Dinas Sosial."),
        Action.RESOLVE: _("✅ Case {number} is marked resolved. The recipient has been told."),
        Action.CLOSE: _("🔒 Case {number} is closed."),
        Action.COMMENT: _("📝 Note saved on case {number}."),
    }[action].format(number=html.escape(applied.case.number))
    if action in CONFIRMED:
        await _close_question(bot, message.chat.id, data, done)
    else:
        await message.answer(done)
    back = InlineKeyboardButton(**data["back"]) if data.get("back") else None
    await show_card(bot, message.chat.id, session, applied.case, actor, settings=settings, i18n=i18n, now=now,
                    edit_message_id=card, back=back)


@router.message(CaseNote.text)
async def note_expected(message: Message) -> None:
    await message.answer(_("Please write the note in a few words, or send /batal."))


@router.message(CaseNote.confirm, F.text, typed_yes)
async def typed_yes_at_confirm(message: Message, state: FSMContext, **handler: Any) -> None:
    """ "iya", "ya", "oke", "siap" at the confirmation mean ✅ Yes, as the button would."""
    await _apply(message, state, **handler)


@router.message(CaseNote.confirm, F.text.func(lambda t: not t.startswith("/")))
async def confirm_expected(message: Message, state: FSMContext) -> None:
    """Words at the confirmation: the question again, with its buttons (nothing is applied by typing)."""
    await _ask_confirm(message, state)
