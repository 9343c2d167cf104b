"""Delivery through the emulator: exactly once per person, Telegram's limits kept, errors handled, resumable."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.context import AppContext
from db.enums import BroadcastStatus, DeliveryStatus
from db.models import Broadcast, BroadcastDelivery, Recipient, TelegramAccount
from sandbox.runner import SandboxRun
from services.broadcast import deliveries as dl
from services.broadcast import sender as sender_mod
from services.broadcast import worker as worker_mod
from services.broadcast.audience import Audience
from services.broadcast.sender import DeliveryEngine
from tests.broadcast.conftest import STAFF_ID, linked_recipients, received


async def create(ctx: AppContext, text: str = "Pelatihan hari Senin", *, progress: bool = False,
                 text_en: str | None = None, audience: Audience | None = None) -> int:
    async with ctx.session_factory.begin() as s:
        b = await dl.create_broadcast(
            s, ctx.clock, actor="Budi (caseworker)", actor_account_id=None, text_id=text, text_en=text_en,
            photo_file_id=None, audience=audience or Audience(), progress_chat_id=STAFF_ID if progress else None,
        )
        bid = b.id
    worker_mod.wake()
    return bid


async def wait_done(ctx: AppContext, bid: int, timeout: float = 20.0) -> dl.Counts:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with ctx.session_factory() as s:
            status = await s.scalar(select(Broadcast.status).where(Broadcast.id == bid))
            counts = await dl.counts(s, bid)
        if status == BroadcastStatus.DONE:
            return counts
        if loop.time() > deadline:
            raise TimeoutError(f"broadcast {bid} not done: {status} {counts}")
        await asyncio.sleep(0.05)


def people(sandbox: SandboxRun, ids: list[int]) -> None:
    for i in ids:
        sandbox.person(i, f"P{i}")


async def test_every_linked_person_gets_it_once_in_strict_flood_mode(sandbox: SandboxRun, fast: AppContext) -> None:
    ids = await linked_recipients(fast, 40)
    people(sandbox, ids)
    sandbox.emulator.set_flood(True, global_rate=30, global_burst=30)
    bid = await create(fast)
    counts = await wait_done(fast, bid)
    assert counts == dl.Counts(sent=40)
    assert set(received(sandbox.emulator, ids, "Pelatihan").values()) == {1}
    assert sandbox.emulator.stats["flood_429"] == 0


def engine_of(sandbox: SandboxRun) -> DeliveryEngine:
    engines = worker_mod.running_engines()
    assert len(engines) == 1
    return engines[0]


async def test_429_pauses_everything_then_goes_on(sandbox: SandboxRun, fast: AppContext) -> None:
    ids = await linked_recipients(fast, 12)
    people(sandbox, ids)
    sandbox.emulator.inject_fault("429", method="sendMessage", chat_id=ids[3], times=1, retry_after=1)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    bid = await create(fast)
    counts = await wait_done(fast, bid)
    assert counts == dl.Counts(sent=12)
    assert loop.time() - t0 >= 1.0, "the retry_after pause was kept"
    assert set(received(sandbox.emulator, ids, "Pelatihan").values()) == {1}
    assert engine_of(sandbox).stats.rate_limited == 1


async def test_403_marks_unreachable_and_is_not_retried(sandbox: SandboxRun, fast: AppContext) -> None:
    ids = await linked_recipients(fast, 5)
    people(sandbox, ids)
    sandbox.person(ids[1]).block()
    sandbox.person(ids[2]).deactivate()
    bid = await create(fast)
    counts = await wait_done(fast, bid)
    assert counts == dl.Counts(sent=3, blocked=2)
    async with fast.session_factory() as s:
        rows = (await s.execute(
            select(BroadcastDelivery.chat_id, BroadcastDelivery.attempts, BroadcastDelivery.error,
                   TelegramAccount.blocked_at, Recipient.unreachable_since)
            .join(TelegramAccount, TelegramAccount.id == BroadcastDelivery.telegram_account_id)
            .join(Recipient, Recipient.id == TelegramAccount.recipient_id)
            .where(BroadcastDelivery.status == DeliveryStatus.BLOCKED)
        )).all()
    assert {r.chat_id for r in rows} == {ids[1], ids[2]}
    assert all(r.attempts == 1 and r.blocked_at is not None and r.unreachable_since is not None for r in rows)
    assert any("blocked" in r.error for r in rows) and any("deactivated" in r.error for r in rows)
    assert sandbox.emulator.stats["by_method"]["sendMessage"] == 5, "no retry after a 403"


async def test_5xx_and_timeouts_are_retried_then_failed(
    sandbox: SandboxRun, fast: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender_mod, "BACKOFF_BASE", 0.0)
    monkeypatch.setattr(sender_mod, "SEND_TIMEOUT", 0.3)
    await sandbox.restart_bot()  # a worker with the short timeout
    ids = await linked_recipients(fast, 6)
    people(sandbox, ids)
    emu = sandbox.emulator
    emu.inject_fault("5xx", method="sendMessage", chat_id=ids[0], times=2, status=502)
    emu.inject_fault("hang", method="sendMessage", chat_id=ids[1], times=1, hang_seconds=1)
    emu.inject_fault("5xx", method="sendMessage", chat_id=ids[2], times=None, status=500)
    bid = await create(fast)
    counts = await wait_done(fast, bid)
    emu.clear_faults()
    assert counts == dl.Counts(sent=5, failed=1)
    got = received(emu, ids, "Pelatihan")
    assert got[ids[2]] == 0 and all(got[i] == 1 for i in ids if i != ids[2])
    async with fast.session_factory() as s:
        failed = (await s.execute(select(BroadcastDelivery).where(BroadcastDelivery.chat_id == ids[2]))).scalar_one()
        retried = (await s.execute(select(BroadcastDelivery).where(BroadcastDelivery.chat_id == ids[0]))).scalar_one()
    assert failed.status == DeliveryStatus.FAILED and failed.attempts == fast.settings.broadcast.max_attempts
    assert "Internal Server Error" in failed.error
    assert retried.status == DeliveryStatus.SENT and retried.attempts == 3


async def test_an_html_502_page_is_retried_not_left_pending(
    sandbox: SandboxRun, fast: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #24, failure 8: nginx's HTML 502 page raises aiogram's ClientDecodeError (not a TelegramAPIError);
    the delivery stayed ``pending`` for good. It is transient: retried, then sent."""
    monkeypatch.setattr(sender_mod, "BACKOFF_BASE", 0.0)
    ids = await linked_recipients(fast, 3)
    people(sandbox, ids)
    sandbox.emulator.inject_fault("html", method="sendMessage", chat_id=ids[1], times=2, status=502)
    bid = await create(fast)
    counts = await wait_done(fast, bid, timeout=60)
    assert counts == dl.Counts(sent=3)
    assert set(received(sandbox.emulator, ids, "Pelatihan").values()) == {1}
    async with fast.session_factory() as s:
        d = (await s.execute(select(BroadcastDelivery).where(BroadcastDelivery.chat_id == ids[1]))).scalar_one()
    assert d.status == DeliveryStatus.SENT and d.attempts == 3


