"""The durable outbox: commit, then speak.

A message to anyone other than the person whose update is being handled (a TKSK's alert, a case notice, a
note to a caseworker), and every message a scan task sends (check-in reminders, the missed check-in digest, the
aid-receipt invitation, visit lists, UU PDP deadlines), is an :class:`~db.models.OutboxMessage` row written by
:func:`enqueue` in the caller's transaction. Nothing goes to Telegram while that transaction is open: if it
rolls back, nobody was told anything; once it commits, the row is sent by :class:`OutboxSender`:

* woken by the commit itself (a session hook), so an urgent alert leaves at once, not at the next tick; the
  scan tick (``outbox`` task) and a poll every few seconds catch anything a wake-up missed (other processes);
* paced like every message outside an update: the messenger waits for ``ctx.pacer`` with the row's priority;
* rows claimed in batches with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, see :mod:`db.claims`), so
  several processes never send the same row; most urgent first (:class:`Priority`); one chat's rows in order;
* every send made outside any database transaction: read the row (short transaction), send, record the
  result (short transaction);
* a transient failure (429, 5xx JSON or HTML, dropped connection, time-out) is retried from the row with
  backoff honouring ``retry_after``; a 403 or another 4xx is final and the kind's fallback runs
  (:func:`on_undeliverable`, e.g. a case alert for a TKSK who blocked the bot goes to Dinas Sosial). A failed
  send never touches what the person reported: that was committed before.

A kind may register a :func:`refresher` that rebuilds the text just before sending, skips the row when the
news it carries is stale (a notice about a case that has moved on, a reminder for a period already reported),
or puts it off (:class:`Postponed`: a reminder that would arrive in the quiet hours).

While a batch of less urgent rows is going out, a commit that writes rows wakes an express claim of the rows
more urgent than the batch's least urgent one, sent beside the batch (the pacer serves them first): an urgent
alert never waits for a batch of reminders to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiogram.types import InlineKeyboardMarkup, InputMediaPhoto, ReplyParameters
from sqlalchemy import event, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from db.claims import claim_rows
from db.models import OutboxMessage, TelegramAccount
from services.outgoing.priority import Priority

if TYPE_CHECKING:
    from bot.context import AppContext
    from bot.messenger import Messenger, SendResult

log = logging.getLogger(__name__)

PENDING, SENT, FAILED, SKIPPED = "pending", "sent", "failed", "skipped"
LEASE = timedelta(minutes=5)       # longer than any one send (aiogram's request time-out is 60 s)
MAX_ATTEMPTS = 8                   # transient failures; then the row is failed and the fallback runs
BASE_BACKOFF = 5.0                 # seconds; doubled per attempt, at least Telegram's retry_after
MAX_BACKOFF = 3600.0
BATCH = 200                        # rows claimed at once (a batch boundary is a short gap in sending)
CONCURRENCY = 8                    # chats sent to at once (one chat's rows go in order)
POLL_SECONDS = 5.0                 # the sender looks for due rows at least this often
MAX_ALBUM = 10
_NEW_ROWS = "uep_outbox_new"      # session.info: this transaction wrote outbox rows


# ---------------------------------------------------------------------------------------------- writing
async def enqueue(
    session: AsyncSession,
    *,
    account: TelegramAccount,
    kind: str,
    text: str,
    priority: Priority = Priority.ROUTINE,
    reply_markup: InlineKeyboardMarkup | dict[str, Any] | None = None,
    photo: str | None = None,
    dedupe_key: str | None = None,
    due_at: datetime | None = None,
    media: list[dict[str, str]] | None = None,
    payload: dict[str, Any] | None = None,
) -> OutboxMessage:
    """Write a message for ``account`` into the caller's transaction; it is sent after the commit.

    ``text`` is final HTML, already in the account's language (``messenger.speaking_to(account)``); with
    ``photo`` (a Telegram file id) it is the caption. ``due_at`` None means at once. ``dedupe_key``: a second
    call with the same key returns the first row instead of writing another. ``media``: voice notes, video notes
    and photos (``{"type": "voice"|"video_note"|"photo", "file_id": …}``) sent right after, as replies.
    ``payload``: what the kind's refresher or fallback needs (ids, never personal data);
    ``payload["edit_message_id"]`` makes the row an edit of that message in the account's chat instead of a new
    message.
    """
    if dedupe_key is not None:
        dedupe_key = dedupe_key[:160]
        existing = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    if isinstance(reply_markup, InlineKeyboardMarkup):
        reply_markup = reply_markup.model_dump(mode="json", exclude_none=True)
    row = OutboxMessage(
        account_id=account.id, chat_id=account.chat_id, kind=kind[:40], priority=int(priority), text=text,
        reply_markup=reply_markup, photo=photo, media=media or None, payload=payload, dedupe_key=dedupe_key,
        due_at=due_at, status=PENDING, attempts=0, created_at=due_at or datetime.now(UTC),
    )
    session.add(row)
    session.info[_NEW_ROWS] = True
    await session.flush()
    return row


# ---------------------------------------------------------------------------------------------- kinds
@dataclass(slots=True)
class Refreshed:
    text: str
    reply_markup: dict[str, Any] | None = None


@dataclass(slots=True)
class Postponed:
    """A refresher's answer: not now, at ``due_at`` (the row stays pending; no attempt is counted)."""

    due_at: datetime


