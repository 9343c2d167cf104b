"""The one outgoing pacer: priority order, the per-chat limit, the 429 pause, replies counted, and the bucket
shared through Redis by two pacers (two processes). Times are lower bounds of waits the pacer must make, with
generous hang guards; speed is measured by bench/outgoing.py."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from aiogram.exceptions import TelegramRetryAfter

from bot.context import AppContext
from bot.factory import create_bot, create_i18n
from bot.messenger import Messenger
from db.models import TelegramAccount
from sandbox.emulator import TelegramEmulator
from services.outgoing.pacer import Pacer, RedisBucket, update_scope
from services.outgoing.priority import Priority
from tests.conftest import TEST_REDIS_URL as REDIS_URL
from tests.conftest import reachable_redis

TOKEN = "5000000011:AAEpacerTestToken000000000000000000"


async def _grants(pacer: Pacer, requests: list[tuple[int, Priority]]) -> list[tuple[int, float]]:
    """Ask for every (chat, priority) at once; return (chat, seconds after the start) in the order granted."""
    order: list[tuple[int, float]] = []
    t0 = time.monotonic()

    async def one(chat: int, priority: Priority) -> None:
        await pacer.acquire(chat, priority)
        order.append((chat, time.monotonic() - t0))

    await asyncio.wait_for(asyncio.gather(*(one(c, p) for c, p in requests)), 30)
    return order


async def test_most_urgent_first_and_oldest_first_within_a_priority() -> None:
    pacer = Pacer(rate=20, per_chat_interval=0)
    try:
        await pacer.acquire(0, Priority.BULK)  # empty the one-token bucket: from now on one at a time
        requests = [(11, Priority.BULK), (12, Priority.BULK), (21, Priority.ROUTINE), (31, Priority.CASE),
                    (22, Priority.ROUTINE), (41, Priority.URGENT), (13, Priority.BULK), (32, Priority.CASE)]
        order = [chat for chat, _t in await _grants(pacer, requests)]
    finally:
        await pacer.close()
    assert order == [41, 31, 32, 21, 22, 11, 12, 13]


async def test_one_message_per_chat_interval_and_other_chats_go_on() -> None:
    pacer = Pacer(rate=100, per_chat_interval=0.4)
    try:
        order = await _grants(pacer, [(1, Priority.CASE), (1, Priority.CASE), (1, Priority.CASE),
                                      (2, Priority.BULK), (3, Priority.BULK)])
    finally:
        await pacer.close()
    same = [t for chat, t in order if chat == 1]
    others = [t for chat, t in order if chat != 1]
    assert len(same) == 3
    assert same[1] - same[0] >= 0.39 and same[2] - same[1] >= 0.39
    # The chat that must wait does not hold back the others, although they are less urgent.
    assert max(others) < same[1]


async def test_the_global_rate_holds() -> None:
    pacer = Pacer(rate=20, per_chat_interval=0)
    try:
        order = await _grants(pacer, [(i, Priority.ROUTINE) for i in range(41)])
    finally:
        await pacer.close()
    # 41 messages at 20/s; the bucket holds 0.2 s of sending (4): the last no sooner than 37/20 s after the first,
    # and no second ever carries more than 20 + 4.
    times = [t for _c, t in order]
    assert times[-1] - times[0] >= 1.8
    assert max(sum(1 for u in times if t <= u < t + 1.0) for t in times) <= 24


async def test_a_429_pauses_everything_for_its_retry_after() -> None:
    pacer = Pacer(rate=100, per_chat_interval=0)
    try:
        await pacer.acquire(1, Priority.BULK)
        pacer.backoff(0.6)
        assert await pacer.paused_for() > 0.4
        order = await _grants(pacer, [(2, Priority.URGENT), (3, Priority.BULK)])
    finally:
        await pacer.close()
    assert min(t for _c, t in order) >= 0.55, "not even an urgent alert goes during the pause"


async def test_replies_are_not_delayed_but_count_against_the_budget() -> None:
    pacer = Pacer(rate=10, per_chat_interval=1.0)
    try:
        t0 = time.monotonic()
        for chat in range(100, 110):  # ten replies: never wait
            pacer.record(chat)
        assert time.monotonic() - t0 < 0.5
        waited = await _grants(pacer, [(1, Priority.URGENT)])
        # The bucket is a second in debt (10 replies at 10/s, minus its one token): the next paced message waits.
        assert waited[0][1] >= 0.8
    finally:
        await pacer.close()


async def test_a_reply_starts_its_chat_interval() -> None:
    pacer = Pacer(rate=1000, per_chat_interval=0.6)
    try:
        pacer.record(7)
        order = await _grants(pacer, [(7, Priority.URGENT), (8, Priority.BULK)])
    finally:
        await pacer.close()
    assert [c for c, _t in order] == [8, 7]
    assert dict(order)[7] >= 0.55


async def test_messenger_paces_outside_an_update_and_not_inside(ctx: AppContext) -> None:
    """In the emulator's strict flood mode, 60 messages through the Messenger provoke no 429; inside an update
    (a reply) the Messenger does not wait, and the message is counted."""
    ctx.settings.telegram.global_rate = 20
    ctx.settings.telegram.per_chat_interval = 1.0
    async with TelegramEmulator(clock=ctx.clock.now) as emu:
        emu.add_bot(TOKEN, "pacer_bot")
        # A little looser than the pacer (as Telegram's own burst allowance is), so the jitter of a loaded machine
        # between the pacer's grant and the emulator's clock is not a 429; without the pacer these 60 concurrent
        # sends would be refused by the dozen.
        emu.set_flood(True, global_rate=25, global_burst=5, per_chat_rate=1, per_chat_burst=2)
        accounts = []
        for i in range(30):
            emu.person(960000 + i, f"P{i}", started=True)
            accounts.append(TelegramAccount(id=i + 1, telegram_user_id=960000 + i, chat_id=960000 + i, first_name="P"))
        ctx.settings.telegram.api_base = emu.base_url
        bot = create_bot(ctx, token=TOKEN)
        messenger = Messenger(bot, create_i18n(ctx), ctx.clock, pacer=ctx.pacer)
        try:
            results = await asyncio.wait_for(asyncio.gather(*(
                messenger.send(a, f"pesan {n}", priority=Priority.ROUTINE) for n in range(2) for a in accounts
            )), 60)
            assert emu.stats["flood_429"] == 0
            assert all(r.ok for r in results)
            replies_before = ctx.pacer.stats.replies
            ctx.pacer.backoff(5)  # paced sends would now wait five seconds; a reply does not
            t0 = time.monotonic()
            with update_scope():
                emu.set_flood(False)
                reply = await asyncio.wait_for(messenger.send(accounts[0], "balasan"), 10)
            assert reply.ok and time.monotonic() - t0 < 4
            assert ctx.pacer.stats.replies == replies_before + 1
        finally:
            await bot.session.close()


async def test_a_429_seen_by_the_bot_pauses_the_pacer(ctx: AppContext) -> None:
    async with TelegramEmulator(clock=ctx.clock.now) as emu:
        emu.add_bot(TOKEN, "pacer_bot")
        emu.person(970001, "A", started=True)
        ctx.settings.telegram.api_base = emu.base_url
        bot = create_bot(ctx, token=TOKEN)
        try:
            emu.inject_fault("429", method="sendMessage", chat_id=970001, times=1, retry_after=2)
            with pytest.raises(TelegramRetryAfter):
                await bot.send_message(970001, "balasan")  # a reply: not paced, but its 429 stops everyone
            assert await ctx.pacer.paused_for() > 1.5
        finally:
            await bot.session.close()


# ------------------------------------------------------------------------------------------------- Redis
@pytest.fixture
async def redis_prefix() -> str:
    await reachable_redis()  # keys of its own (the prefix): nothing to empty
    return f"uep:test:pacer:{uuid.uuid4().hex[:8]}"


def _two(prefix: str, rate: float, per_chat: float) -> tuple[Pacer, Pacer]:
    return (Pacer(rate, per_chat, bucket=RedisBucket(REDIS_URL, prefix=prefix)),
            Pacer(rate, per_chat, bucket=RedisBucket(REDIS_URL, prefix=prefix)))


async def test_two_pacers_share_one_redis_bucket(redis_prefix: str) -> None:
    a, b = _two(redis_prefix, rate=20, per_chat=0)
    try:
        t0 = time.monotonic()
        both = await asyncio.wait_for(asyncio.gather(
            _grants(a, [(i, Priority.BULK) for i in range(30)]),
            _grants(b, [(100 + i, Priority.BULK) for i in range(30)]),
        ), 30)
        elapsed = time.monotonic() - t0
    finally:
        await a.close()
        await b.close()
    assert all(len(g) == 30 for g in both)
    # 60 messages at 20/s over both processes (4 tokens of burst): about 3 s, where each alone would take 1.5 s.
    assert elapsed >= 2.6
    assert a.stats.granted[Priority.BULK] > 0 and b.stats.granted[Priority.BULK] > 0


async def test_redis_shares_the_per_chat_limit_and_the_pause(redis_prefix: str) -> None:
    a, b = _two(redis_prefix, rate=100, per_chat=0.5)
    try:
        await a.acquire(1, Priority.CASE)
        t0 = time.monotonic()
        await asyncio.wait_for(b.acquire(1, Priority.CASE), 10)  # the other process wrote to this chat
        assert time.monotonic() - t0 >= 0.4
        a.backoff(0.8)  # a 429 seen by one process
        await asyncio.sleep(0.1)  # (the pause reaches Redis in the background)
        t1 = time.monotonic()
        await asyncio.wait_for(b.acquire(2, Priority.URGENT), 10)
        assert time.monotonic() - t1 >= 0.5, "the other process pauses too"
    finally:
        await a.close()
        await b.close()


async def test_redis_holds_back_less_urgent_messages_of_other_processes(redis_prefix: str) -> None:
    bucket = RedisBucket(REDIS_URL, prefix=redis_prefix)
    try:
        # Empty the bucket: the urgent message of one process is refused for the rate and marks its demand...
        while (await bucket.take(None, Priority.BULK, rate=5, per_chat=0)).wait == 0:
            pass
        urgent = await bucket.take(None, Priority.URGENT, rate=5, per_chat=0)
        assert urgent.reason == "rate"
        await asyncio.sleep(0.21)  # one token refilled
        # ...so another process's broadcast does not take the token that came back; the urgent message does.
        bulk = await bucket.take(None, Priority.BULK, rate=5, per_chat=0)
        assert bulk.wait > 0 and bulk.reason == "priority"
        assert (await bucket.take(None, Priority.URGENT, rate=5, per_chat=0)).wait == 0
    finally:
        await bucket.close()
