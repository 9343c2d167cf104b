"""Anything not understood gets a helpful reply that says what the person can do next.

Registered last. Inside a conversation the reply points back to the question; outside, to the menu.
"""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.routing import Router
from conversations.questions import ask_again
from db.enums import OnboardingState, Role
from db.models import TelegramAccount
from handlers.common import help_text
from handlers.keyboards import recipient_main_menu

router = Router(name="fallback")

# Commands of other roles: answered with a refusal, not with "I don't understand".
_ROLE_COMMANDS = {
    "lapor": (Role.RECIPIENT,), "kendala": (Role.RECIPIENT,), "status": (Role.RECIPIENT,),
    "privasi": (Role.RECIPIENT,),
    "penerima": (Role.TKSK, Role.PSM, Role.ADMIN), "kasus": (Role.TKSK,), "ringkasan": (Role.TKSK, Role.PSM),
    "antrian": (Role.CASEWORKER, Role.ADMIN), "siaran": (Role.CASEWORKER, Role.ADMIN),
    "laporan": (Role.CASEWORKER, Role.ADMIN), "ekspor": (Role.CASEWORKER, Role.ADMIN), "undang": (Role.ADMIN,),
}


@router.message(~StateFilter(None))
async def unexpected_in_conversation(message: Message, state: FSMContext, **data: Any) -> None:
    """The step's question again, with its buttons: the one "above" may have scrolled out of sight."""
    if await ask_again(message, state, {**data, "state": state}):
        return
    await message.answer(
        _("I did not understand that. Please answer with the buttons of my last question, "
          "or send /batal to stop.")
    )


@router.message(F.text.startswith("/"))
async def unknown_command(message: Message, role: Role) -> None:
    command = (message.text or "").split()[0].lstrip("/").split("@")[0].lower()
    if command in _ROLE_COMMANDS and role not in _ROLE_COMMANDS[command]:
        await message.answer(_("Sorry, that command is not available for you.") + "\n\n" + help_text(role))
        return
    await message.answer(_("I do not know that command.") + "\n\n" + help_text(role))


@router.message()
async def not_understood(message: Message, role: Role, account: TelegramAccount | None) -> None:
    if message.voice or message.video_note:
        what = ""  # a voice note is never answered with "cannot use this": what to do comes next
    elif message.photo or message.document or message.sticker:
        what = _("I cannot use this here.")
    else:
        what = _("I did not understand that.")
    if role is Role.RECIPIENT and account and account.recipient and (
        account.recipient.onboarding_state == OnboardingState.ACTIVE
    ):
        await message.answer(
            what + " " + _("Choose one of the buttons below: report your business, or tell us about a problem."),
            reply_markup=recipient_main_menu(),
        )
        return
    await message.answer((what + "\n\n" if what else "") + help_text(role))


@router.callback_query()
async def stale_button(query: CallbackQuery) -> None:
    """A button from an old message, a button for another role, or forged data: explain, change nothing."""
    await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
