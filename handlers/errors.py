"""The error handler: log the failure with the update id (never personal data), apologise to the person in
their language, keep serving. The update's uncommitted database work was already rolled back by the session
middleware (what was committed before a reply stays: it was announced).

No apology when Telegram itself failed the reply (429, 5xx, a dropped connection): the reply was already
tried twice (``bot.speaking``), the person's input was committed before it, and a message into a chat that
Telegram refuses is refused too."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18n

from bot.context import AppContext
from bot.middlewares.update_ledger import DuplicateUpdate
from bot.routing import Router
from services.identity import get_account

log = logging.getLogger("uep.errors")
router = Router(name="errors")


@router.errors()
async def on_error(event: ErrorEvent, bot: Bot, ctx: AppContext, i18n: I18n | None = None) -> bool:
    update = event.update
    exc = event.exception
    if isinstance(exc, DuplicateUpdate):
        return True  # another delivery of this update committed it; already logged, nothing to apologise for
    # Only the type and the update id: exception messages can carry user input (NIKs, phone numbers).
    log.error(
        "update %s failed: %s", update.update_id, type(exc).__name__,
        exc_info=(type(exc), exc, exc.__traceback__) if log.isEnabledFor(logging.DEBUG) else None,
    )
    from bot.messenger import SendOutcome, failure_kind

    if failure_kind(exc) is SendOutcome.RETRY:
        return True
    user = update.event.from_user if update.event and hasattr(update.event, "from_user") else None
    if user is None:
        return True
    chat_id = user.id
    locale = "id"
    try:
        async with ctx.session_factory() as session:
            account = await get_account(session, user.id)
        if account is not None:
            chat_id = account.chat_id
            locale = account.language or ctx.settings.i18n.default_locale
    except Exception:  # the database itself may be what failed
        log.warning("update %s: could not read the account for the apology", update.update_id)
    from bot.i18n import CatalogI18n

    translator = i18n or CatalogI18n.get_current(no_error=True)
    text = "Maaf, terjadi kesalahan. Silakan coba lagi sebentar lagi."
    if translator is not None:
        text = translator.gettext("Sorry, something went wrong on our side. Please try again in a moment.",
                                  locale=locale)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()  # stops the spinner; a too-old query is ignored by the session
        await bot.send_message(chat_id, text)
    except TelegramAPIError:
        log.warning("update %s: apology could not be sent", update.update_id)
    return True
