"""Keyboards shared by several routers. Labels are msgids: translated when the keyboard is built."""

from __future__ import annotations

from functools import lru_cache

from aiogram.types import KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import I18n

# msgids of the recipient's main menu (also used by ButtonText filters)
from bot.i18n import N_

MENU_REPORT = N_("📋 Report my business")
MENU_PROBLEM = N_("🆘 I have a problem")
MENU_STATUS = N_("📂 Status of my reports")
MENU_HELP = N_("❓ Help")
MENU_PLACEHOLDER = N_("Choose a button below")


def recipient_main_menu() -> ReplyKeyboardMarkup:
    """Big buttons: two per row, for thumbs on small screens.

    Built once per language: it is sent with most replies to a recipient (the fallback's included), and
    aiogram's types are frozen, so one object can be shared."""
    i18n = I18n.get_current()
    return _main_menu_in(i18n, i18n.current_locale)


def recipient_waiting_menu() -> ReplyKeyboardMarkup:
    """The menu of a recipient on the roster whose aid is not handed over yet: a problem (the aid itself,
    among others) and the status of their reports. Nothing to report about a business that has no tools yet."""
    i18n = I18n.get_current()
    return _waiting_menu_in(i18n, i18n.current_locale)


def recipient_menu(account: object) -> ReplyKeyboardMarkup | None:
    """The reply keyboard that fits where the recipient is: the main menu once active, the pre-aid menu while
    the aid is on its way, None for anyone else."""
    from db.enums import OnboardingState

    recipient = getattr(account, "recipient", None)
    state = getattr(recipient, "onboarding_state", None)
    if state == OnboardingState.ACTIVE:
        return recipient_main_menu()
    if state == OnboardingState.AID_WAITING:
        return recipient_waiting_menu()
    return None


@lru_cache(maxsize=8)
def _waiting_menu_in(i18n: I18n, locale: str) -> ReplyKeyboardMarkup:
    def label(msgid: str) -> str:
        return i18n.gettext(msgid, locale=locale)

    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=label(MENU_PROBLEM)), KeyboardButton(text=label(MENU_STATUS))]],
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder=label(MENU_PLACEHOLDER),
    )


@lru_cache(maxsize=8)
def _main_menu_in(i18n: I18n, locale: str) -> ReplyKeyboardMarkup:
    def label(msgid: str) -> str:
        return i18n.gettext(msgid, locale=locale)

    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=label(MENU_REPORT)), KeyboardButton(text=label(MENU_PROBLEM))],
            [KeyboardButton(text=label(MENU_STATUS)), KeyboardButton(text=label(MENU_HELP))],
        ],
        resize_keyboard=True,
        is_persistent=True,
        input_field_placeholder=label(MENU_PLACEHOLDER),
    )
