"""fsm.storage = "redis": conversation state in Redis, with Redis event isolation for several processes."""

from __future__ import annotations

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.context import AppContext
from sandbox.runner import SandboxRun
from tests.conftest import reachable_redis


@pytest.fixture
async def redis_ctx(ctx: AppContext) -> AppContext:
    ctx.settings.fsm.storage = "redis"
    ctx.settings.fsm.redis_url = await reachable_redis(empty=True)
    return ctx


async def test_state_lives_in_redis_and_survives_a_restart(redis_ctx: AppContext) -> None:
    from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

    run = await SandboxRun.start(redis_ctx)
    try:
        assert isinstance(run.app.dp.storage, RedisStorage)
        assert isinstance(run.app.dp.fsm.events_isolation, RedisEventIsolation)
        person = run.person(910001, "R")
        bot_id = int(redis_ctx.settings.telegram.token.split(":")[0])
        key = StorageKey(bot_id=bot_id, chat_id=910001, user_id=910001)
        await run.app.dp.storage.set_state(key, "SomeFlow:waiting")
        await run.restart_bot()
        assert await run.app.dp.storage.get_state(key) == "SomeFlow:waiting"
        await person.send("hello")
        await person.wait_for("Jawab dengan tombol")  # the fallback for a state it does not know
        await person.command("batal")
        await person.wait_for("Dibatalkan")
        assert await run.app.dp.storage.get_state(key) is None
        await run.settle()
        run.emulator.assert_no_violations()
    finally:
        await run.stop()
