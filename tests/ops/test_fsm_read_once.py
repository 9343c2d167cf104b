"""Several processes keep the conversation state in the database with no cache (another process may have moved
it on between two updates), but within one update it is read once: the person's lock keeps their other
updates out until this one ends. aiogram reads the state for the filters, and each update_data, set_state and
get_data of a handler read it again: five SELECTs for one check-in press (profiled in
``bench/multiworker_burst.py``)."""

from __future__ import annotations

from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import event

from bot.context import AppContext
from db.fsm_storage import DatabaseStorage
from db.session import current_session

KEY = StorageKey(bot_id=1, chat_id=42, user_id=42)


async def test_one_update_reads_the_state_once_and_sees_its_own_writes(ctx: AppContext) -> None:
    storage = DatabaseStorage(ctx.session_factory, clock=ctx.clock, cache_size=0)  # as with several processes
    reads: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "fsm_states" in statement:
            reads.append(statement)

    event.listen(ctx.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with ctx.session_factory() as session:  # one update
            token = current_session.set(session)
            try:
                assert await storage.get_state(KEY) is None
                await storage.update_data(KEY, {"status": "running"})
                await storage.set_state(KEY, "Checkin:days")
                await session.commit()  # commit, then speak: the update goes on after its reply
                assert await storage.get_data(KEY) == {"status": "running"}
                await storage.update_data(KEY, {"days_open": 6})
                assert await storage.get_state(KEY) == "Checkin:days"
                await session.commit()
            finally:
                current_session.reset(token)
        assert len(reads) == 1
        async with ctx.session_factory() as session:  # the next update, perhaps in another process: read fresh
            token = current_session.set(session)
            try:
                assert await storage.get_data(KEY) == {"status": "running", "days_open": 6}
                assert await storage.get_state(KEY) == "Checkin:days"
            finally:
                current_session.reset(token)
        assert len(reads) == 2
    finally:
        event.remove(ctx.engine.sync_engine, "before_cursor_execute", count)