# refresh(session, row, account, *, now, settings, messenger) -> Refreshed | Postponed | None (skip)
Refresher = Callable[..., Awaitable[Refreshed | Postponed | None]]
# fallback(session, row, *, now, settings, messenger, blocked): in the transaction that records the failure
# (``messenger.speaking_to(account)`` for the words of any new row); ``blocked``:
# the account was found to have blocked the bot (403), rather than a final 4xx or too many transient failures
Fallback = Callable[..., Awaitable[None]]
_REFRESHERS: dict[str, Refresher] = {}
_FALLBACKS: dict[str, Fallback] = {}


def refresher(kind: str) -> Callable[[Refresher], Refresher]:
    """Register a function that, just before a row of ``kind`` is sent, returns its current text (inside
    ``messenger.speaking_to(account)``), None to skip it as stale, or :class:`Postponed` to send it later."""
    def register(func: Refresher) -> Refresher:
        _REFRESHERS[kind] = func
        return func
    return register


def on_undeliverable(kind: str) -> Callable[[Fallback], Fallback]:
    """Register what to do, in the transaction that records it, when a row of ``kind`` cannot be delivered
    (the person blocked the bot, a final 4xx, or too many transient failures)."""
    def register(func: Fallback) -> Fallback:
        _FALLBACKS[kind] = func
        return func
    return register


# ---------------------------------------------------------------------------------------------- waking
_SENDERS: weakref.WeakSet[OutboxSender] = weakref.WeakSet()


def wake_all() -> None:
    """Wake every sender in this process (after a commit that wrote rows; tests after moving the clock)."""
    for sender in list(_SENDERS):
        sender.wake()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_NEW_ROWS, False):
        wake_all()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_NEW_ROWS, None)


# ---------------------------------------------------------------------------------------------- sending
def backoff(attempts: int, retry_after: float | None) -> float:
    """Seconds before the next try after ``attempts`` failed ones: doubling, never sooner than Telegram asked."""
    delay = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** max(0, attempts - 1))
    return max(delay, retry_after or 0.0)


