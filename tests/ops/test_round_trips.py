"""#23 §5: the statements one update costs with several processes (state in the database, no cache, Redis
isolation). Profiled in ``bench/multiworker_burst.py``, a check-in tap was 13 round trips to PostgreSQL where 6
do: the state read on a session of its own (aiogram reads it before any of our middlewares), a pre-ping of
three statements on every pool checkout, and the state row written once per ``update_data``/``set_state``."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import event, text

from bot.config import Settings
from bot.context import AppContext
from db.fsm_storage import DatabaseStorage
from db.session import create_engine, current_session
from sandbox.runner import SandboxRun
from tests import factories
from tests.conftest import reachable_redis, using_postgres

KEY = StorageKey(bot_id=1, chat_id=42, user_id=42)
TG = 944_001


class Statements:
    """Every statement the engine sends, and every transaction it begins."""

    def __init__(self, ctx: AppContext) -> None:
        self.engine = ctx.engine.sync_engine
        self.sql: list[str] = []
        self.begins = 0

    def _statement(self, _conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        self.sql.append(" ".join(statement.split()))

    def _begin(self, _conn) -> None:  # type: ignore[no-untyped-def]
        self.begins += 1

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "begin", self._begin)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "begin", self._begin)

    def touching(self, table: str, verb: str) -> list[str]:
        return [s for s in self.sql if s.upper().startswith(verb) and table in s]


async def test_an_update_writes_its_state_row_once_at_commit_and_not_at_all_when_it_rolls_back(
    ctx: AppContext,
) -> None:
    storage = DatabaseStorage(ctx.session_factory, clock=ctx.clock, cache_size=0)  # as with several processes
    with Statements(ctx) as seen:
        async with ctx.session_factory() as session:  # one check-in step: update_data, then set_state
            token = current_session.set(session)
            try:
                await storage.update_data(KEY, {"status": "running"})
                await storage.set_state(KEY, "Checkin:days")
                await storage.update_data(KEY, {"days_open": 6})
                assert seen.touching("fsm_states", "INSERT") == []  # nothing before the commit
                await session.commit()
            finally:
                current_session.reset(token)
        assert len(seen.touching("fsm_states", "INSERT")) == 1
        async with ctx.session_factory() as session:  # an update that fails: its state is never written
            token = current_session.set(session)
            try:
                await storage.set_state(KEY, "Checkin:sales")
                await session.rollback()
            finally:
                current_session.reset(token)
        async with ctx.session_factory() as session:
            token = current_session.set(session)
            try:
                await session.commit()
            finally:
                current_session.reset(token)
        assert len(seen.touching("fsm_states", "INSERT")) == 1
    assert await storage.get_state(KEY) == "Checkin:days"
    assert await storage.get_data(KEY) == {"status": "running", "days_open": 6}
    async with ctx.session_factory() as session:  # clearing the conversation deletes the row, once
        token = current_session.set(session)
        try:
            await storage.set_state(KEY, None)
            await storage.set_data(KEY, {})
            await session.commit()
        finally:
            current_session.reset(token)
    assert await storage.get_state(KEY) is None
    async with ctx.session_factory() as s:
        assert (await s.execute(text("SELECT count(*) FROM fsm_states"))).scalar() == 0
    await storage.set_state(KEY, "Checkin:photos")  # outside an update (a restart test, a CLI): written at once
    async with ctx.session_factory() as s:
        assert (await s.execute(text("SELECT state FROM fsm_states"))).scalar() == "Checkin:photos"


@pytest.fixture
async def several_processes(settings: Settings) -> Settings:
    settings.fsm.redis_url = await reachable_redis(empty=True)
    settings.fsm.events_isolation = "redis"  # the state stays in the database, read fresh by every update
    settings.throttling.rate = 100
    return settings


async def test_an_update_reads_its_state_in_its_own_transaction(
    several_processes: Settings, ctx: AppContext, sandbox: SandboxRun
) -> None:
    async with ctx.session_factory.begin() as s:
        kec = await factories.region(s)
        siti = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=kec, name="Siti")
        await factories.link(s, ctx.clock, TG, recipient=siti)
    person = sandbox.person(TG, "Siti")
    await person.command("start")
    await person.wait_for("Apa yang ingin Anda lakukan?")
    await person.wait_idle()  # the command-menu sync and the last commit of /start are done
    with Statements(ctx) as seen:
        await person.send("halo")  # free text: kept, and the person is asked what it is for
        await person.wait_for("Mau diapakan", timeout=10)
        await person.wait_idle()
    reads = seen.touching("fsm_states", "SELECT")
    assert len(reads) == 1, seen.sql
    assert seen.begins == 1, seen.sql  # aiogram's own read took a session (and a transaction) of its own


@pytest.mark.skipif(not using_postgres(), reason="a pooled connection the server closes: PostgreSQL")
async def test_a_pooled_connection_the_server_closed_is_replaced_without_a_ping(settings: Settings) -> None:
    engine = create_engine(settings.database.url, pool_size=1, max_overflow=0)
    other = create_engine(settings.database.url)
    pings: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute",
                 lambda _c, _k, statement, *_a: pings.append(statement))
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()
        async with other.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(0.5)  # the server hangs up; the pooled connection's socket reads the end of it
        pings.clear()
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar() != pid
        assert pings == ["SELECT pg_backend_pid()"]  # no pre-ping statement was sent
    finally:
        await engine.dispose()
        await other.dispose()

