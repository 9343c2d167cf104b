"""Commit, then speak (issue #24): a report is stored before anyone is told about it, Telegram's failures
never lose it, and the recipient is told the truth about who knows.

Each test reproduces one failure of the issue through the emulator (its number in the test's name)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

import bot.speaking
from bot.context import AppContext
from db.models import Case, OutboxMessage, TelegramAccount
from sandbox.runner import SandboxRun
from tests.cases.conftest import RECIPIENT_TG, TKSK_TG, People, World

PROBLEM = "🆘 Ada kendala"


@pytest.fixture(autouse=True)
def strict_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Here the outbox sender's requests are checked too: none may leave with a transaction open."""
    monkeypatch.setattr(bot.speaking, "STRICT_OUTSIDE_UPDATES", True)
SAVED = "tersimpan dengan nomor"
APOLOGY = "Maaf, ada gangguan"


async def _report(siti, urgency: str = "🟡 Mendesak, tapi masih bisa jualan") -> None:  # type: ignore[no-untyped-def]
    await siti.command("start")
    await siti.wait_for("Apa yang ingin")
    await siti.press_reply(PROBLEM)
    await siti.wait_for("Apa kendalanya")
    await siti.press("💰 Modal")
    await siti.wait_for("tahan tombol mikrofon")
    await siti.send("Modal saya habis untuk berobat")
    await siti.wait_for("seberapa mendesak")
    await siti.press(urgency)


async def _cases(ctx: AppContext) -> list[Case]:
    async with ctx.session_factory() as s:
        return list(await s.scalars(select(Case).order_by(Case.id)))


async def _outbox(ctx: AppContext, chat_id: int) -> list[OutboxMessage]:
    async with ctx.session_factory() as s:
        return list(await s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)
                                    .order_by(OutboxMessage.id)))


async def _retry_now(sandbox: SandboxRun, seconds: float) -> None:
    """Move the clock past the row's backoff and run the sender (as its next poll would)."""
    sandbox.ctx.clock.advance(timedelta(seconds=seconds))  # type: ignore[attr-defined]
    await sandbox.app.outbox.send_due()  # type: ignore[union-attr]


async def test_2_an_html_502_on_the_tksk_alert_loses_nothing(sandbox: SandboxRun, people: People) -> None:
    """Failure 2 (and 8): nginx's HTML 502 page (aiogram: ClientDecodeError) on the TKSK's alert."""
    sandbox.emulator.inject_fault("html", method="sendMessage", chat_id=TKSK_TG, status=502)
    await _report(people.siti)
    saved = await people.siti.wait_for(SAVED)
    [case] = await _cases(sandbox.ctx)
    assert case.number in saved.text and "Nurhayati" in saved.text
    await sandbox.settle()
    [row] = [r for r in await _outbox(sandbox.ctx, TKSK_TG) if r.kind == "case_alert"]
    assert row.status == "pending" and row.attempts == 1 and "HTML" in (row.error or "")
    assert not people.tksk.messages, "the 502 page delivered nothing"
    await _retry_now(sandbox, 60)
    alert = await people.tksk.wait_for(case.number, timeout=10)
    assert "✋ Ambil" in alert.buttons
    await sandbox.settle()
    assert APOLOGY not in " ".join(people.siti.texts)
    assert [r.status for r in await _outbox(sandbox.ctx, TKSK_TG) if r.kind == "case_alert"] == ["sent"]


async def test_8_a_json_502_on_the_tksk_alert_is_retried(sandbox: SandboxRun, people: People) -> None:
    """Failure 8: a JSON 502 was never retried: the recipient was told their TKSK knew, and no alert came."""
    sandbox.emulator.inject_fault("5xx", method="sendMessage", chat_id=TKSK_TG, status=502, times=2)
    await _report(people.siti)
    saved = await people.siti.wait_for(SAVED)
    assert "TKSK Anda, Nurhayati" in saved.text
    await sandbox.settle()
    await _retry_now(sandbox, 60)   # second try: 502 again
    await sandbox.settle()
    [row] = [r for r in await _outbox(sandbox.ctx, TKSK_TG) if r.kind == "case_alert"]
    assert row.attempts == 2 and row.status == "pending"
    assert row.due_at is not None and row.due_at >= sandbox.ctx.clock.now() + timedelta(seconds=9), "backoff doubles"
    await _retry_now(sandbox, 600)
    [case] = await _cases(sandbox.ctx)
    await people.tksk.wait_for(case.number, timeout=10)


async def test_5_a_tksk_who_blocked_the_bot_is_not_named(sandbox: SandboxRun, people: People) -> None:
    """Failure 5: the TKSK has blocked the bot (the bot learned it from an earlier 403): the recipient is told
    Dinas Sosial handles it, and Dinas Sosial is alerted at once."""
    people.tksk.block()
    async with sandbox.ctx.session_factory.begin() as s:
        await s.execute(update(TelegramAccount).where(TelegramAccount.telegram_user_id == TKSK_TG)
                        .values(blocked_at=sandbox.ctx.clock.now()))
    await _report(people.siti)
    saved = await people.siti.wait_for(SAVED)
    assert "Dinas Sosial akan menghubungi" in saved.text
    assert "TKSK" not in saved.text and "Nurhayati" not in saved.text
    [case] = await _cases(sandbox.ctx)
    alert = await people.budi.wait_for(case.number, timeout=10)
    assert "TKSK kecamatan ini tidak bisa dihubungi" in alert.text
    assert not await _outbox(sandbox.ctx, TKSK_TG), "nothing is written for a TKSK known to be unreachable"


