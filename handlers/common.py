"""Commands everyone has: /start (without an invitation), /help, /bahasa, /batal."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.filters import ButtonText
from bot.routing import Router
from conversations.kept import Kept
from db.enums import OnboardingState, Role
from db.models import TelegramAccount
from handlers.keyboards import MENU_HELP, recipient_main_menu

router = Router(name="common")

LANGUAGE_NAMES = {"id": "🇮🇩 Bahasa Indonesia", "en": "🇬🇧 English"}


def help_text(role: Role) -> str:
    if role is Role.RECIPIENT:
        return _(
            "How I can help you:\n"
            "📋 <b>Report my business</b>: tell us how your business is doing, with a photo.\n"
            "🆘 <b>I have a problem</b>: tell us what is holding you back; your TKSK is told at once.\n"
            "📂 <b>Status of my reports</b>: see what happened with your reports.\n"
            "/privasi: your data and your rights. /bahasa: change language. /batal: stop what you are doing."
        )
    if role.is_worker:
        return _(
            "For TKSK and PSM:\n"
            "/penerima: recipients in your kecamatan, their progress and invitation links.\n"
            "/kasus: problems reported in your kecamatan.\n"
            "/ringkasan: how businesses in your kecamatan are doing.\n"
            "/bahasa: change language. /batal: stop what you are doing."
        )
    if role.is_staff:
        text = _(
            "For Dinas Sosial staff:\n"
            "/antrian: the case queue.\n"
            "/siaran: send an announcement.\n"
            "/laporan: survival of businesses and program figures.\n"
            "/ekspor: export data.\n"
            "/bahasa: change language. /batal: stop what you are doing."
        )
        if role is Role.ADMIN:
            text += "\n" + _("/undang: invite staff, TKSK or PSM.")
        return text
    return _(
        "Hello! This is the bot of the UEP program of Dinas Sosial Kalimantan Timur.\n"
        "To join, open the invitation link from your TKSK, or send:\n"
        "<code>/start NIK DATE-OF-BIRTH</code>\n"
        "for example <code>/start 6472xxxxxxxxxxxx 1980-05-17</code>.\n"
        "/bahasa: change language."
    )


async def show_home(message: Message, role: Role, account: TelegramAccount | None) -> None:
    """The person's starting point: the main menu for active recipients, help for everyone else."""
    if role is Role.RECIPIENT and account and account.recipient:
        if account.recipient.onboarding_state == OnboardingState.ACTIVE:
            await message.answer(
                _("Hello, {name}! What would you like to do?").format(name=account.recipient.name),
                reply_markup=recipient_main_menu(),
            )
            return
    await message.answer(help_text(role), reply_markup=ReplyKeyboardRemove())


@router.message(CommandStart(deep_link=False), F.text.regexp(r"^/start(@\w+)?\s*$"))
async def start(
    message: Message, state: FSMContext, role: Role, account: TelegramAccount | None, **data: Any
) -> None:
    from conversations.onboarding import resume_onboarding

    # A recipient who has not finished onboarding goes back to their step; an unknown person is told how to join.
    if await resume_onboarding(message, state, role, account, data):
        return
    await state.clear()
    await show_home(message, role, account)


@router.message(Command("help"))
@router.message(StateFilter(None, Kept.choose), ButtonText(MENU_HELP))
async def help_command(message: Message, role: Role) -> None:
    await message.answer(help_text(role))


@router.message(Command("batal"))
async def cancel(message: Message, state: FSMContext, role: Role, account: TelegramAccount | None) -> None:
    if await state.get_state() is None:
        await message.answer(_("There is nothing to cancel."))
        return
    await state.clear()
    await message.answer(_("Cancelled. Nothing was saved from that step."))
    await show_home(message, role, account)


@router.message(Command("bahasa", "language"))
async def choose_language(message: Message, i18n: I18n) -> None:
    buttons = [
        [InlineKeyboardButton(text=LANGUAGE_NAMES.get(code, code), callback_data=f"lang:{code}")]
        for code in i18n.available_locales
    ]
    await message.answer(_("Choose your language:"), reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons))


@router.callback_query(F.data.startswith("lang:"))
async def set_language(query: CallbackQuery, i18n: I18n, account: TelegramAccount | None, role: Role) -> None:
    code = (query.data or "").removeprefix("lang:")
    if code not in i18n.available_locales or account is None:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    account.language = code
    with i18n.use_locale(code):
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.edit_text(_("Language set to English."))
            if role is Role.RECIPIENT and account.recipient and (
                account.recipient.onboarding_state == OnboardingState.ACTIVE
            ):
                # Re-send the menu so its buttons are in the new language.
                await query.message.answer(_("Main menu:"), reply_markup=recipient_main_menu())
