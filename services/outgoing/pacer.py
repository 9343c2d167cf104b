"""The one gate every message outside an update's reply passes: Telegram's limits, most urgent first.

* **Limits**: at most ``rate`` messages per second over all processes (a token bucket that holds
  ``BURST_SECONDS`` of sending) and at most one message per ``per_chat_interval`` per chat.
* **Order**: waiting messages go by :class:`~services.outgoing.priority.Priority` (urgent case alerts, case
  notices, reminders and digests, broadcasts), oldest first within one priority. A message whose chat is not
  ready yet is put aside; the others go on.
* **429**: :meth:`Pacer.backoff` pauses everything (every process) for ``retry_after``. The Bot's request
  middleware (:class:`PacerRequestMiddleware`) does it for every 429 it sees, a reply's too.
* **Replies** inside an update are never delayed, but the request middleware counts them: they take tokens
  (the bucket may go into debt), so paced messages slow down to leave room for them.
* **Shared**: with a Redis URL the bucket, the per-chat times and the pause live in Redis and one Lua script
  takes a token atomically, so several bot processes share one budget; a more urgent message waiting in any
  process holds back less urgent ones everywhere (a short-lived "demand" key per priority). Without Redis
  (or while Redis is unreachable) the bucket is in-process.

Use::

    async with ctx.pacer.slot(chat_id, Priority.ROUTINE):
        await bot.send_message(chat_id, text)      # counted once, never twice

or ``await pacer.acquire(chat_id, priority)`` right before a send made outside the Bot's middleware.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import itertools
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from aiogram import BaseMiddleware
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods.base import TelegramMethod, TelegramType

from services.outgoing.priority import Priority

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger("uep.pacer")

# The bucket holds this many seconds of sending: small, so over any second the rate is barely exceeded
# (Telegram's own bucket allows a second's burst), large enough to absorb sleep jitter.
BURST_SECONDS = 0.2
# Replies may push the bucket into debt by at most this many seconds of sending.
MAX_DEBT_SECONDS = 1.0
# How long a "more urgent message is waiting" mark lives in Redis without being renewed (seconds).
DEMAND_TTL = 0.25
# Per-chat times kept in memory are pruned beyond this many chats.
CHAT_TABLE_MAX = 10_000

# Inside an update (set by UpdateScopeMiddleware): sends there are replies, counted but not delayed.
_IN_UPDATE: contextvars.ContextVar[bool] = contextvars.ContextVar("uep_in_update", default=False)
# Inside Pacer.slot(): the send already holds its token, so the request middleware does not count it again.
_PACED: contextvars.ContextVar[bool] = contextvars.ContextVar("uep_paced", default=False)


def in_update() -> bool:
    return _IN_UPDATE.get()


@contextlib.contextmanager
def update_scope() -> Any:
    token = _IN_UPDATE.set(True)
    try:
        yield
    finally:
        _IN_UPDATE.reset(token)


def mark_paced() -> None:
    """In a task of its own that acquired its slot: its sends hold their tokens (not counted again).
    Elsewhere use :meth:`Pacer.slot`, which undoes the mark after the block."""
    _PACED.set(True)


# ------------------------------------------------------------------------------------------------- buckets
@dataclass(slots=True)
class Grant:
    """The answer of a bucket: ``wait`` 0 = the token is taken; else seconds to wait and why."""

    wait: float
    reason: str = ""   # "pause" | "chat" | "rate" | "priority"


GRANTED = Grant(0.0)


class Bucket(Protocol):
    async def take(self, chat_id: int | None, priority: int, *, rate: float, per_chat: float,
                   force: bool = False) -> Grant: ...

    async def pause(self, seconds: float) -> None: ...

    async def paused_for(self) -> float: ...

    async def close(self) -> None: ...


class LocalBucket:
    """The in-process bucket (one process: priorities are kept by the pacer's own queue)."""

    def __init__(self, *, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self.tokens: float | None = None
        self.updated = 0.0
        self.paused_until = 0.0
        self.chat_next: dict[int, float] = {}
        self._pruned_at = 0.0

    async def take(self, chat_id: int | None, priority: int, *, rate: float, per_chat: float,
                   force: bool = False) -> Grant:
        return self.take_now(chat_id, rate=rate, per_chat=per_chat, force=force)

    def take_now(self, chat_id: int | None, *, rate: float, per_chat: float, force: bool = False) -> Grant:
        now = self._now()
        burst = max(1.0, rate * BURST_SECONDS)
        tokens = burst if self.tokens is None else min(burst, self.tokens + (now - self.updated) * rate)
        self.tokens, self.updated = tokens, now
        if not force:
            if self.paused_until > now:
                return Grant(self.paused_until - now, "pause")
            if chat_id is not None and self.chat_next.get(chat_id, 0.0) > now:
                return Grant(self.chat_next[chat_id] - now, "chat")
            if tokens < 1.0:
                return Grant((1.0 - tokens) / rate, "rate")
        self.tokens = max(-rate * MAX_DEBT_SECONDS, tokens - 1.0)
        if chat_id is not None and per_chat > 0:
            self.chat_next[chat_id] = now + per_chat
            if len(self.chat_next) > CHAT_TABLE_MAX and now - self._pruned_at > per_chat:
                self.chat_next = {c: t for c, t in self.chat_next.items() if t > now}
                self._pruned_at = now
        return GRANTED

    async def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self._now() + seconds)

    async def paused_for(self) -> float:
        return max(0.0, self.paused_until - self._now())

    async def close(self) -> None:
        return None


# KEYS: 1 bucket hash, 2 pause, 3 chat key ("" = none), 4.. demand keys of priorities 0..n-1
# ARGV: 1 rate, 2 burst, 3 per-chat ms, 4 priority, 5 force (0/1), 6 demand ttl ms, 7 max debt (tokens)
# Returns {wait_ms, reason}; wait_ms 0 = token taken. Time is Redis's own, the same for every process.
TAKE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local per_chat = tonumber(ARGV[3])
local prio = tonumber(ARGV[4])
local force = ARGV[5] == '1'
local demand_ttl = tonumber(ARGV[6])
local max_debt = tonumber(ARGV[7])
if not force then
  local p = redis.call('PTTL', KEYS[2])
  if p > 0 then return {p, 'pause'} end
  if KEYS[3] ~= '' then
    local c = redis.call('PTTL', KEYS[3])
    if c > 0 then return {c, 'chat'} end
  end
end
local h = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(h[1])
local ts = tonumber(h[2])
if tokens == nil or ts == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
if not force then
  for q = 0, prio - 1 do
    if redis.call('EXISTS', KEYS[4 + q]) == 1 then
      redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
      return {math.max(1, math.ceil(1000 / rate)), 'priority'}
    end
  end
  if tokens < 1 then
    redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
    redis.call('SET', KEYS[4 + prio], '1', 'PX', demand_ttl)
    return {math.max(1, math.ceil((1 - tokens) * 1000 / rate)), 'rate'}
  end
end
tokens = math.max(-max_debt, tokens - 1)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], 60000)
if not force then redis.call('DEL', KEYS[4 + prio]) end
if KEYS[3] ~= '' and per_chat > 0 then redis.call('SET', KEYS[3], '1', 'PX', per_chat) end
return {0, ''}
"""


class RedisBucket:
    """The bucket shared by every process that uses the same Redis database and key prefix."""

    def __init__(self, url: str, *, prefix: str = "uep:pacer") -> None:
        from redis.asyncio import Redis

        self.redis = Redis.from_url(url)
        self.prefix = prefix
        self._script = self.redis.register_script(TAKE_SCRIPT)
        self._demand = [f"{prefix}:demand:{p.value}" for p in sorted(Priority)]

    @property
    def pause_key(self) -> str:
        return f"{self.prefix}:pause"

    async def take(self, chat_id: int | None, priority: int, *, rate: float, per_chat: float,
                   force: bool = False) -> Grant:
        chat_key = f"{self.prefix}:chat:{chat_id}" if chat_id is not None else ""
        burst = max(1.0, rate * BURST_SECONDS)
        wait_ms, reason = await self._script(
            keys=[f"{self.prefix}:bucket", self.pause_key, chat_key, *self._demand],
            args=[rate, burst, int(per_chat * 1000), int(priority), 1 if force else 0,
                  int(DEMAND_TTL * 1000), rate * MAX_DEBT_SECONDS],
        )
        wait = int(wait_ms) / 1000
        return GRANTED if wait <= 0 else Grant(wait, reason.decode() if isinstance(reason, bytes) else str(reason))

    async def pause(self, seconds: float) -> None:
        ms = max(1, math.ceil(seconds * 1000))
        # Only ever lengthen a pause: SET ... GT needs Redis 7; compare in one round trip instead.
        current = await self.redis.pttl(self.pause_key)
        if current < ms:
            await self.redis.set(self.pause_key, "1", px=ms)

    async def paused_for(self) -> float:
        return max(0, await self.redis.pttl(self.pause_key)) / 1000

    async def close(self) -> None:
        await self.redis.aclose()


# ------------------------------------------------------------------------------------------------- the pacer
@dataclass(eq=False)
class _Waiter:
    chat_id: int | None
    priority: int
    seq: int
    future: asyncio.Future[None]
    since: float = field(default_factory=time.monotonic)


@dataclass
class PacerStats:
    granted: dict[int, int] = field(default_factory=lambda: collections.Counter())
    replies: int = 0
    backoffs: int = 0
    max_wait: dict[int, float] = field(default_factory=dict)  # longest wait per priority (seconds)


class Limits(Protocol):
    global_rate: float
    per_chat_interval: float


@dataclass
class FixedLimits:
    global_rate: float = 25.0
    per_chat_interval: float = 1.0


class Pacer:
    """Paces sends outside an update; shared by everything in one process (``ctx.pacer``).

    ``limits`` is read at every decision, so the application's ``settings.telegram`` (or a test changing it)
    takes effect at once."""

    def __init__(self, rate: float = 25.0, per_chat_interval: float = 1.0, *, bucket: Bucket | None = None,
                 limits: Limits | None = None) -> None:
        self.limits: Limits = limits if limits is not None else FixedLimits(rate, per_chat_interval)
        self.local = LocalBucket()
        self.bucket: Bucket = bucket or self.local
        self.stats = PacerStats()
        self._queues: dict[int, collections.deque[_Waiter]] = {int(p): collections.deque() for p in Priority}
        self._seq = itertools.count()
        self._chat_next: dict[int, float] = {}   # what this process knows of per-chat readiness
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._redis_failed_at = 0.0

    @classmethod
    def from_settings(cls, limits: Limits, redis_url: str | None = None, prefix: str = "uep:pacer") -> Pacer:
        """The pacer of ``settings.telegram`` (``global_rate``, ``per_chat_interval``), shared through Redis when
        a URL is given."""
        bucket = RedisBucket(redis_url, prefix=prefix) if redis_url else None
        return cls(bucket=bucket, limits=limits)

    @property
    def rate(self) -> float:
        return float(self.limits.global_rate)

    @rate.setter
    def rate(self, value: float) -> None:
        self.limits.global_rate = value

    @property
    def per_chat_interval(self) -> float:
        return float(self.limits.per_chat_interval)

    @per_chat_interval.setter
    def per_chat_interval(self, value: float) -> None:
        self.limits.per_chat_interval = value

    @property
    def shared(self) -> bool:
        return self.bucket is not self.local

    # --------------------------------------------------------------------------------------------- API
    async def acquire(self, chat_id: int | None, priority: Priority | int = Priority.ROUTINE) -> None:
        """Wait until a message to ``chat_id`` may go out now; the caller sends right after."""
        loop = asyncio.get_running_loop()
        waiter = _Waiter(chat_id, int(priority), next(self._seq), loop.create_future())
        self._queues[waiter.priority].append(waiter)
        self._ensure_running(loop)
        assert self._wake is not None
        self._wake.set()
        try:
            await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                log.debug("a granted slot was abandoned")
            with contextlib.suppress(ValueError):
                self._queues[waiter.priority].remove(waiter)
            raise
        waited = time.monotonic() - waiter.since
        self.stats.granted[waiter.priority] += 1
        if waited > self.stats.max_wait.get(waiter.priority, 0.0):
            self.stats.max_wait[waiter.priority] = waited

    @contextlib.asynccontextmanager
    async def slot(self, chat_id: int | None, priority: Priority | int = Priority.ROUTINE) -> AsyncIterator[None]:
        """Acquire, then send inside the block: the request middleware knows this send is already counted."""
        await self.acquire(chat_id, priority)
        token = _PACED.set(True)
        try:
            yield
        finally:
            _PACED.reset(token)

    def backoff(self, retry_after: float) -> None:
        """After a 429: nothing goes out (in any process sharing the bucket) for ``retry_after`` seconds."""
        self.stats.backoffs += 1
        self.local.paused_until = max(self.local.paused_until, time.monotonic() + retry_after)
        if self.shared:
            self._spawn(self._shared_call(self.bucket.pause(retry_after)))
        if self._wake is not None:
            self._wake.set()

    def record(self, chat_id: int | None) -> None:
        """Count a message that went out without waiting (a reply inside an update)."""
        self.stats.replies += 1
        if chat_id is not None:
            self._chat_next[chat_id] = time.monotonic() + self.per_chat_interval
        if self.shared:
            self._spawn(self._shared_call(
                self.bucket.take(chat_id, 0, rate=self.rate, per_chat=self.per_chat_interval, force=True)))
        else:
            self.local.take_now(chat_id, rate=self.rate, per_chat=self.per_chat_interval, force=True)

    async def paused_for(self) -> float:
        local = max(0.0, self.local.paused_until - time.monotonic())
        if not self.shared:
            return local
        shared = await self._shared_call(self.bucket.paused_for())
        return max(local, shared or 0.0)

    def budget(self, seconds: float, share: float = 0.8) -> int:
        """How many messages fit in ``share`` of ``seconds`` at the global rate (at least one): what one scan
        task may send in a tick so the tick ends before the next one is due."""
        return max(1, int(self.rate * seconds * share))

    def waiting(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        for task in list(self._background):
            with contextlib.suppress(Exception):
                await task
        with contextlib.suppress(Exception):
            await self.bucket.close()

    # --------------------------------------------------------------------------------------------- inside
    def _spawn(self, coro: Awaitable[Any]) -> None:
        try:
            task = asyncio.ensure_future(coro)
        except RuntimeError:  # no running loop (a synchronous caller): nothing to share it with
            if asyncio.iscoroutine(coro):
                coro.close()
            return
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _shared_call(self, coro: Awaitable[Any]) -> Any:
        try:
            return await coro
        except Exception as exc:  # Redis unreachable: pace in-process rather than stop sending
            if time.monotonic() - self._redis_failed_at > 30:
                log.warning("pacer: Redis unavailable (%s); pacing in-process", type(exc).__name__)
            self._redis_failed_at = time.monotonic()
            return None

    def _ensure_running(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._task is not None and not self._task.done() and self._task.get_loop() is loop:
            return
        self._wake = asyncio.Event()
        self._task = loop.create_task(self._run(), name="pacer")

    def _pick(self, now: float) -> tuple[_Waiter | None, float]:
        """The most urgent, oldest waiter whose chat is ready; else when the first chat will be."""
        soonest = math.inf
        for priority in sorted(self._queues):
            queue = self._queues[priority]
            for waiter in queue:
                if waiter.future.done():
                    continue
                ready = self._chat_next.get(waiter.chat_id, 0.0) if waiter.chat_id is not None else 0.0
                if ready <= now:
                    return waiter, 0.0
                soonest = min(soonest, ready)
        return None, soonest - now

    async def _take(self, waiter: _Waiter) -> Grant:
        kwargs = dict(rate=self.rate, per_chat=self.per_chat_interval)
        if self.shared and time.monotonic() - self._redis_failed_at > 5:
            grant = await self._shared_call(self.bucket.take(waiter.chat_id, waiter.priority, **kwargs))
            if grant is not None:
                # a pause set by this process is honoured at once, even before Redis has it
                local_pause = self.local.paused_until - time.monotonic()
                if local_pause > 0 and grant.wait == 0:
                    return Grant(local_pause, "pause")
                return grant
        return self.local.take_now(waiter.chat_id, **kwargs)

    async def _run(self) -> None:
        assert self._wake is not None
        wake = self._wake
        while True:
            for queue in self._queues.values():
                while queue and queue[0].future.done():
                    queue.popleft()
            now = time.monotonic()
            waiter, wait = self._pick(now)
            if waiter is None:
                wake.clear()
                if math.isinf(wait):
                    await wake.wait()
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), wait)
                continue
            grant = await self._take(waiter)
            if waiter.future.done():  # cancelled while we asked; the token (if taken) is lost, harmlessly
                continue
            if grant.wait <= 0:
                self._queues[waiter.priority].remove(waiter)
                if waiter.chat_id is not None:
                    self._chat_next[waiter.chat_id] = time.monotonic() + self.per_chat_interval
                    if len(self._chat_next) > CHAT_TABLE_MAX:
                        cut = time.monotonic()
                        self._chat_next = {c: t for c, t in self._chat_next.items() if t > cut}
                waiter.future.set_result(None)
                continue
            if grant.reason == "chat":  # another process wrote to this chat: put it aside, try the others
                self._chat_next[waiter.chat_id] = time.monotonic() + grant.wait  # type: ignore[index]
                continue
            # rate, pause or a more urgent message elsewhere: everyone here waits the same
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_sleep_unless_paused(wake, self), grant.wait)


async def _sleep_unless_paused(wake: asyncio.Event, pacer: Pacer) -> None:
    """Sleep through a wait; a new backoff (a 429) wakes the loop so it sees the pause at once.
    New waiters do not end a rate wait: the next token is not due sooner for them."""
    while True:
        await wake.wait()
        wake.clear()
        if pacer.local.paused_until > time.monotonic():
            return


# ------------------------------------------------------------------------------------------------- aiogram glue
# Bot API methods Telegram counts against the flood limits (edits only when paced explicitly).
def counts_as_message(method_name: str) -> bool:
    m = method_name.lower()
    if m == "sendchataction":
        return False
    return m.startswith("send") or m in ("copymessage", "forwardmessage", "copymessages", "forwardmessages")


class UpdateScopeMiddleware(BaseMiddleware):
    """Outer middleware of ``dp.update``: marks everything awaited while handling an update as inside it."""

    async def __call__(self, handler: Callable[[Any, dict[str, Any]], Awaitable[Any]], event: Any,
                       data: dict[str, Any]) -> Any:
        token = _IN_UPDATE.set(True)
        try:
            return await handler(event, data)
        finally:
            _IN_UPDATE.reset(token)


class PacerRequestMiddleware(BaseRequestMiddleware):
    """On the Bot's HTTP session: counts every message that did not wait for the pacer (replies), and turns
    every 429 into a pause of all sending."""

    def __init__(self, pacer: Pacer, on_send: Callable[[str, str], None] | None = None) -> None:
        self.pacer = pacer
        self.on_send = on_send  # (method, outcome) for metrics

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Any:
        name = type(method).__api_method__ if hasattr(type(method), "__api_method__") else type(method).__name__
        counted = counts_as_message(name)
        if counted and not _PACED.get():
            chat_id = getattr(method, "chat_id", None)
            self.pacer.record(chat_id if isinstance(chat_id, int) else None)
        try:
            result = await make_request(bot, method)
        except TelegramRetryAfter as exc:
            log.info("429 from Telegram on %s: pausing all sends for %ss", name, exc.retry_after)
            self.pacer.backoff(float(exc.retry_after))
            if self.on_send is not None:
                self.on_send(name, "429")
            raise
        except Exception:
            if self.on_send is not None and counted:
                self.on_send(name, "error")
            raise
        if self.on_send is not None and counted:
            self.on_send(name, "sent")
        return result
