"""Resolves the Telegram account and its role once per update and injects ``account`` and ``role``.

The account comes from the in-process cache (``db.account_cache``) when it can, merged into the update's session
without SQL; otherwise from the database, and it is offered to the cache when the update commits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, User

from db.account_cache import AccountCache
from db.enums import Role
from services.clock import Clock
from services.identity import role_of, touch_account


class IdentityMiddleware(BaseMiddleware):
    def __init__(self, clock: Clock, cache: AccountCache | None = None) -> None:
        self.clock = clock
        self.cache = cache

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
        session = data["session"]
        cache = self.cache
        epoch = cache.epoch if cache is not None else 0
        known = await cache.attach(session, user.id) if cache is not None else None
        account = await touch_account(
            session, self.clock,
            telegram_user_id=user.id, chat_id=chat.id if chat else user.id, first_name=user.first_name, known=known,
        )
        data["account"] = account
        data["role"] = role_of(account)
        result = await handler(event, data)
        if cache is not None and known is None:
            cache.offer(session, account, epoch)  # kept if the update commits with no change to who they are
        return result
