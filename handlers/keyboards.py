"""Keyboards shared by several routers. Labels are msgids: translated when the keyboard is built."""

from __future__ import annotations

from functools import cache

from aiogram.types import KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

# msgids of the recipient's main menu (also used by ButtonText filters)
from bot.i18n import N_

MENU_REPORT = N_("📋 Report my business")
MENU_PROBLEM = N_("🆘 I have a problem")
MENU_STATUS = N_("📂 Status of my reports")
MENU_HELP = N_("❓ Help")


def recipient_main_menu() -> ReplyKeyboardMarkup:
    """Big buttons: two per row, for thumbs on small screens.

    Built once per language: it is sent with most replies to a recipient (the fallback's included), and
    aiogram's types are frozen, so one object can be shared."""
    i18n = I18n.get_current(no_error=True)
    return _main_menu_in(i18n.current_locale if i18n is not None else None)


@cache
def _main_menu_in(locale: str | None) -> ReplyKeyboardMarkup:
    # ``locale`` is only the cache key: the labels are translated by the current context, which is in it.
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_(MENU_REPORT)), KeyboardButton(text=_(MENU_PROBLEM))],
            [KeyboardButton(text=_(MENU_STATUS)), KeyboardButton(text=_(MENU_HELP))],
        ],
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder=_("Choose a button below"),
    )