class OutboxSender:
    """Sends due outbox rows; one per process, started with the bot (and run once by ``uep jobs run-due``)."""

    def __init__(self, ctx: AppContext, messenger: Messenger) -> None:
        self.ctx = ctx
        self.messenger = messenger
        self._wake = asyncio.Event()
        self._express = asyncio.Event()  # rows were written while a batch is going out
        self._loop: asyncio.AbstractEventLoop | None = None
        _SENDERS.add(self)

    def wake(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
            self._express.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)
            loop.call_soon_threadsafe(self._express.set)

    async def run(self) -> None:
        """Until cancelled: send what is due, then sleep until woken or ``POLL_SECONDS`` pass."""
        self._loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            try:
                await self.send_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox round failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    async def send_due(self, now: datetime | None = None) -> int:
        """Send every row due at ``now`` (default: the clock); returns how many rows were handled."""
        handled = 0
        with self.messenger.i18n.context():
            while True:
                self._express.clear()  # a wake-up from here on may bring rows more urgent than this batch
                ids = await self._claim(now)
                if not ids:
                    return handled
                handled += await self._send_with_express(ids, now)
                if len(ids) < BATCH:
                    return handled

    async def _claim(self, now: datetime | None, *, more_urgent_than: int | None = None) -> list[int]:
        at = now or self.ctx.clock.now()
        where = [OutboxMessage.status == PENDING, or_(OutboxMessage.due_at.is_(None), OutboxMessage.due_at <= at)]
        if more_urgent_than is not None:
            where.append(OutboxMessage.priority < more_urgent_than)
        return await claim_rows(
            self.ctx.session_factory, OutboxMessage, where=where,
            order_by=[OutboxMessage.priority, OutboxMessage.due_at, OutboxMessage.id],
            limit=BATCH, now=at, lease=LEASE,
        )

    async def _send_with_express(self, ids: list[int], now: datetime | None) -> int:
        """Send the batch ``ids``; meanwhile, each wake-up claims and sends the due rows more urgent than the
        batch's least urgent row (an urgent alert committed while reminders go out), beside it."""
        async with self.ctx.session_factory() as session:
            chats = list(await session.execute(
                select(OutboxMessage.id, OutboxMessage.chat_id, OutboxMessage.priority)
                .where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.priority, OutboxMessage.id)
            ))
        least = max((p for _i, _c, p in chats), default=int(Priority.URGENT))
        batch = asyncio.ensure_future(self._send_batch([(i, c) for i, c, _p in chats], now))
        handled = len(ids)
        if least == int(Priority.URGENT):
            await batch
            return handled
        try:
            while not batch.done():
                woken = asyncio.ensure_future(self._express.wait())
                await asyncio.wait({batch, woken}, return_when=asyncio.FIRST_COMPLETED)
                woken.cancel()
                if batch.done() or not self._express.is_set():
                    break
                self._express.clear()
                while urgent := await self._claim(now, more_urgent_than=least):
                    async with self.ctx.session_factory() as session:
                        rows = list(await session.execute(
                            select(OutboxMessage.id, OutboxMessage.chat_id).where(OutboxMessage.id.in_(urgent))
                            .order_by(OutboxMessage.priority, OutboxMessage.id)
                        ))
                    await self._send_batch([(i, c) for i, c in rows], now)
                    handled += len(urgent)
                    if len(urgent) < BATCH:
                        break
        except asyncio.CancelledError:
            batch.cancel()
            raise
        except Exception:  # the express claim failed: the batch goes on, the rows come back with their lease
            log.exception("outbox express claim failed")
        await batch
        return handled

    async def _send_batch(self, rows: list[tuple[int, int]], now: datetime | None) -> None:
        by_chat: dict[int, list[int]] = {}
        for row_id, chat_id in rows:
            by_chat.setdefault(chat_id, []).append(row_id)
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one_chat(row_ids: list[int]) -> None:
            async with limit:
                for row_id in row_ids:
                    try:
                        await self.deliver(row_id, now)
                    except Exception:  # one row's bug must not stop the others; its lease brings it back
                        log.exception("outbox row %s failed", row_id)

        await asyncio.gather(*(one_chat(r) for r in by_chat.values()))

    async def deliver(self, row_id: int, now: datetime | None = None) -> str:
        """Send one claimed row and record the result; returns the row's new status."""
        from bot.messenger import SendOutcome

        # 1. Read (and refresh) the row: reads only, so it never waits for (or holds) SQLite's write lock.
        async with self.ctx.session_factory() as session:
            row = await session.get(OutboxMessage, row_id)
            if row is None or row.status != PENDING:
                return row.status if row else SKIPPED
            account = await session.get(TelegramAccount, row.account_id) if row.account_id else None
            at = now or self.ctx.clock.now()
            skip: str | None = "account gone" if account is None else None
            refresh = _REFRESHERS.get(row.kind)
            fresh: Refreshed | Postponed | None = None
            if account is not None and refresh is not None:
                with self.messenger.speaking_to(account):
                    fresh = await refresh(session, row, account, now=at, settings=self.ctx.settings,
                                          messenger=self.messenger)
                skip = "superseded" if fresh is None else None
            session.expunge_all()  # row and account (its recipient joined) stay readable; nothing is written
            await session.rollback()  # end the read transaction before the network call
        if skip is not None or account is None:
            await self._record(row_id, status=SKIPPED, error=skip)
            return SKIPPED
        if isinstance(fresh, Postponed):
            await self._record(row_id, status=PENDING, due_at=fresh.due_at)
            return PENDING
        if fresh is not None:
            row.text, row.reply_markup = fresh.text, fresh.reply_markup
        # 2. Send, with no transaction open; the messenger waits for the pacer with the row's priority (a 429
        # pauses all sending: the pacer's request middleware).
        result = await self._send(row, account)
        # 3. Record what happened: one UPDATE in the common cases (a short write, no read before it).
        at = now or self.ctx.clock.now()
        attempts = row.attempts + 1
        if result.ok:
            await self._record(row_id, status=SENT, attempts=attempts, sent_at=at, error=None,
                               message_id=getattr(result.message, "message_id", None))
            if account.blocked_at is not None:  # it was marked blocked, and has been reached now
                async with self.ctx.session_factory.begin() as session:
                    await _mark_reachable(session, account.id)
            return SENT
        error = (result.error or result.outcome.value)[:300]
        if result.outcome is SendOutcome.RETRY and attempts < MAX_ATTEMPTS:
            await self._record(row_id, status=PENDING, attempts=attempts, error=error,
                               due_at=at + timedelta(seconds=backoff(attempts, result.retry_after)))
            return PENDING
        async with self.ctx.session_factory.begin() as session:
            row = await session.get(OutboxMessage, row_id)
            if row is None:
                return SKIPPED
            row.attempts, row.claimed_until, row.error = attempts, None, error
            row.status = FAILED
            if result.outcome is SendOutcome.BLOCKED:
                await _mark_blocked(session, account.id, at)
            fallback = _FALLBACKS.get(row.kind)
            if fallback is not None:
                with self.messenger.speaking_to(None):
                    await fallback(session, row, now=at, settings=self.ctx.settings, messenger=self.messenger,
                                   blocked=result.outcome is SendOutcome.BLOCKED)
            return FAILED

    async def _record(self, row_id: int, **values: Any) -> None:
        async with self.ctx.session_factory.begin() as session:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row_id)
                .values(claimed_until=None, **values).execution_options(synchronize_session=False)
            )

    async def _send(self, row: OutboxMessage, account: TelegramAccount) -> SendResult:
        markup = InlineKeyboardMarkup.model_validate(row.reply_markup) if row.reply_markup else None
        priority = Priority(row.priority)
        edit = (row.payload or {}).get("edit_message_id")
        if edit:  # an edit of a message already sent (e.g. a case card the case has moved on from)
            return await self.messenger.edit_text(account, int(edit), row.text, reply_markup=markup,
                                                  priority=priority)
        if row.photo:
            result = await self.messenger.send_photo(account, row.photo, caption=row.text[:1024], reply_markup=markup,
                                                     priority=priority)
        else:
            result = await self.messenger.send(account, row.text, reply_markup=markup, priority=priority)
        if result.ok and row.media:
            await self._send_media(row, account, getattr(result.message, "message_id", None))
        return result

    async def _send_media(self, row: OutboxMessage, account: TelegramAccount, reply_to: int | None) -> None:
        """The voice notes and photos that go with the message, as replies to it (by file id: no upload).
        A failure here is logged only: the message itself, which names the case, has arrived."""
        reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
        caption = (row.payload or {}).get("media_caption")
        priority = Priority(row.priority)
        voices = [m["file_id"] for m in row.media or [] if m.get("type") == "voice"]
        videos = [m["file_id"] for m in row.media or [] if m.get("type") == "video_note"]
        photos = [m["file_id"] for m in row.media or [] if m.get("type") == "photo"][:MAX_ALBUM]
        for voice in voices:
            await self.messenger.send_voice(account, voice, caption=caption, reply_parameters=reply, priority=priority)
        for video in videos:
            await self.messenger.send_video_note(account, video, reply_parameters=reply, priority=priority)
        if len(photos) == 1:
            await self.messenger.send_photo(account, photos[0], caption=caption, reply_parameters=reply,
                                            priority=priority)
        elif photos:
            album = [InputMediaPhoto(media=p, caption=caption if i == 0 else None) for i, p in enumerate(photos)]
            await self.messenger.send_media_group(account, album, reply_parameters=reply, priority=priority)


async def _mark_blocked(session: AsyncSession, account_id: int, at: datetime) -> None:
    account = await session.get(TelegramAccount, account_id)
    if account is None:
        return
    account.blocked_at = at
    if account.recipient is not None and account.recipient.unreachable_since is None:
        account.recipient.unreachable_since = at


async def _mark_reachable(session: AsyncSession, account_id: int) -> None:
    account = await session.get(TelegramAccount, account_id)
    if account is None or account.blocked_at is None:
        return
    account.blocked_at = None
    if account.recipient is not None:
        account.recipient.unreachable_since = None


async def pending_count(session: AsyncSession, kind: str | None = None) -> int:
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == PENDING)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return await session.scalar(query) or 0
