"""A TKSK or caseworker writes the note an action needs: how a case was resolved, why it is closed, or an
update on it.

```mermaid
stateDiagram-v2
    [*] --> text: ✅ Resolved / 🔒 Close / 📝 Add a note on a case card
    text --> text: voice note, sticker, empty (asks for words)
    text --> [*]: a few words → action applied (re-checked: state, role, kecamatan) → card refreshed
    text --> [*]: /batal
```

The action is checked when the button is pressed (so nobody types a note for nothing) and again when the note
arrives (the case may have moved on meanwhile: then the note is refused with the reason, nothing saved).
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import STAFF_ROLES, WORKER_ROLES, RoleFilter
from bot.messenger import Messenger
from bot.routing import Router
from db.models import Case, TelegramAccount
from handlers.case_cards import show_card
from services.cases.actions import perform
from services.cases.transitions import Action, Actor, CaseActionRefused
from services.cases.views import refusal_text
from services.clock import Clock

router = Router(name="case_note")
router.message.filter(RoleFilter(*WORKER_ROLES, *STAFF_ROLES))

NOTE_ACTIONS = (Action.RESOLVE, Action.CLOSE, Action.COMMENT)
MAX_NOTE = 1500


class CaseNote(StatesGroup):
    text = State()


def prompt(action: Action, number: str) -> str:
    if action is Action.RESOLVE:
        return _("✅ Case {number}: how was the problem solved? Write a short note (the recipient will see it).") \
            .format(number=number)
    if action is Action.CLOSE:
        return _("🔒 Case {number}: why is it closed? Write a short note (the recipient will see it).") \
            .format(number=number)
    return _("📝 Case {number}: write your note or update.").format(number=number)


async def ask_for_note(
    message: Message, state: FSMContext, *, case: Case, action: Action, card_message_id: int | None,
    back: dict[str, Any] | None = None,
) -> None:
    await state.set_state(CaseNote.text)
    await state.set_data({"case_id": case.id, "action": action.value, "card_message_id": card_message_id,
                          "back": back})
    await message.answer(prompt(action, case.number) + "\n" + _("(Send /batal to stop.)"))


@router.message(CaseNote.text, F.text)
async def got_note(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    account: TelegramAccount,
    settings: Settings,
    clock: Clock,
    messenger: Messenger,
    bot: Bot,
    i18n: I18n,
) -> None:
    note = (message.text or "").strip()
    if note.startswith("/") or len(note) < 2:
        await message.answer(_("Please write the note in a few words, or send /batal."))
        return
    data = await state.get_data()
    action = Action(data["action"])
    actor = Actor.of(account)
    now = clock.now()
    try:
        applied = await perform(session, messenger, int(data["case_id"]), action, actor, now=now, settings=settings,
                                note=note[:MAX_NOTE])
    except CaseActionRefused as exc:
        await state.clear()
        await message.answer(refusal_text(exc, settings) + " " + _("Nothing was saved."))
        return
    await state.clear()
    done = {
        Action.RESOLVE: _("✅ Case {number} is marked resolved. The recipient has been told."),
        Action.CLOSE: _("🔒 Case {number} is closed."),
        Action.COMMENT: _("📝 Note saved on case {number}."),
    }[action]
    await message.answer(done.format(number=applied.case.number))
    from aiogram.types import InlineKeyboardButton

    back = InlineKeyboardButton(**data["back"]) if data.get("back") else None
    await show_card(bot, message.chat.id, session, applied.case, actor, settings=settings, i18n=i18n, now=now,
                    edit_message_id=data.get("card_message_id"), back=back)


@router.message(CaseNote.text)
async def note_expected(message: Message) -> None:
    await message.answer(_("Please write the note in a few words, or send /batal."))