async def test_backoff_grows_and_waits_for_its_time(sandbox: SandboxRun, fast: AppContext) -> None:
    ids = await linked_recipients(fast, 2)
    people(sandbox, ids)
    sandbox.emulator.inject_fault("5xx", method="sendMessage", chat_id=ids[0], times=1, status=503)
    bid = await create(fast)
    async with fast.session_factory() as s:
        for _ in range(100):
            d = (await s.execute(
                select(BroadcastDelivery).where(BroadcastDelivery.chat_id == ids[0])
                .execution_options(populate_existing=True)
            )).scalar_one()
            if d.attempts == 1:
                break
            await asyncio.sleep(0.05)
    assert d.status == DeliveryStatus.PENDING and d.error and "Service Unavailable" in d.error
    assert d.next_attempt_at == fast.clock.now() + timedelta(seconds=sender_mod.BACKOFF_BASE)
    await asyncio.sleep(0.3)
    assert received(sandbox.emulator, ids, "Pelatihan")[ids[0]] == 0, "not before its time"
    fast.clock.advance(timedelta(seconds=sender_mod.BACKOFF_BASE))  # type: ignore[attr-defined]
    worker_mod.wake()
    assert await wait_done(fast, bid) == dl.Counts(sent=2)


async def _wait_sent(ctx: AppContext, bid: int, at_least: int) -> None:
    for _ in range(400):
        async with ctx.session_factory() as s:
            if (await dl.counts(s, bid)).sent >= at_least:
                return
        await asyncio.sleep(0.02)
    raise TimeoutError


