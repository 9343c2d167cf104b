"""Deadlines act by themselves at the right time, once, respecting quiet hours (FrozenClock + run_due)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.context import AppContext
from db.enums import CaseState
from db.models import Case, CaseEvent, OutboxMessage, Recipient
from sandbox.runner import SandboxRun
from scheduler.runner import run_due
from services.cases.deadlines import run_deadlines
from services.cases.notify import CASE_ALERT, CASE_NOTICE
from services.cases.opening import open_case
from services.cases.transitions import Action, Actor, apply
from tests.cases.conftest import TKSK_TG, People, World


def wita(day: int, hour: int, minute: int = 0) -> datetime:
    """March 2026, local time, as UTC."""
    return datetime(2026, 3, day, hour - 8, minute, tzinfo=UTC) if hour >= 8 else \
        datetime(2026, 3, day - 1, hour + 16, minute, tzinfo=UTC)


async def _open(ctx: AppContext, world: World, urgency: str = "normal", kind: str = "capital") -> Case:
    async with ctx.session_factory.begin() as s:
        r = await s.get(Recipient, world.recipient.id)
        return (await open_case(s, recipient=r, kind=kind, urgency=urgency, description="Modal habis",
                                settings=ctx.settings, clock=ctx.clock)).case


async def _tick(sandbox: SandboxRun, at: datetime) -> dict[str, int]:
    sandbox.ctx.clock.set(at)  # type: ignore[attr-defined]
    handled = await run_due(sandbox.ctx, sandbox.app.messenger, at)
    await sandbox.settle()
    return handled


async def _case(ctx: AppContext, case_id: int) -> Case:
    async with ctx.session_factory() as s:
        return await s.get(Case, case_id)


async def _outbox_rows(ctx: AppContext, case_id: int) -> int:
    """Messages about the case written to the outbox (each sent once, after the commit that wrote it)."""
    async with ctx.session_factory() as s:
        return await s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.dedupe_key.like(f"case:{case_id}:%"))) or 0


async def _events(ctx: AppContext, case_id: int, action: str) -> int:
    async with ctx.session_factory() as s:
        return await s.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == case_id, CaseEvent.action == action)) or 0


async def test_not_taken_in_time_passes_to_dissos_once(sandbox: SandboxRun, people: People, world: World) -> None:
    ctx = sandbox.ctx
    case = await _open(ctx, world)  # Monday 09:00 WITA, normal: taken within 24 hours
    assert case.take_due_at == wita(3, 9)
    assert (await _tick(sandbox, wita(3, 8, 59)))["case_deadlines"] == 0
    assert (await _case(ctx, case.id)).state == CaseState.NEW
    handled = await _tick(sandbox, wita(3, 9))
    assert handled["case_deadlines"] == 1 and await _outbox_rows(ctx, case.id) == 4  # 3 staff + the recipient
    c = await _case(ctx, case.id)
    assert c.state == CaseState.WITH_DISSOS and c.with_dissos and c.escalated_at == wita(3, 9)
    for person in (people.budi, people.dewi, people.admin):
        alert = await person.wait_for("Tidak diambil sampai batas waktu")
        assert case.number in alert.text and "✋ Ambil alih" in alert.buttons
    notice = await people.siti.wait_for(case.number)
    assert "Diteruskan ke Dinas Sosial" in notice.text and "Dinas Sosial sedang menanganinya" in notice.text
    seen = {p: len(p.messages) for p in (people.budi, people.siti)}
    handled = await _tick(sandbox, wita(3, 9, 5))
    assert handled["case_deadlines"] == 0 and await _outbox_rows(ctx, case.id) == 4
    assert {p: len(p.messages) for p in seen} == seen, "nobody is told twice"
    assert await _events(ctx, case.id, "auto_escalate") == 1
    assert not people.tksk.messages, "the TKSK got no duplicate alert from the scan"


async def test_quiet_hours_hold_recipient_notices_and_non_urgent_alerts(
    sandbox: SandboxRun, people: People, world: World
) -> None:
    ctx = sandbox.ctx
    ctx.clock.set(wita(2, 23))  # type: ignore[attr-defined]
    normal = await _open(ctx, world, "normal")              # take by Tue 23:00
    ctx.clock.set(wita(3, 19))  # type: ignore[attr-defined]
    urgent = await _open(ctx, world, "high", kind="equipment")  # take by Tue 23:00 as well (4 hours)
    handled = await _tick(sandbox, wita(3, 23))
    assert handled["case_deadlines"] == 2
    assert (await _case(ctx, normal.id)).state == (await _case(ctx, urgent.id)).state == CaseState.WITH_DISSOS
    texts = [m.text or "" for m in people.budi.messages]
    assert any(urgent.number in t for t in texts), "an urgent case reaches Dissos at once, even at night"
    assert not any(normal.number in t for t in texts), "a normal one waits for the morning"
    assert not people.siti.messages, "recipients are never written to in quiet hours"
    async with ctx.session_factory() as s:
        due = sorted({r.due_at for r in await s.scalars(select(OutboxMessage).where(
            OutboxMessage.kind.in_((CASE_NOTICE, CASE_ALERT)), OutboxMessage.status == "pending"))})
    assert due == [wita(4, 7)]
    await _tick(sandbox, wita(4, 6, 59))
    assert not people.siti.messages
    await _tick(sandbox, wita(4, 7))
    await people.budi.wait_for(normal.number)
    assert sum(normal.number in (m.text or "") for m in people.siti.messages) == 1
    assert sum(urgent.number in (m.text or "") for m in people.siti.messages) == 1


async def test_resolve_reminder_then_overdue(sandbox: SandboxRun, people: People, world: World) -> None:
    ctx = sandbox.ctx
    case = await _open(ctx, world)
    async with ctx.session_factory() as s:
        from db.models import TelegramAccount

        tksk = Actor.of(await s.scalar(select(TelegramAccount).where(TelegramAccount.telegram_user_id == TKSK_TG)))
    async with ctx.session_factory.begin() as s:
        await apply(s, case.id, Action.TAKE, tksk, now=ctx.clock.now(), settings=ctx.settings)
    # Resolve deadline: 120 hours after opening (Saturday 09:00); the owner is reminded 24 hours before.
    assert (await _tick(sandbox, wita(6, 8, 59)))["case_deadlines"] == 0
    assert (await _tick(sandbox, wita(6, 9)))["case_deadlines"] == 1
    reminder = await people.tksk.wait_for("Pengingat")
    assert case.number in reminder.text and "Sabtu, 7 Mar 2026 09:00 WITA" in reminder.text
    c = await _case(ctx, case.id)
    assert c.resolve_reminded_at == wita(6, 9) and not c.overdue
    assert (await _tick(sandbox, wita(7, 8, 59)))["case_deadlines"] == 0
    assert (await _tick(sandbox, wita(7, 9)))["case_deadlines"] == 1
    c = await _case(ctx, case.id)
    assert c.overdue and c.state == CaseState.TAKEN
    assert (await _tick(sandbox, wita(8, 9)))["case_deadlines"] == 0
    assert await _events(ctx, case.id, "remind") == 1 and await _events(ctx, case.id, "overdue") == 1
    assert sum("Pengingat" in (m.text or "") for m in people.tksk.messages) == 1


async def test_resolved_case_closes_after_the_reopen_window(sandbox: SandboxRun, people: People, world: World) -> None:
    ctx = sandbox.ctx
    case = await _open(ctx, world)
    async with ctx.session_factory() as s:
        from db.models import TelegramAccount

        tksk = Actor.of(await s.scalar(select(TelegramAccount).where(TelegramAccount.telegram_user_id == TKSK_TG)))
    async with ctx.session_factory.begin() as s:
        await apply(s, case.id, Action.RESOLVE, tksk, now=ctx.clock.now(), settings=ctx.settings, note="Sudah")
    days = ctx.settings.cases.reopen_days
    await _tick(sandbox, wita(2, 9) + timedelta(days=days) - timedelta(minutes=1))
    assert (await _case(ctx, case.id)).state == CaseState.RESOLVED
    await _tick(sandbox, wita(2, 9) + timedelta(days=days))
    c = await _case(ctx, case.id)
    assert c.state == CaseState.CLOSED and c.closed_at is not None and c.next_due_at is None


async def test_concurrent_scans_handle_each_case_once(ctx: AppContext, world: World) -> None:
    """Two processes' ticks at the same moment (PostgreSQL: SKIP LOCKED + lease; SQLite: one writer)."""
    ids = []
    kinds = ["capital", "materials", "equipment", "no_buyers", "health_family", "permit_place", "other"]
    for kind in kinds:
        ids.append((await _open(ctx, world, kind=kind)).id)
    other = AppContext.build(ctx.settings, clock=ctx.clock)
    try:
        at = wita(3, 9)
        results = await asyncio.gather(run_deadlines(ctx, at), run_deadlines(other, at))
    finally:
        await other.close()
    assert sum(results) == len(kinds)
    for case_id in ids:
        assert await _events(ctx, case_id, "auto_escalate") == 1
    async with ctx.session_factory() as s:
        alerts = await s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == CASE_ALERT))
    assert alerts == len(kinds) * 3  # one per case and caseworker/admin, never twice
