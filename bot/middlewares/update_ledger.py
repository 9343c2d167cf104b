"""Each update's changes are committed at most once, however often Telegram delivers it.

Telegram redelivers an update that got no 200: a webhook worker killed mid-update, a proxy time-out, a
restart in polling mode before the offset moved on. If the first delivery had committed (a check-in stored)
but died before answering, the second would store it again. So the transaction of an update that changed
anything also writes its ``update_id`` into ``processed_updates`` (with its first change, so in the same
commit, also when a handler commits early itself), and:

- a delivery of an update already recorded is skipped whole (logged, answered 200, nothing handled), except
  that the person is asked their current step's question again: the first delivery commits before its first
  request to Telegram (commit, then speak), so a worker killed after that commit may have sent only part of
  its answer, and a person left without the next question would be stuck;
- two deliveries handled at once (the first still running when the proxy gave up on it) race on the primary
  key: the second's insert waits for the first's commit and fails, its transaction is rolled back
  (``DuplicateUpdate``, logged, not an error for the person).

An update that changed nothing writes nothing here (its redelivery is harmless: it only answers again), so
reading a menu costs no write. Rows older than a week are pruned by the ``processed_updates`` scan task.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from sqlalchemy import delete, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from db.models import ProcessedUpdate
from services.clock import Clock

log = logging.getLogger("uep.updates")

_WROTE = "uep_update_wrote"
_PENDING = "uep_update_pending"  # (update id, time) to record with the update's first change
_RECORDED = "uep_update_recorded"
KEEP = timedelta(days=7)


class DuplicateUpdate(Exception):
    """This update's changes were committed by another delivery of it; this one is rolled back."""


def watch_writes(session_factory: async_sessionmaker[AsyncSession]) -> None:
    """Mark every session of the factory that flushes a change or runs a bulk UPDATE/DELETE/INSERT."""
    cls = session_factory.kw.get("sync_session_class", Session)
    if getattr(cls, "_uep_watch_writes", False):
        return

    def after_flush(session: Session, _flush: UOWTransaction) -> None:
        session.info[_WROTE] = True

    def do_orm_execute(state: ORMExecuteState) -> None:
        if state.is_update or state.is_delete or state.is_insert:
            state.session.info[_WROTE] = True

    def before_flush(session: Session, _flush: Any, _instances: Any) -> None:
        # The update's id goes with its first change, so it also commits with a handler's own early commit.
        pending = session.info.pop(_PENDING, None)
        if pending is not None and (session.new or session.dirty or session.deleted):
            session.add(ProcessedUpdate(update_id=pending[0], handled_at=pending[1]))
            session.info[_RECORDED] = True

    def after_end(session: Session, *_args: Any) -> None:
        session.info.pop(_WROTE, None)

    event.listen(cls, "before_flush", before_flush)
    event.listen(cls, "after_flush", after_flush)
    event.listen(cls, "do_orm_execute", do_orm_execute)
    event.listen(cls, "after_commit", after_end)
    event.listen(cls, "after_soft_rollback", after_end)
    cls._uep_watch_writes = True  # type: ignore[attr-defined]


class UpdateLedgerMiddleware(BaseMiddleware):
    """Inside ``DbSessionMiddleware`` (it needs the update's session, and commits with it)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        session: AsyncSession = data["session"]
        if await session.get(ProcessedUpdate, event.update_id) is not None:
            log.info("update %s was handled before (a redelivery): skipped", event.update_id)
            await _ask_again(event, data)
            return None
        session.info[_PENDING] = (event.update_id, self.clock.now())
        try:
            result = await handler(event, data)
            if not session.info.get(_RECORDED) and session.info.get(_WROTE):
                # Changes made only by bulk statements (no flush of objects): record the id now.
                session.info.pop(_PENDING, None)
                session.add(ProcessedUpdate(update_id=event.update_id, handled_at=self.clock.now()))
            await session.flush()
        except IntegrityError as exc:
            if "processed_updates" not in str(exc.statement):
                raise
            log.info("update %s was handled at the same time by another delivery: this one rolled back",
                     event.update_id)
            raise DuplicateUpdate(event.update_id) from None
        finally:
            session.info.pop(_PENDING, None)
            session.info.pop(_RECORDED, None)
        return result


async def _ask_again(update: Update, data: dict[str, Any]) -> None:
    """The person's current question once more (nothing is stored; the answer they gave is kept)."""
    state = data.get("state")
    message = update.message or (update.callback_query.message if update.callback_query else None)
    if state is None or message is None or not hasattr(message, "answer"):
        return
    from conversations.questions import ask_again

    try:
        await ask_again(message, state, {**data, "state": state})  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 (a best effort: the person can always press again)
        log.warning("update %s: the question could not be asked again", update.update_id, exc_info=True)


async def prune(session: AsyncSession, now: Any) -> int:
    result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.handled_at < now - KEEP))
    return result.rowcount or 0
