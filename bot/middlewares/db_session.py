"""One database session per update, committed when the handler succeeds and rolled back when it fails.

The session is also committed before any Telegram request the handler makes (``bot.speaking``: commit, then
speak), so a handler writes everything it will announce first, then replies."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.speaking import OWNER_TASK
from db.session import current_session


class DbSessionMiddleware(BaseMiddleware):
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        on_rollback: Callable[[AsyncSession], None] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.on_rollback = on_rollback

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        async with self.session_factory() as session:
            data["session"] = session
            session.info[OWNER_TASK] = asyncio.current_task()
            token = current_session.set(session)
            try:
                result = await handler(event, data)
                await session.commit()
            except BaseException:
                await session.rollback()
                if self.on_rollback is not None:
                    self.on_rollback(session)
                raise
            finally:
                current_session.reset(token)
            return result
