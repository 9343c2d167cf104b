"""Keyboards shared by several routers. Labels are msgids: translated when the keyboard is built."""

from __future__ import annotations

from aiogram.types import KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _

# msgids of the recipient's main menu (also used by ButtonText filters)
from bot.i18n import N_

MENU_REPORT = N_("📋 Report my business")
MENU_PROBLEM = N_("🆘 I have a problem")
MENU_STATUS = N_("📂 Status of my reports")
MENU_HELP = N_("❓ Help")


def recipient_main_menu() -> ReplyKeyboardMarkup:
    """Big buttons: two per row, for thumbs on small screens."""
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_(MENU_REPORT)), KeyboardButton(text=_(MENU_PROBLEM))],
            [KeyboardButton(text=_(MENU_STATUS)), KeyboardButton(text=_(MENU_HELP))],
        ],
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder=_("Choose a button below"),
    )
