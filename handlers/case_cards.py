"""Showing a case card in a chat and refreshing it after an action (shared by /kasus, /antrian, the TKSK
alerts and the note prompt). No router here: only helpers."""

from __future__ import annotations

import contextlib

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.models import Case
from services.cases.notify import render_card
from services.cases.transitions import Actor, CaseActionRefused
from services.cases.views import refusal_text


def back_button_of(markup: InlineKeyboardMarkup | None) -> InlineKeyboardButton | None:
    """The "back to the queue" button of a card opened from a list (a ``cq:`` button), kept across edits."""
    for row in (markup.inline_keyboard if markup else []):
        for button in row:
            if (button.callback_data or "").startswith("cq:"):
                return button
    return None


async def show_card(
    bot: Bot,
    chat_id: int,
    session: AsyncSession,
    case: Case,
    actor: Actor,
    *,
    settings: Settings,
    i18n: I18n,
    now,  # type: ignore[no-untyped-def]
    edit_message_id: int | None = None,
    header: str | None = None,
    back: InlineKeyboardButton | None = None,
) -> None:
    """The card with the buttons ``actor`` may press now: edit ``edit_message_id`` in place, else send."""
    text, keyboard, _ctx = await render_card(
        session, case, actor, now=now, settings=settings, locale=i18n.current_locale, header=header, back=back
    )
    if edit_message_id is not None:
        try:
            await bot.edit_message_text(text=text, chat_id=chat_id, message_id=edit_message_id, reply_markup=keyboard)
            return
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                return
            # The message is gone or is not a text message (e.g. an album caption): send a fresh card.
    await bot.send_message(chat_id, text, reply_markup=keyboard)


async def refuse(query: CallbackQuery, exc: CaseActionRefused, settings: Settings) -> None:
    with contextlib.suppress(TelegramBadRequest):
        await query.answer(refusal_text(exc, settings), show_alert=True)


def message_of(query: CallbackQuery) -> Message | None:
    return query.message if isinstance(query.message, Message) else None