async def test_stop_mid_send_and_resume_sends_each_exactly_once(sandbox: SandboxRun, fast: AppContext) -> None:
    fast.settings.telegram.global_rate = 20
    ids = await linked_recipients(fast, 40)
    people(sandbox, ids)
    bid = await create(fast)
    await _wait_sent(fast, bid, 8)
    await sandbox.stop_bot()  # the worker task is cancelled in the middle of sending
    async with fast.session_factory() as s:
        mid = await dl.counts(s, bid)
        claimed = await s.scalar(select(func.count()).select_from(BroadcastDelivery)
                                 .where(BroadcastDelivery.claimed_until.is_not(None)))
    assert 0 < mid.sent < 40 and mid.pending > 0
    assert claimed == 0, "a stop gives unsent claims back"
    assert sum(received(sandbox.emulator, ids, "Pelatihan").values()) == mid.sent, "every sent message recorded"
    await sandbox.restart_bot()
    assert await wait_done(fast, bid) == dl.Counts(sent=40)
    assert set(received(sandbox.emulator, ids, "Pelatihan").values()) == {1}


async def test_crash_mid_send_loses_nobody_and_repeats_at_most_the_crash_window(
    sandbox: SandboxRun, fast: AppContext
) -> None:
    fast.settings.telegram.global_rate = 20
    ids = await linked_recipients(fast, 40)
    people(sandbox, ids)
    bid = await create(fast)
    await _wait_sent(fast, bid, 8)
    engine = engine_of(sandbox)
    engine.crash_on_cancel = True  # like kill -9: no flush, no release, requests in flight abandoned
    window = engine.flush_every + engine.max_inflight
    await sandbox.stop_bot()
    await sandbox.restart_bot()
    await asyncio.sleep(0.3)
    async with fast.session_factory() as s:
        assert (await dl.counts(s, bid)).pending > 0, "the dead worker's claims wait for their lease"
    fast.clock.advance(timedelta(seconds=sender_mod.LEASE + 1))  # type: ignore[attr-defined]
    worker_mod.wake()
    assert await wait_done(fast, bid) == dl.Counts(sent=40)
    got = received(sandbox.emulator, ids, "Pelatihan")
    assert min(got.values()) == 1, "nobody lost"
    assert sum(got.values()) - 40 <= window


async def test_language_versions(sandbox: SandboxRun, fast: AppContext) -> None:
    en = await linked_recipients(fast, 3, start=810000, language="en")
    idn = await linked_recipients(fast, 3, start=820000, language="id")
    default = await linked_recipients(fast, 2, start=830000)
    people(sandbox, en + idn + default)
    bid = await create(fast, "Pasar murah hari Sabtu", text_en="Market fair on Saturday")
    await wait_done(fast, bid)
    emu = sandbox.emulator
    assert set(received(emu, en, "Market fair").values()) == {1}
    assert set(received(emu, en, "Pasar murah").values()) == {0}
    assert set(received(emu, idn + default, "Pasar murah").values()) == {1}
    # Without an English version everybody gets the Indonesian text.
    bid2 = await create(fast, "Jadwal berubah")
    await wait_done(fast, bid2)
    assert set(received(emu, en + idn + default, "Jadwal berubah").values()) == {1}


@pytest.mark.skipif(not __import__("tests.conftest", fromlist=["x"]).using_postgres(), reason="PostgreSQL only")
async def test_several_workers_on_postgres_send_each_delivery_once(sandbox: SandboxRun, fast: AppContext) -> None:
    fast.settings.telegram.global_rate = 30
    ids = await linked_recipients(fast, 150)
    people(sandbox, ids)
    others = [AppContext.build(fast.settings, clock=fast.clock) for _ in range(2)]
    try:
        async with fast.session_factory.begin() as s:
            b = await dl.create_broadcast(
                s, fast.clock, actor="t", actor_account_id=None, text_id="Pelatihan", text_en=None,
                photo_file_id=None, audience=Audience(),
            )
            bid = b.id
        engines = [DeliveryEngine(o.session_factory, sandbox.app.bot, o.clock, fast.settings.broadcast,
                                  batch_size=10, pacer=o.pacer) for o in others]
        worker_mod.wake()
        await asyncio.gather(*(e.run(until_idle=True) for e in engines))
        await wait_done(fast, bid)
    finally:
        for o in others:
            await o.close()
    got = received(sandbox.emulator, ids, "Pelatihan")
    assert set(got.values()) == {1}
    assert all(e.stats.sent > 0 for e in engines), "both claimed work"
    assert sum(e.stats.sent for e in engines) + engine_of(sandbox).stats.sent == 150
