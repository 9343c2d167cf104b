"""#23 §2: the identity cache stays on with several bot processes, kept right by Redis pub/sub. Two "processes"
here are two application contexts (own engine, own session class, own cache) on one database and one Redis."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.context import AppContext
from db.account_cache import AccountCache
from db.account_cache_bus import AccountCacheBus
from db.models import Recipient, TelegramAccount
from services.identity import get_account
from tests import factories

REDIS_URL = os.environ.get("UEP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
USER = 880001


class Process:
    def __init__(self, ctx: AppContext, redis, channel: str) -> None:  # type: ignore[no-untyped-def]
        self.ctx = ctx
        self.cache = AccountCache(60)
        self.cache.install(ctx.session_factory)
        self.bus = AccountCacheBus(self.cache, redis, channel=channel)

    async def read_and_offer(self) -> None:
        async with self.ctx.session_factory() as s:
            epoch = self.cache.epoch
            account = await get_account(s, USER)
            assert account is not None
            self.cache.offer(s, account, epoch)
            await s.commit()


@pytest.fixture
async def two_processes(ctx: AppContext) -> AsyncIterator[tuple[Process, Process]]:
    redis_mod = pytest.importorskip("redis.asyncio")
    redis = redis_mod.from_url(REDIS_URL)
    try:
        await redis.ping()
    except Exception as exc:  # noqa: BLE001
        await redis.aclose()
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    other_ctx = AppContext.build(ctx.settings, clock=ctx.clock)
    channel = f"test:account-cache:{uuid.uuid4().hex}"
    a, b = Process(ctx, redis, channel), Process(other_ctx, redis, channel)
    await a.bus.start()
    await b.bus.start()
    try:
        yield a, b
    finally:
        for p in (a, b):
            await p.bus.stop()
            p.cache.uninstall()
        await other_ctx.close()
        await redis.aclose()


async def _heard(sender: Process, receiver: Process) -> None:
    seen = receiver.bus.received
    await sender.bus.flush()
    for _ in range(250):
        if receiver.bus.received > seen:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the other process never heard of the change")


async def _eventually_gone(cache: AccountCache, user_id: int, timeout: float = 5.0) -> bool:
    for _ in range(int(timeout / 0.02)):
        if cache.get(user_id) is None:
            return True
        await asyncio.sleep(0.02)
    return False


async def test_a_change_in_one_process_drops_the_entry_in_the_other(two_processes: tuple[Process, Process]) -> None:
    a, b = two_processes
    async with a.ctx.session_factory.begin() as s:
        r = await factories.recipient(s, a.ctx.cipher, a.ctx.clock, a.ctx.settings)
        await factories.link(s, a.ctx.clock, USER, recipient=r)
    await _heard(a, b)  # B hears of the new account first: a read racing with that news is never cached
    await b.read_and_offer()
    assert b.cache.get(USER) is not None  # process B now answers "who is this" without SQL

    # Process A switches the person's language (an own column: A keeps its own copy right by itself).
    async with a.ctx.session_factory.begin() as s:
        account = await s.scalar(select(TelegramAccount).where(TelegramAccount.telegram_user_id == USER))
        account.language = "en"
    await a.bus.flush()  # what an update does before it ends
    assert await _eventually_gone(b.cache, USER), "process B still serves the old language"
    await b.read_and_offer()
    assert b.cache.get(USER).language == "en"

    # A change to the linked recipient (e.g. deactivated by a caseworker's action in process A).
    async with a.ctx.session_factory.begin() as s:
        recipient = await s.get(Recipient, r.id)
        recipient.name = "Nama Baru"
    assert await _eventually_gone(b.cache, USER)  # published by the bus's own task, no flush needed
    assert b.bus.received >= 2 and a.bus.received == 0  # nobody hears their own drops


async def test_without_the_subscription_the_cache_serves_nothing(two_processes: tuple[Process, Process]) -> None:
    a, b = two_processes
    async with a.ctx.session_factory.begin() as s:
        r = await factories.recipient(s, a.ctx.cipher, a.ctx.clock, a.ctx.settings)
        await factories.link(s, a.ctx.clock, USER, recipient=r)
    await _heard(a, b)  # B hears of the new account first: a read racing with that news is never cached
    await b.read_and_offer()
    assert b.cache.get(USER) is not None
    await b.bus.stop()
    b.cache.suspended = True  # what the listener does when Redis goes away
    assert b.cache.get(USER) is None
