"""aiogram's FSM middleware split in two, so the update's database session sits between the halves.

aiogram takes the person's isolation lock and reads their conversation state in one outer middleware, which
runs before any of ours. With the state in the database and several processes (no cache), that read needed a
session of its own: a pool checkout, BEGIN, SELECT, ROLLBACK, about a quarter of an update's round trips to
PostgreSQL. Split, the order is:

    lock (PersonLockMiddleware) → DB session → state read (FsmStateMiddleware) → the rest

so the state is read through the update's own session (and kept there for the update, ``db.fsm_storage``),
and the session still commits before the lock is released: the person's next update never reads a state
from before this one's commit. The connection is taken from the pool only after the lock is held.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.fsm.context import FSMContext
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.types import TelegramObject


class PersonLockMiddleware(BaseMiddleware):
    """The first half: one person's updates are handled one at a time (aiogram's event isolation)."""

    def __init__(self, fsm: FSMContextMiddleware) -> None:
        self.fsm = fsm

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        bot: Bot = data["bot"]
        data["fsm_storage"] = self.fsm.storage
        context = self.fsm.resolve_event_context(bot, data)
        if context is None:
            return await handler(event, data)
        data["state"] = context  # its state is read by FsmStateMiddleware, inside the session
        async with self.fsm.events_isolation.lock(key=context.key):
            return await handler(event, data)


class FsmStateMiddleware(BaseMiddleware):
    """The second half, inside the session: ``raw_state`` for the filters, from the context the lock resolved."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        context: FSMContext | None = data.get("state")
        if context is not None:
            data["raw_state"] = await context.get_state()
        return await handler(event, data)


def take_fsm_middleware(dp: Dispatcher) -> FSMContextMiddleware:
    """Remove aiogram's own FSM middleware from the update chain (the two halves above replace it)."""
    dp.update.outer_middleware.unregister(dp.fsm)
    return dp.fsm
