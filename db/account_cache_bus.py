"""The identity cache across bot processes: what one process's commits drop, every other process drops too,
through Redis pub/sub (channel ``uep:account-cache``).

Why not switch the cache off with several processes: without it every update reads the account graph (a
seven-table join), which cost 60-68% of throughput. Why it stays right:

- After each commit the cache names what it dropped (Telegram user ids, ``("recipient", id)``-style keys,
  ``"*"`` for everything); the bus publishes them, tagged with this process's origin, and every other process
  drops the same keys and stamps them, so a read racing with the change is not cached either.
- An update's drops are published before the update finishes (``FlushCacheDrops`` awaits it), so before the
  person's event-isolation lock is released: their next update, wherever it runs, finds no stale entry.
  Drops from the scheduler or background workers are published by a task within milliseconds.
- While the subscription is not up (start-up, a Redis restart) the cache is *suspended*: it serves nothing,
  and it is cleared when the subscription is back, since drops may have been missed meanwhile.
- Entries still expire after ``telegram.identity_cache_seconds``, for changes made by processes without the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from db.account_cache import AccountCache

log = logging.getLogger(__name__)

CHANNEL = "uep:account-cache"
RECONNECT_DELAY = 1.0


def _encode(changes: set[Any]) -> list[Any]:
    return [list(c) if isinstance(c, tuple) else c for c in changes]


def _decode(items: list[Any]) -> set[Any]:
    return {tuple(c) if isinstance(c, list) else c for c in items}


class AccountCacheBus:
    def __init__(self, cache: AccountCache, redis: Any, *, channel: str = CHANNEL, owns_client: bool = False) -> None:
        self.cache = cache
        self.redis = redis  # a redis.asyncio.Redis
        self.owns_client = owns_client
        self.channel = channel
        self.origin = uuid.uuid4().hex
        self._pending: set[Any] = set()
        self._wake = asyncio.Event()
        self._subscribed = asyncio.Event()
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self.received = 0
        # A flag as well as cancel(): redis' get_message can swallow a cancellation, and the loop would go on.
        self._stopping = False
        cache.suspended = True  # until the subscription is up
        cache.listeners.append(self._dropped_here)

    # ------------------------------------------------------------------ lifecycle
    async def start(self, *, wait: float = 5.0) -> None:
        self._tasks = [asyncio.create_task(self._listen(), name="account-cache-bus-listen"),
                       asyncio.create_task(self._publish_soon(), name="account-cache-bus-publish")]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), wait)  # served uncached until then, never wrongly

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.flush()
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=3)
        self._tasks.clear()
        self.cache.suspended = True
        if self.owns_client:
            with contextlib.suppress(Exception):
                await self.redis.aclose()
        if self._dropped_here in self.cache.listeners:
            self.cache.listeners.remove(self._dropped_here)

    # ------------------------------------------------------------------ publishing
    def _dropped_here(self, changes: set[Any]) -> None:
        self._pending |= changes
        self._wake.set()

    async def flush(self) -> None:
        """Publish what this process dropped since the last flush."""
        if not self._pending:
            return
        async with self._lock:
            changes, self._pending = self._pending, set()
            if not changes:
                return
            message = json.dumps({"origin": self.origin, "changes": _encode(changes)})
            try:
                await self.redis.publish(self.channel, message)
            except Exception:  # noqa: BLE001 - the others' entries then expire with their TTL
                log.warning("account cache: could not publish %d drops", len(changes))

    async def _publish_soon(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()

    # ------------------------------------------------------------------ listening
    async def _listen(self) -> None:
        while not self._stopping:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                # Drops may have been missed while not subscribed: start clean.
                self.cache.clear()
                self.cache.suspended = False
                self._subscribed.set()
                while not self._stopping:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    self._apply(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis went away: serve uncached until it is back
                if self._stopping:
                    return
                log.warning("account cache: lost the Redis subscription; cache suspended, reconnecting",
                            exc_info=log.isEnabledFor(logging.DEBUG))
            finally:
                self.cache.suspended = True
                self._subscribed.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            if not self._stopping:
                await asyncio.sleep(RECONNECT_DELAY)

    def _apply(self, data: bytes | str) -> None:
        try:
            payload = json.loads(data)
            if payload.get("origin") == self.origin:
                return
            changes = _decode(payload["changes"])
        except (ValueError, KeyError, TypeError):
            log.warning("account cache: ignored a malformed message on %s", self.channel)
            return
        self.received += 1
        self.cache.drop_remote(changes)


class FlushCacheDrops(BaseMiddleware):
    """Publishes an update's cache drops before the update (and its isolation lock) is released."""

    def __init__(self, bus: AccountCacheBus) -> None:
        self.bus = bus

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        finally:
            await self.bus.flush()
