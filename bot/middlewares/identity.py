"""Resolves the Telegram account and its role once per update and injects ``account`` and ``role``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, User

from db.enums import Role
from services.clock import Clock
from services.identity import role_of, touch_account


class IdentityMiddleware(BaseMiddleware):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if user is None or user.is_bot:
            data["account"], data["role"] = None, Role.UNKNOWN
            return await handler(event, data)
        if chat is not None and chat.type != "private":
            return None  # the bot serves private chats only; groups are ignored
        account = await touch_account(
            data["session"], self.clock,
            telegram_user_id=user.id, chat_id=chat.id if chat else user.id, first_name=user.first_name,
        )
        data["account"] = account
        data["role"] = role_of(account)
        return await handler(event, data)
