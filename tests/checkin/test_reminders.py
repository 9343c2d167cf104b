"""Reminders, missed check-ins and the TKSK digest, with the injectable clock and real scan ticks."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import pytest
from sqlalchemy import select

from bot.context import AppContext
from bot.factory import create_i18n
from bot.messenger import Messenger, SendOutcome, SendResult
from db.enums import BusinessStatus, CheckinDueState, ReminderStatus
from db.models import CheckinDue, OutboxMessage, Recipient, Reminder
from sandbox.runner import SandboxRun
from scheduler.runner import run_due
from services.outgoing.outbox import OutboxSender
from services.reminders import send_due_reminders
from services.schedule import schedule_next_checkin
from tests import factories
from tests.checkin.conftest import World
from tests.conftest import using_postgres

WITA = "+08:00"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + WITA)


async def tick(sandbox: SandboxRun, when: str) -> dict[str, int]:
    sandbox.ctx.clock.set(at(when))  # type: ignore[attr-defined]
    assert sandbox.app is not None
    handled = await run_due(sandbox.ctx, sandbox.app.messenger)
    await sandbox.settle()
    return handled


def reminders_to(person) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.text for m in person.messages if m.text and ("Saatnya melaporkan" in m.text or "Pengingat:" in m.text)]


async def test_each_step_at_eight_wita_then_missed_and_one_digest(sandbox: SandboxRun, world: World) -> None:
    # Aid on 20 Feb: the first check-in is due on 6 March, 08:00 WITA.
    await tick(sandbox, "2026-03-06T07:59")
    assert reminders_to(world.siti) == []
    await tick(sandbox, "2026-03-06T08:00")
    assert len(reminders_to(world.siti)) == 1 and "Jumat, 6 Mar 2026" in reminders_to(world.siti)[0]
    assert world.siti.last.buttons == ["📋 Lapor sekarang"]
    await tick(sandbox, "2026-03-07T12:00")
    assert len(reminders_to(world.siti)) == 1
    await tick(sandbox, "2026-03-08T08:00")
    await tick(sandbox, "2026-03-11T08:00")
    assert len(reminders_to(world.siti)) == 3
    assert "Pengingat" in reminders_to(world.siti)[2]
    await tick(sandbox, "2026-03-12T08:00")  # the day after the last reminder: missed
    digest = await world.tksk.wait_for("Laporan usaha yang terlewat")
    assert "Siti Aminah" in digest.text and "Rahma" in digest.text
    await tick(sandbox, "2026-03-12T09:00")
    await tick(sandbox, "2026-03-13T09:00")
    assert sum("terlewat" in (m.text or "") for m in world.tksk.messages) == 1  # one digest, not one per tick
    async with sandbox.ctx.session_factory() as s:
        siti = await s.get(Recipient, world.siti_id)
        assert siti is not None and siti.business_status == BusinessStatus.UNKNOWN
        dues = list(await s.scalars(select(CheckinDue).where(CheckinDue.recipient_id == world.siti_id)
                                    .order_by(CheckinDue.period_no)))
    assert [d.state for d in dues] == [CheckinDueState.MISSED, CheckinDueState.OPEN]


async def test_reminder_button_opens_the_checkin_and_a_done_period_is_not_reminded(
    sandbox: SandboxRun, world: World
) -> None:
    await tick(sandbox, "2026-03-06T08:00")
    await world.siti.press("📋 Lapor sekarang")
    await world.siti.wait_for("Bagaimana usaha Anda sekarang?")
    await world.siti.press("✅ Masih jalan")
    await world.siti.wait_for("Berapa hari")
    await world.siti.press("6")
    await world.siti.wait_for("penjualan")
    await world.siti.press("Di atas Rp2 juta")
    await world.siti.wait_for("Kirim 1 sampai 3 foto")
    await world.siti.send_photo()
    await world.siti.wait_for("Foto diterima")
    await world.siti.press_reply("➡️ Lanjut tanpa lokasi")
    await world.siti.wait_for("Kirim laporan ini?")
    await world.siti.press("✅ Kirim")
    await world.siti.wait_for("Terima kasih")
    await sandbox.settle()
    await tick(sandbox, "2026-03-08T08:00")
    await tick(sandbox, "2026-03-12T08:00")
    assert len(reminders_to(world.siti)) == 1  # done: no more reminders for that period, and not missed
    assert len(reminders_to(world.rahma)) == 2  # the 11 March step was overtaken by the missed mark (catch-up)


async def test_quiet_hours_and_catch_up_after_downtime(sandbox: SandboxRun, world: World) -> None:
    # The bot was down from the due morning until late at night: nothing is sent at 23:00 WITA.
    await tick(sandbox, "2026-03-06T23:00")
    assert reminders_to(world.siti) == []
    await tick(sandbox, "2026-03-07T06:59")
    assert reminders_to(world.siti) == []
    await tick(sandbox, "2026-03-07T07:00")
    assert len(reminders_to(world.siti)) == 1
    # Down again over two steps: one reminder, not a burst of stale ones.
    await tick(sandbox, "2026-03-11T10:00")
    assert len(reminders_to(world.siti)) == 2
    async with sandbox.ctx.session_factory() as s:
        skipped = await s.scalar(select(Reminder).where(Reminder.recipient_id == world.siti_id, Reminder.step == 1))
    assert skipped is not None and skipped.status == ReminderStatus.SKIPPED


async def test_two_schedulers_never_double_send(sandbox: SandboxRun, world: World) -> None:
    sandbox.ctx.clock.set(at("2026-03-06T08:00"))  # type: ignore[attr-defined]
    assert sandbox.app is not None
    await asyncio.gather(*(run_due(sandbox.ctx, sandbox.app.messenger) for _ in range(3)))
    await sandbox.settle()
    assert len(reminders_to(world.siti)) == 1
    assert len(reminders_to(world.rahma)) == 1


async def test_blocked_recipient_is_marked_unreachable_and_the_tksk_told_once(
    sandbox: SandboxRun, world: World
) -> None:
    world.siti.block()
    await sandbox.settle()
    await tick(sandbox, "2026-03-06T08:00")
    warning = await world.tksk.wait_for("memblokir bot")
    assert "Siti Aminah" in warning.text
    await tick(sandbox, "2026-03-08T08:00")
    assert sum("memblokir bot" in (m.text or "") for m in world.tksk.messages) == 1
    async with sandbox.ctx.session_factory() as s:
        siti = await s.get(Recipient, world.siti_id)
    assert siti is not None and siti.unreachable_since is not None


async def test_one_digest_a_day_per_tksk(sandbox: SandboxRun, world: World) -> None:
    await tick(sandbox, "2026-03-06T08:00")
    async with sandbox.ctx.session_factory.begin() as s:  # Siti reports; Rahma does not
        siti_due = await s.scalar(select(CheckinDue).where(CheckinDue.recipient_id == world.siti_id))
        assert siti_due is not None
        siti_due.state = CheckinDueState.DONE
    await tick(sandbox, "2026-03-12T08:00")
    first = await world.tksk.wait_for("terlewat di kecamatan Anda (1)")
    assert "Rahma" in first.text and "Siti" not in first.text
    # Later that day another period is missed (after a catch-up, say): it waits for tomorrow's digest.
    async with sandbox.ctx.session_factory.begin() as s:
        siti_due = await s.scalar(select(CheckinDue).where(CheckinDue.recipient_id == world.siti_id))
        assert siti_due is not None
        siti_due.state, siti_due.missed_at = CheckinDueState.MISSED, at("2026-03-12T10:00")
    await tick(sandbox, "2026-03-12T10:00")
    await tick(sandbox, "2026-03-12T20:00")
    assert sum("terlewat" in (m.text or "") for m in world.tksk.messages) == 1
    await tick(sandbox, "2026-03-13T07:30")  # before the digest hour
    assert sum("terlewat" in (m.text or "") for m in world.tksk.messages) == 1
    await tick(sandbox, "2026-03-13T08:00")
    second = world.tksk.messages[-1]
    assert sum("terlewat" in (m.text or "") for m in world.tksk.messages) == 2
    assert "(1)" in second.text and "Siti Aminah" in second.text and "Rahma" not in second.text


class CountingMessenger(Messenger):
    """Sends nothing over the network: records who would have been messaged (two of these = two processes)."""

    def __init__(self, ctx: AppContext, sent: list[int]) -> None:
        super().__init__(None, create_i18n(ctx), ctx.clock)  # type: ignore[arg-type]
        self.sent = sent

    async def _call(self, account, method, **kwargs):  # type: ignore[no-untyped-def, override]
        await asyncio.sleep(0.002)  # a network round trip, so the two processes interleave
        self.sent.append(account.chat_id)
        return SendResult(SendOutcome.SENT)

    async def send(self, account, text, **kwargs):  # type: ignore[no-untyped-def, override]
        return await self._call(account, None, **kwargs)


@pytest.mark.skipif(not using_postgres(), reason="row locks (FOR UPDATE SKIP LOCKED) are PostgreSQL's")
async def test_two_scheduler_processes_never_double_send_on_postgresql(ctx: AppContext) -> None:
    ctx.settings.scheduler.batch_size = 7  # many small claims, so the two processes really compete
    async with ctx.session_factory.begin() as s:
        kec = await factories.region(s)
        for i in range(120):
            r = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=kec, name=f"P{i}",
                                          nik=f"6472{i:012d}", aid_date=date(2026, 2, 20))
            await factories.link(s, ctx.clock, 940000 + i, recipient=r)
            await schedule_next_checkin(s, r, settings=ctx.settings, now=ctx.clock.now())
    ctx.clock.set(at("2026-03-06T08:00"))  # type: ignore[attr-defined]
    other = AppContext.build(ctx.settings, clock=ctx.clock)  # a second process: its own engine and pool
    sent: list[int] = []
    mine, theirs = CountingMessenger(ctx, sent), CountingMessenger(other, sent)
    try:
        handled = await asyncio.gather(
            send_due_reminders(ctx, mine, ctx.clock.now()),
            send_due_reminders(other, theirs, ctx.clock.now()),
        )
        assert sent == []  # queued in the outbox, nothing sent inside the scan's transactions
        await asyncio.gather(OutboxSender(ctx, mine).send_due(), OutboxSender(other, theirs).send_due())
    finally:
        await other.close()
    assert sorted(sent) == [940000 + i for i in range(120)]  # everyone once, nobody twice
    assert all(n > 0 for n in handled)  # both processes took part
    async with ctx.session_factory() as s:
        statuses = list(await s.scalars(select(Reminder.status).where(Reminder.step == 0)))
    assert statuses == [ReminderStatus.SENT] * 120


async def test_a_scan_tick_sends_no_more_reminders_than_the_pacer_can_send_in_it(ctx: AppContext) -> None:
    """The reminder task of one tick keeps no more than two scan intervals of the pacer's rate queued, less what
    is still waiting in the outbox (so other routine messages are not queued behind minutes of reminders, and
    the sender never runs dry between ticks); the rest go in the next ticks, each once."""
    ctx.settings.telegram.global_rate = 1
    ctx.settings.scheduler.scan_interval_seconds = 4  # budget: 2 intervals of 4 s at 1/s = 8 queued at most
    ctx.settings.scheduler.batch_size = 5
    async with ctx.session_factory.begin() as s:
        kec = await factories.region(s)
        for i in range(20):
            r = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=kec, name=f"P{i}",
                                          nik=f"6472{i:012d}", aid_date=date(2026, 2, 20))
            await factories.link(s, ctx.clock, 945000 + i, recipient=r)
            await schedule_next_checkin(s, r, settings=ctx.settings, now=ctx.clock.now())
    ctx.clock.set(at("2026-03-06T08:00"))  # type: ignore[attr-defined]
    sent: list[int] = []
    messenger = CountingMessenger(ctx, sent)
    from scheduler.reminder_tasks import checkin_reminders
    from scheduler.tasks import TaskRun

    run = TaskRun(ctx=ctx, messenger=messenger, now=ctx.clock.now())
    assert await checkin_reminders(run) == 8
    assert await checkin_reminders(run) == 0  # the outbox still holds two intervals' worth
    assert sent == []

    async def tick() -> int:
        await OutboxSender(ctx, messenger).send_due()  # what the outbox sent since
        return await checkin_reminders(run)

    assert [await tick() for _ in range(3)] == [8, 4, 0]
    await OutboxSender(ctx, messenger).send_due()
    assert sorted(sent) == [945000 + i for i in range(20)]


async def _one_queued_reminder(ctx: AppContext, sent: list[int]) -> CountingMessenger:
    async with ctx.session_factory.begin() as s:
        kec = await factories.region(s)
        r = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=kec, name="Siti",
                                      aid_date=date(2026, 2, 20))
        await factories.link(s, ctx.clock, 946001, recipient=r)
        await schedule_next_checkin(s, r, settings=ctx.settings, now=ctx.clock.now())
    ctx.clock.set(at("2026-03-06T08:00"))  # type: ignore[attr-defined]
    messenger = CountingMessenger(ctx, sent)
    assert await send_due_reminders(ctx, messenger, ctx.clock.now()) == 1
    assert sent == []  # queued in the scan's transaction, sent after it by the outbox
    return messenger


async def _outbox_statuses(ctx: AppContext) -> list[tuple[str, str | None]]:
    async with ctx.session_factory() as s:
        return [(r.status, r.error) for r in await s.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "checkin_reminder"))]


async def test_a_queued_reminder_is_dropped_when_the_period_was_reported_before_it_went(ctx: AppContext) -> None:
    sent: list[int] = []
    messenger = await _one_queued_reminder(ctx, sent)
    async with ctx.session_factory.begin() as s:  # the report arrives while the reminder waits in the outbox
        due = await s.scalar(select(CheckinDue))
        assert due is not None
        due.state = CheckinDueState.DONE
    await OutboxSender(ctx, messenger).send_due()
    assert sent == []
    assert await _outbox_statuses(ctx) == [("skipped", "superseded")]


async def test_a_queued_reminder_reached_by_the_quiet_hours_waits_for_the_morning(ctx: AppContext) -> None:
    sent: list[int] = []
    messenger = await _one_queued_reminder(ctx, sent)
    sender = OutboxSender(ctx, messenger)
    await sender.send_due(at("2026-03-06T22:30"))  # a long backlog: its turn comes in the quiet hours
    assert sent == [] and await _outbox_statuses(ctx) == [("pending", None)]
    await sender.send_due(at("2026-03-07T06:59"))
    assert sent == []
    await sender.send_due(at("2026-03-07T07:00"))
    assert sent == [946001] and [s for s, _e in await _outbox_statuses(ctx)] == ["sent"]
