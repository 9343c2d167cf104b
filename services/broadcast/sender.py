"""The rate-limited sending engine, shared by the bot's delivery worker and ``uep broadcast send``.

* **Rate**: the shared outgoing pacer (``ctx.pacer``, :mod:`services.outgoing.pacer`) at priority ``BULK``: within
  ``telegram.global_rate`` over all processes, one message per ``telegram.per_chat_interval`` per chat (a chat not
  ready yet waits aside, the others go on), after every more urgent message. Progress edits go through it too
  (at ``ROUTINE``, so the sender sees them while the broadcast runs).
  A 429 pauses *everything* for its ``retry_after``; the message goes again afterwards (a 429 does not count as
  an attempt).
* **Outcomes**: 403 → ``blocked`` (the account and recipient are marked unreachable, never retried); 5xx, network
  errors and time-outs → retried with exponential backoff until ``max_attempts``, then ``failed`` with the reason;
  any other 4xx → ``failed`` at once.
* **Durability**: deliveries are claimed in batches with a lease; results are buffered and written in one
  transaction every ``flush_every`` results or ``flush_interval`` seconds. A stop (task cancelled) lets the
  messages in flight finish, writes the buffer and gives unsent claims back, so nothing is lost or repeated.
  A hard crash loses at most the unwritten buffer and the requests in flight (see README, "Broadcast delivery
  guarantee"); the lease of the crashed worker's claims then expires and the rest is sent by the next worker.
* **Memory**: bounded by the claim batch, the buffer and the per-chat spacing table (pruned); never the audience.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import FSInputFile
from aiohttp import ClientError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import BroadcastSettings
from db.models import Broadcast
from services.broadcast import deliveries as dl
from services.broadcast.progress import queue_final_report
from services.clock import Clock
from services.outgoing.pacer import Pacer, mark_paced
from services.outgoing.priority import Priority

log = logging.getLogger("uep.broadcast")

# Retry backoff of transient errors: BACKOFF_BASE * 2**(attempt-1), at most BACKOFF_MAX seconds.
BACKOFF_BASE = 5.0
BACKOFF_MAX = 600.0
# A claim's lease (renewed while held) and the longest wait for one Bot API call.
LEASE = 120.0
SEND_TIMEOUT = 20.0
# A photo given as a local file (CLI) until its first upload returns a Telegram file_id.
PHOTO_PATH_PREFIX = "path:"


class ProgressSink(Protocol):
    async def progress(self, broadcast_id: int, counts: dl.Counts) -> None: ...

    async def finished(self, broadcast_id: int, counts: dl.Counts) -> None: ...


@dataclass
class EngineStats:
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    retried: int = 0
    rate_limited: int = 0   # 429 answers received
    flushes: int = 0
    claims: int = 0


@dataclass
class _Content:
    text_id: str
    text_en: str | None
    photo: str | None
    photo_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def text_for(self, language: str) -> str:
        return self.text_en if language == "en" and self.text_en else self.text_id


class DeliveryEngine:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        bot: Bot,
        clock: Clock,
        settings: BroadcastSettings,
        *,
        sink: ProgressSink | None = None,
        broadcast_id: int | None = None,
        batch_size: int | None = None,
        lease: float | None = None,
        send_timeout: float | None = None,
        flush_every: int = 50,
        flush_interval: float = 0.5,
        idle_poll: float = 2.0,
        max_inflight: int | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.sf = session_factory
        self.bot = bot
        self.clock = clock
        self.settings = settings
        self.sink = sink
        self.broadcast_id = broadcast_id
        # Without the application's pacer (a test, a bench): one of its own with the default limits.
        self.pacer = pacer or Pacer()
        self.batch_size = batch_size or max(50, min(1000, int(self.pacer.rate * 4)))
        self.lease = lease or LEASE
        self.send_timeout = send_timeout or SEND_TIMEOUT
        self.flush_every = flush_every
        self.flush_interval = flush_interval
        self.idle_poll = idle_poll
        # Sends waiting for the pacer or in flight: enough to keep the pacer's queue full for two seconds, so a
        # slow claim or flush (a busy database) does not leave the pacer with nothing to send.
        self.max_inflight = max_inflight or max(4, min(100, int(self.pacer.rate * 2)))
        self.stats = EngineStats()
        self.wakeup = asyncio.Event()
        # Hard-crash simulation for tests: when set, a cancellation abandons everything (no flush, no release).
        self.crash_on_cancel = False
        self._ready: collections.deque[dl.Claimed] = collections.deque()
        self._held: dict[int, dl.Claimed] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        self._waiting: set[asyncio.Task[None]] = set()  # sends still waiting for the pacer (nothing sent yet)
        self._sem = asyncio.Semaphore(self.max_inflight)
        self._out = dl.Outcomes.new()
        self._out_since = 0.0
        self._flush_lock = asyncio.Lock()
        self._content: dict[int, _Content] = {}
        self._touched: set[int] = set()
        self._progress_at: dict[int, float] = {}
        self._finished_own = False
        self._last_renew = time.monotonic()
        self._dirty = True            # results written since the last check for finished broadcasts
        self._finish_checked = 0.0

    # ------------------------------------------------------------------------------------------- running
    async def run(self, *, until_idle: bool = False) -> None:
        """Send until cancelled; with ``until_idle`` return when nothing is pending any more (CLI, benchmarks)."""
        housekeeping = asyncio.create_task(self._housekeeping(), name="broadcast-housekeeping")
        try:
            await self._loop(until_idle)
        except asyncio.CancelledError:
            if not self.crash_on_cancel:
                await asyncio.shield(self._stop_gracefully())
            raise
        finally:
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await housekeeping
            if self.crash_on_cancel:
                for task in self._inflight:
                    task.cancel()
        await self._drain()
        await self._flush()
        await self._check_finished()

    async def _loop(self, until_idle: bool) -> None:
        while True:
            if len(self._ready) < max(1, self.batch_size // 2):
                await self._claim()
            job = self._ready.popleft() if self._ready else None
            if job is None:
                if self._inflight:
                    await asyncio.wait(self._inflight, timeout=self.flush_interval,
                                       return_when=asyncio.FIRST_COMPLETED)
                    continue
                await self._flush()
                if await self._idle(until_idle):
                    return
                continue
            await self._sem.acquire()
            task = asyncio.create_task(self._send(job))
            self._inflight.add(task)
            self._waiting.add(task)
            task.add_done_callback(self._inflight.discard)
            task.add_done_callback(self._waiting.discard)

    async def _idle(self, until_idle: bool) -> bool:
        """Nothing claimable: finish what is done, then return True (until_idle) or sleep until work is due."""
        if self._dirty or until_idle or time.monotonic() - self._finish_checked > 10:
            await self._check_finished()
        async with self.sf() as session:
            due = await dl.next_due_at(session, self.broadcast_id)
        if due is None and until_idle:
            return True
        wait = self.idle_poll
        if due is not None and due > self.clock.now():  # a retry waiting for its time
            wait = min(wait, max(0.05, (due - self.clock.now()).total_seconds()))
        self.wakeup.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wakeup.wait(), wait)
            self._dirty = True  # woken: a broadcast was created or started
        return False

    async def _claim(self) -> None:
        now = self.clock.now()
        if not self._held:
            async with self.sf() as session:
                if not await dl.any_due(session, now, self.broadcast_id):
                    return
        async with self.sf.begin() as session:
            jobs = await dl.claim(
                session, now, limit=self.batch_size, lease=timedelta(seconds=self.lease), broadcast_id=self.broadcast_id
            )
            missing = {j.broadcast_id for j in jobs} - set(self._content)
            if missing:
                for b in (await session.scalars(select(Broadcast).where(Broadcast.id.in_(missing)))).all():
                    self._content[b.id] = _Content(b.text_id or "", b.text_en, b.photo_file_id)
        if jobs:
            self.stats.claims += 1
        for job in jobs:
            self._held[job.id] = job
            self._ready.append(job)

    # ------------------------------------------------------------------------------------------- sending
    async def _send(self, job: dl.Claimed) -> None:
        try:
            content = self._content[job.broadcast_id]
            text = content.text_for(job.language)
            await self.pacer.acquire(job.chat_id, Priority.BULK)
            task = asyncio.current_task()
            if task is not None:
                self._waiting.discard(task)  # from here on the message is going out: a stop lets it finish
            if job.id not in self._held:  # its lease ran out while it waited: another worker owns it now
                return
            mark_paced()  # this task's sends hold their token (the Bot's middleware must not count them again)
            try:
                if content.photo and content.photo.startswith(PHOTO_PATH_PREFIX):
                    await self._send_first_photo(job, content, text)
                elif content.photo:
                    await asyncio.wait_for(
                        self.bot.send_photo(job.chat_id, content.photo, caption=text), self.send_timeout
                    )
                else:
                    await asyncio.wait_for(self.bot.send_message(job.chat_id, text), self.send_timeout)
            except TelegramRetryAfter as exc:
                self.stats.rate_limited += 1
                self.pacer.backoff(float(exc.retry_after))  # (the Bot's pacer middleware does it too)
                log.info("429 from Telegram: pausing all sends for %ss", exc.retry_after)
                self._ready.appendleft(job)
                self.wakeup.set()
                return
            except TelegramForbiddenError as exc:
                self.stats.blocked += 1
                why = exc.message or "forbidden"
                self._result(job, lambda o: o.blocked.append((job.id, job.account_id, why)))
            except (TelegramServerError, TelegramNetworkError, ClientDecodeError, ClientError, TimeoutError,
                    OSError) as exc:
                # 5xx, an HTML error page from a proxy (ClientDecodeError), a dropped connection: transient.
                self._transient(job, _reason(exc))
            except TelegramAPIError as exc:
                self.stats.failed += 1
                why = _reason(exc)
                self._result(job, lambda o: o.failed.append((job.id, job.attempts + 1, why)))
            except Exception as exc:  # never leave a claimed delivery without a result ("pending for good")
                log.exception("broadcast delivery %s: unexpected failure; retried later", job.id)
                self._transient(job, _reason(exc))
            else:
                self.stats.sent += 1
                self._result(job, lambda o: o.sent.append((job.id, job.account_id, job.was_blocked)))
        finally:
            self._sem.release()

    async def _send_first_photo(self, job: dl.Claimed, content: _Content, text: str) -> None:
        """Upload a local photo once; every later message re-uses Telegram's file_id."""
        async with content.photo_lock:
            if content.photo and content.photo.startswith(PHOTO_PATH_PREFIX):
                marker = content.photo
                path = Path(marker.removeprefix(PHOTO_PATH_PREFIX))
                msg = await asyncio.wait_for(
                    self.bot.send_photo(job.chat_id, FSInputFile(path), caption=text), max(self.send_timeout, 60)
                )
                file_id = msg.photo[-1].file_id if msg.photo else None
                if file_id:
                    content.photo = file_id
                    async with self.sf.begin() as session:
                        await session.execute(
                            update(Broadcast)
                            .where(Broadcast.id == job.broadcast_id, Broadcast.photo_file_id == marker)
                            .values(photo_file_id=file_id)
                        )
                return
        await asyncio.wait_for(self.bot.send_photo(job.chat_id, content.photo, caption=text), self.send_timeout)

    def _transient(self, job: dl.Claimed, reason: str) -> None:
        attempts = job.attempts + 1
        if attempts >= self.settings.max_attempts:
            self.stats.failed += 1
            self._result(job, lambda o: o.failed.append((job.id, attempts, reason)))
            return
        self.stats.retried += 1
        delay = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempts - 1))
        nxt = self.clock.now() + timedelta(seconds=delay)
        self._result(job, lambda o: o.retry.append((job.id, attempts, nxt, reason)))

    def _result(self, job: dl.Claimed, add: Callable[[dl.Outcomes], None]) -> None:
        if not len(self._out):
            self._out_since = time.monotonic()
        add(self._out)
        self._held.pop(job.id, None)
        self._touched.add(job.broadcast_id)
        if len(self._out) >= self.flush_every and not self._flush_lock.locked():
            task = asyncio.create_task(self._flush())
            self._inflight.add(task)  # tracked with the sends, so a stop waits for it
            task.add_done_callback(self._inflight.discard)

    # ------------------------------------------------------------------------------------------- writing
    async def _flush(self) -> None:
        async with self._flush_lock:
            if not len(self._out):
                return
            out, self._out = self._out, dl.Outcomes.new()
            self._dirty = True
            for attempt in range(5):
                try:
                    async with self.sf.begin() as session:
                        await dl.record(session, out, self.clock.now())
                    break
                except Exception:
                    if attempt == 4:
                        raise
                    log.exception("writing broadcast results failed; retrying")
                    await asyncio.sleep(0.2 * (attempt + 1))
            self.stats.flushes += 1
            if out.retry:
                self.wakeup.set()  # a retry may already be due

    async def _housekeeping(self) -> None:
        last_finish = 0.0
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                if len(self._out) and time.monotonic() - self._out_since >= self.flush_interval:
                    await self._flush()
                if time.monotonic() - self._last_renew > self.lease / 3:
                    await self._renew()
                await self._report_progress()
                if self._dirty and time.monotonic() - last_finish >= 1.0:
                    last_finish = time.monotonic()
                    await self._check_finished()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("broadcast housekeeping failed")

    async def _renew(self) -> None:
        self._last_renew = time.monotonic()
        by_token: dict[datetime, list[int]] = collections.defaultdict(list)
        for job in self._held.values():
            by_token[job.token].append(job.id)
        if not by_token:
            return
        until = self.clock.now() + timedelta(seconds=self.lease)
        lost: set[int] = set()
        async with self.sf.begin() as session:
            for token, ids in by_token.items():
                kept = await dl.renew(session, ids, token, until)
                lost.update(set(ids) - kept)
        for job in list(self._held.values()):
            job.token = until
        if lost:  # someone else owns them now (our lease had run out): do not send them
            log.warning("lost %d broadcast claims whose lease ran out", len(lost))
            for i in lost:
                self._held.pop(i, None)
            self._ready = collections.deque(j for j in self._ready if j.id not in lost)

    async def _report_progress(self) -> None:
        if self.sink is None or not self._touched:
            return
        await self._flush()  # the counts must include this worker's results
        now = time.monotonic()
        for bid in list(self._touched):
            if now - self._progress_at.get(bid, 0.0) < self.settings.progress_interval:
                continue
            self._touched.discard(bid)
            self._progress_at[bid] = now
            async with self.sf() as session:
                counts = await dl.counts(session, bid)
            if counts.pending:
                await self.sink.progress(bid, counts)

    async def _check_finished(self) -> None:
        self._dirty = False
        self._finish_checked = time.monotonic()
        async with self.sf.begin() as session:
            finished = await dl.finish_done(session, self.clock.now())
            for bid in finished:  # the sender's final report: an outbox row in the same commit
                await queue_final_report(session, bid)
        for bid in finished:
            self._content.pop(bid, None)
            self._touched.discard(bid)
            self._progress_at.pop(bid, None)
            if bid == self.broadcast_id:
                self._finished_own = True
            if self.sink is not None:
                async with self.sf() as session:
                    counts = await dl.counts(session, bid)
                try:
                    await self.sink.finished(bid, counts)
                except Exception:
                    log.exception("final report of broadcast %s failed", bid)

    # ------------------------------------------------------------------------------------------- stopping
    async def _drain(self) -> None:
        while self._inflight:
            await asyncio.wait(list(self._inflight))

    async def _stop_gracefully(self) -> None:
        """Let the messages in flight finish, write every result, give unsent claims back."""
        for task in list(self._waiting):  # not sent yet: they go back with the other unsent claims
            task.cancel()
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=self.send_timeout + 1)
        await self._flush()
        unsent = list(self._held)
        self._held.clear()
        self._ready.clear()
        if unsent:
            async with self.sf.begin() as session:
                await dl.release(session, unsent)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {message}"[:300]
