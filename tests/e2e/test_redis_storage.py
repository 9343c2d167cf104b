"""fsm.storage = "redis": conversation state in Redis, with Redis event isolation for several processes."""

from __future__ import annotations

import os

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.context import AppContext
from sandbox.runner import SandboxRun

# UEP_TEST_REDIS_URL lets parallel runs on one machine use separate Redis databases.
REDIS_URL = os.environ.get("UEP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
async def redis_ctx(ctx: AppContext) -> AppContext:
    redis = pytest.importorskip("redis.asyncio")
    client = redis.from_url(REDIS_URL)
    try:
        await client.flushdb()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    finally:
        await client.aclose()
    ctx.settings.fsm.storage = "redis"
    ctx.settings.fsm.redis_url = REDIS_URL
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