async def test_5_a_tksk_found_blocked_when_sending_hands_the_case_to_dissos(
    sandbox: SandboxRun, people: People
) -> None:
    """The TKSK blocked the bot and the bot does not know yet: the 403 on the alert marks them unreachable
    and sends the case to every caseworker."""
    people.tksk.block()
    await _report(people.siti)
    await people.siti.wait_for(SAVED)
    [case] = await _cases(sandbox.ctx)
    for person in (people.budi, people.dewi, people.admin):
        await person.wait_for(case.number, timeout=10)
    async with sandbox.ctx.session_factory() as s:
        tksk = await s.scalar(select(TelegramAccount).where(TelegramAccount.telegram_user_id == TKSK_TG))
        assert tksk is not None and tksk.blocked_at is not None
    [row] = [r for r in await _outbox(sandbox.ctx, TKSK_TG) if r.kind == "case_alert"]
    assert row.status == "failed"


async def test_9_a_429_on_the_reply_waits_and_sends_it_once(sandbox: SandboxRun, people: People) -> None:
    """Failure 9: the reply met a 429; it was dropped, and an apology went into the same refused chat."""
    await _report(people.siti)  # the flood fault below must hit the reply, not the questions before it
    await people.siti.wait_for(SAVED)
    sandbox.emulator.inject_fault("429", method="sendMessage", chat_id=RECIPIENT_TG, retry_after=2,
                                  contains="Anda sudah punya laporan terbuka")
    siti = people.siti
    await siti.press_reply(PROBLEM)
    await siti.wait_for("Apa kendalanya")
    await siti.press("💰 Modal")
    await siti.wait_for("tahan tombol mikrofon")
    await siti.send("Masih belum ada modal")
    await siti.wait_for("seberapa mendesak")
    loop = asyncio.get_running_loop()
    pressed = loop.time()
    await siti.press("🟡 Mendesak, tapi masih bisa jualan")
    added = await siti.wait_for("Anda sudah punya laporan terbuka", timeout=15)
    assert loop.time() - pressed >= 1.9, "it waited for retry_after"
    await sandbox.settle()
    assert sum("Anda sudah punya laporan terbuka" in t for t in siti.texts) == 1
    assert not any(APOLOGY in t for t in siti.texts)
    assert added is not None and len(await _cases(sandbox.ctx)) == 1


async def test_4_one_hanging_request_stalls_nobody(sandbox: SandboxRun, people: People) -> None:
    """Failure 4: while the TKSK's alert hangs (here 15 s), everyone else is answered at once; no handler
    holds SQLite's write lock across a network call."""
    sandbox.emulator.inject_fault("hang", method="sendMessage", chat_id=TKSK_TG, hang_seconds=15)
    await _report(people.siti)
    await people.siti.wait_for(SAVED, timeout=10)
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def rahma() -> None:
        await people.rahma.command("start")
        await people.rahma.wait_for("Apa yang ingin", timeout=10)
        await people.rahma.press_reply(PROBLEM)
        await people.rahma.wait_for("Apa kendalanya", timeout=10)

    async def staff(person) -> None:  # type: ignore[no-untyped-def]
        await person.command("antrian")
        await person.wait_for(None, timeout=10)

    await asyncio.gather(rahma(), staff(people.budi), staff(people.dewi), staff(people.admin),
                         staff(people.other_tksk))
    assert loop.time() - started < 10
    assert not people.tksk.messages, "the alert is still hanging"
    [case] = await _cases(sandbox.ctx)
    await people.tksk.wait_for(case.number, timeout=30)  # and arrives once Telegram answers


async def test_numbers_are_never_given_twice(ctx: AppContext, world: World) -> None:
    """A case number (and the id in its buttons) never comes to mean another case, even once the case row is
    gone: AUTOINCREMENT on SQLite, a sequence on PostgreSQL."""
    from services.cases.opening import open_case

    async with ctx.session_factory.begin() as s:
        from db.models import Recipient

        r = await s.get(Recipient, world.recipient.id)
        first = (await open_case(s, recipient=r, kind="capital", description="a", settings=ctx.settings,
                                 clock=ctx.clock)).case
    async with ctx.session_factory.begin() as s:
        await s.execute(Case.__table__.delete().where(Case.id == first.id))
    async with ctx.session_factory() as s:
        r = await s.get(Recipient, world.recipient.id)
        rolled_back = (await open_case(s, recipient=r, kind="capital", description="b", settings=ctx.settings,
                                       clock=ctx.clock)).case.id
        await s.rollback()
    async with ctx.session_factory.begin() as s:
        r = await s.get(Recipient, world.recipient.id)
        second = (await open_case(s, recipient=r, kind="capital", description="c", settings=ctx.settings,
                                  clock=ctx.clock)).case
    assert second.id > first.id and second.number != first.number
    assert rolled_back > first.id
    async with ctx.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Case)) == 1



async def test_the_guard_refuses_a_request_inside_a_transaction(sandbox: SandboxRun, people: People) -> None:
    """The guard can fail: a send made while a transaction of the same task is open raises."""
    assert sandbox.app is not None
    async with sandbox.ctx.session_factory.begin() as s:
        await s.scalar(select(func.count()).select_from(Case))  # the transaction is open now
        with pytest.raises(bot.speaking.TransactionOpenDuringRequest):
            await sandbox.app.bot.send_message(RECIPIENT_TG, "x")
    await sandbox.app.bot.send_message(RECIPIENT_TG, "after the commit")  # fine
    await people.siti.wait_for("after the commit")
