"""The command menu each person sees, set with setMyCommands for their chat once their role is known."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, TelegramObject
from aiogram.utils.i18n import gettext as _

from db.enums import Role
from db.models import TelegramAccount

log = logging.getLogger(__name__)


def commands_for(role: Role) -> list[BotCommand]:
    """Translated in the current locale."""
    common = [
        BotCommand(command="help", description=_("What I can do for you")),
        BotCommand(command="bahasa", description=_("Change language")),
        BotCommand(command="batal", description=_("Cancel what you are doing")),
    ]
    start = [BotCommand(command="start", description=_("Start or show the main menu"))]
    by_role: dict[Role, list[BotCommand]] = {
        Role.UNKNOWN: [],
        Role.RECIPIENT: [
            BotCommand(command="lapor", description=_("Report on my business")),
            BotCommand(command="kendala", description=_("I have a problem")),
            BotCommand(command="status", description=_("Status of my reports")),
            BotCommand(command="privasi", description=_("My data and privacy")),
        ],
        Role.TKSK: [
            BotCommand(command="penerima", description=_("Recipients in my kecamatan")),
            BotCommand(command="kasus", description=_("Cases in my kecamatan")),
            BotCommand(command="ringkasan", description=_("Summary for my kecamatan")),
            BotCommand(command="asesmen", description=_("Assess candidates before the aid")),
            BotCommand(command="serahterima", description=_("Hand over aid packages")),
        ],
        Role.CASEWORKER: [
            BotCommand(command="antrian", description=_("Case queue")),
            BotCommand(command="siaran", description=_("Send an announcement")),
            BotCommand(command="laporan", description=_("Program report")),
            BotCommand(command="ekspor", description=_("Export data")),
            BotCommand(command="asesmen", description=_("Assessments waiting for a decision")),
        ],
    }
    by_role[Role.PSM] = [by_role[Role.TKSK][0], *by_role[Role.TKSK][-2:]]
    # Monitoring in the field (visit reports and their figures).
    report = BotCommand(command="pemantauan", description=_("Visits and risk"))
    for field_role in (Role.TKSK, Role.PSM):
        by_role[field_role] = [*by_role[field_role],
                               BotCommand(command="kunjungan", description=_("Record a visit")), report]
    by_role[Role.CASEWORKER] = [*by_role[Role.CASEWORKER], report]
    desk = BotCommand(command="web", description=_("Sign in to the web desk"))
    for role_with_desk in (Role.CASEWORKER, Role.TKSK, Role.PSM):
        by_role[role_with_desk] = [*by_role[role_with_desk], desk]
    by_role[Role.ADMIN] = [
        *by_role[Role.CASEWORKER],
        BotCommand(command="undang", description=_("Invite staff or field workers")),
    ]
    return start + by_role[role] + common


async def set_default_commands(bot: Bot) -> None:
    """The menu of people the bot does not know yet (every chat without its own scope)."""
    from bot.i18n import CatalogI18n

    i18n = CatalogI18n.get_current(no_error=True)
    if i18n is None:
        await bot.set_my_commands(commands_for(Role.UNKNOWN), scope=BotCommandScopeDefault())
        return
    for locale in i18n.available_locales:
        with i18n.use_locale(locale):
            commands = commands_for(Role.UNKNOWN)
        language = None if locale == i18n.default_locale else locale
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=language)


async def sync_chat_commands(bot: Bot, account: TelegramAccount, role: Role, locale: str) -> None:
    """Set this chat's command menu when the person's role or language changed since the last time."""
    marker = f"{role.value}:{locale}"
    if account.commands_role == marker:
        return
    if account.commands_role is None and role is Role.UNKNOWN:
        account.commands_role = marker  # the default scope already shows this menu
        return
    try:
        await bot.set_my_commands(commands_for(role), scope=BotCommandScopeChat(chat_id=account.chat_id))
    except TelegramAPIError as exc:  # a menu is a nicety; never fail the person's update for it
        log.warning("setMyCommands failed for account %s: %s", account.id, exc)
        return
    account.commands_role = marker


class CommandsSyncMiddleware(BaseMiddleware):
    """Runs after identity and i18n; keeps each chat's command menu in line with its role and language."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        result = await handler(event, data)
        account: TelegramAccount | None = data.get("account")
        if account is not None:
            # After the handler: onboarding or /bahasa may just have changed the role or the language.
            from services.identity import role_of

            i18n = data.get("i18n")
            locale = account.language or (i18n.default_locale if i18n else "id")
            if i18n is not None:
                with i18n.use_locale(locale):
                    await sync_chat_commands(data["bot"], account, role_of(account), locale)
        return result
