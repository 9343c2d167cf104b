"""Flood throttling per person: a token bucket in memory. Excess updates are dropped quietly, with one polite
notice per burst (in the person's language: this runs after identity and i18n), so one person pressing a
button twenty times cannot slow the bot for everyone."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update, User


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class ThrottlingMiddleware(BaseMiddleware):
    def __init__(self, rate: int, per_seconds: float, *, max_people: int = 100_000) -> None:
        self.capacity = float(rate)
        self.refill_per_second = rate / per_seconds
        self.max_people = max_people
        self._buckets: dict[int, _Bucket] = {}

    def _allow(self, user_id: int) -> tuple[bool, bool]:
        now = time.monotonic()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= self.max_people:
                self._buckets.clear()  # bounded memory; a reset only forgives some tokens
            bucket = self._buckets[user_id] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.refill_per_second)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return True, False
        first_refusal = not bucket.warned
        bucket.warned = True
        return False, first_refusal

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or not isinstance(event, Update):
            return await handler(event, data)
        allowed, notify = self._allow(user.id)
        if allowed:
            return await handler(event, data)
        if notify and event.callback_query is not None:
            # A callback must be answered, or the button spins on the person's phone.
            from aiogram.utils.i18n import gettext as _

            await event.callback_query.answer(_("Slow down a little, please. Try again in a few seconds."))
        return None
