"""Commit, then speak: no Telegram request while a database transaction is open.

Why: a message that reaches Telegram before the commit can announce what a crash or a rollback then undoes
(a case number that does not exist), and on SQLite a transaction held across a network call keeps the one
write lock from everyone else for as long as Telegram takes ("database is locked" under load).

:class:`CommitBeforeSpeaking` is a request middleware on the bot's HTTP session:

* inside an update, the update's own session (``db.session.current_session``, owned by the task handling the
  update) is committed before any request leaves: the reply, the edit, the callback answer, a ``getFile``.
  So what the person is told is always already stored, and the write lock is free while we wait for
  Telegram. Handlers therefore write everything first (including outbox rows for other people) and reply
  after; the FSM state goes in the same commit, so a repeated press finds the conversation already done;
* any other open transaction of the calling task (a ``session_factory.begin()`` block around a send) is a
  bug: logged, and raised as :class:`TransactionOpenDuringRequest` when ``STRICT`` (inside an update) or
  ``STRICT_OUTSIDE_UPDATES`` (scan tasks, the outbox sender, broadcasts, photo downloads, the CLI); the test
  suite sets both. Outside updates nothing sends from inside a transaction: the scans write outbox rows in
  theirs, and the outbox sender, the broadcast engine and the photo downloader read, call Telegram and record
  the result in separate short transactions;
* a reply inside an update that meets a 429 waits ``retry_after`` (at most :data:`MAX_REPLY_WAIT`) and is
  sent once more; a transient failure (5xx JSON or HTML, a dropped connection) is retried once after a
  second. Messages outside an update are never retried here: the outbox retries them from their rows;
* :func:`together` sends several requests of one update at once (a button press's callback answer, the edit
  of the pressed message and the next question): one round trip to Telegram instead of one each, after one
  commit by the update's own task.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable
from contextvars import ContextVar
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import GetUpdates, TelegramMethod
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from db.session import current_session

log = logging.getLogger(__name__)

STRICT = False                  # raise instead of logging, inside an update (the tests)
STRICT_OUTSIDE_UPDATES = False  # raise instead of logging, outside updates too (the tests)
MAX_REPLY_WAIT = 60.0     # a 429 longer than this is not waited out inside an update
TRANSIENT_RETRY_DELAY = 1.0
OWNER_TASK = "uep_owner_task"  # session.info: the task handling the update this session belongs to


class TransactionOpenDuringRequest(RuntimeError):
    """A Telegram request was about to leave while a database transaction of the same task was open."""


# Inside together(): the update session whose task committed it and waits for these requests (its children).
_TOGETHER: ContextVar[AsyncSession | None] = ContextVar("uep_speaking_together", default=None)


# Sessions with an open database transaction, by the task that opened it.
_OPEN: weakref.WeakKeyDictionary[asyncio.Task[Any], weakref.WeakSet[Session]] = weakref.WeakKeyDictionary()


def _task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


@event.listens_for(Session, "after_begin")
def _began(session: Session, transaction: SessionTransaction, connection: Any) -> None:
    task = _task()
    if task is not None:
        _OPEN.setdefault(task, weakref.WeakSet()).add(session)
        session.info["uep_tx_task"] = task


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    task = session.info.pop("uep_tx_task", None)
    if task is not None:
        sessions = _OPEN.get(task)
        if sessions is not None:
            sessions.discard(session)


def open_transactions() -> list[Session]:
    """Sessions of the current task whose database transaction is open."""
    task = _task()
    if task is None:
        return []
    return [s for s in _OPEN.get(task, ()) if s.in_transaction()]


class CommitBeforeSpeaking(BaseRequestMiddleware):
    async def __call__(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Any:
        if isinstance(method, GetUpdates):
            return await make_request(bot, method)
        session = current_session.get()
        owner = session is not None and session.info.get(OWNER_TASK) is _task()
        # A request of together(): its update's task committed the session and waits for it, so it is a reply.
        joined = not owner and session is not None and _TOGETHER.get() is session
        replying = owner or joined
        if owner and session is not None and session.in_transaction():
            await session.commit()
        still_open = open_transactions()
        if joined and session is not None and session.in_transaction():
            still_open.append(session.sync_session)  # only its owner commits it: something wrote meanwhile
        if still_open:
            problem = f"Telegram request {type(method).__name__} while a database transaction is open"
            if STRICT_OUTSIDE_UPDATES or (STRICT and replying):
                raise TransactionOpenDuringRequest(problem)
            log.warning(problem)
        if not replying:
            return await make_request(bot, method)
        return await _reply_once_more_on_transient(make_request, bot, method)


async def _reply_once_more_on_transient(
    make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
) -> Any:
    from bot.messenger import SendOutcome, failure_kind

    try:
        return await make_request(bot, method)
    except TelegramRetryAfter as exc:
        if exc.retry_after > MAX_REPLY_WAIT:
            raise
        log.info("a reply met a 429: waiting %s s and sending it once more", exc.retry_after)
        await asyncio.sleep(exc.retry_after)
    except Exception as exc:
        if failure_kind(exc) is not SendOutcome.RETRY:
            raise
        log.info("a reply failed (%s): sending it once more", type(exc).__name__)
        await asyncio.sleep(TRANSIENT_RETRY_DELAY)
    return await make_request(bot, method)


async def together(*requests: Awaitable[Any]) -> list[Any]:
    """Send several Telegram requests of the update being handled at once, and wait for all of them.

    For requests whose order Telegram does not show: a press's callback answer, the edit of the pressed message
    and the next question (a new message below it) reach the person after one round trip instead of three.
    Never for two new messages whose order matters. The update's session is committed first, once, by the
    update's own task (commit, then speak); each request then runs as a reply (a 429 or a transient failure is
    retried as usual). When one fails, the others still finish and the first failure is raised.
    """
    session = current_session.get()
    owner = session is not None and session.info.get(OWNER_TASK) is _task()
    if owner and session is not None and session.in_transaction():
        await session.commit()
    token = _TOGETHER.set(session if owner else None)
    try:  # gather's tasks are made here, so they inherit _TOGETHER
        results = await asyncio.gather(*(_awaited(r) for r in requests), return_exceptions=True)
    finally:
        _TOGETHER.reset(token)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


async def _awaited(request: Awaitable[Any]) -> Any:
    return await request  # aiogram's methods are awaitable but not coroutines (nor hashable, as gather wants)
