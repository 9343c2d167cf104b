"""Crashes at the worst moment (issue #24, failures 1 and 3): ``uep run`` in its own process is killed with
SIGKILL right after a given request reaches the emulator (a kill point), then started again.

Nothing a person was told may be missing afterwards, and nothing may be stored twice."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.context import AppContext
from db.models import Case, Checkin, Recipient
from sandbox.emulator import TelegramEmulator
from services.schedule import schedule_next_checkin
from tests.cases.conftest import RECIPIENT_TG, TKSK_TG, build_world

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "4243:uep-crash-process"


class Bot:
    """``uep run`` as a child process against the emulator."""

    def __init__(self, emulator: TelegramEmulator) -> None:
        self.emulator = emulator
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> asyncio.subprocess.Process:
        env = dict(os.environ, BOT_TOKEN=TOKEN, UEP_TELEGRAM__API_BASE=self.emulator.base_url,
                   UEP_TELEGRAM__POLLING_TIMEOUT="1", UEP_THROTTLING__RATE="100", PYTHONUNBUFFERED="1")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import sys; from bot.cli import app; sys.argv[0] = 'uep'; app()", "run",
            cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )
        return self.proc

    async def killed(self, timeout: float = 30) -> None:
        """Wait until the kill point has killed the process."""
        assert self.proc is not None
        await asyncio.wait_for(self.proc.wait(), timeout)
        assert self.proc.returncode == -9, f"expected SIGKILL, got {self.proc.returncode}"

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()  # the process this test started, by its own handle
            await self.proc.wait()


@pytest.fixture
async def crash_world(ctx: AppContext) -> AsyncIterator[tuple[TelegramEmulator, Bot]]:
    await build_world(ctx)
    emulator = TelegramEmulator()
    await emulator.start()
    emulator.add_bot(TOKEN, "uep_crash_bot")
    bot = Bot(emulator)
    try:
        yield emulator, bot
    finally:
        await bot.stop()
        await emulator.stop()


async def _count(ctx: AppContext, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with ctx.session_factory() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def test_1_killed_right_after_the_tksk_alert_the_case_exists_and_its_number_is_not_reused(
    ctx: AppContext, settings: Settings, crash_world: tuple[TelegramEmulator, Bot]
) -> None:
    emulator, bot = crash_world
    siti = emulator.person(RECIPIENT_TG, "Siti", bot=TOKEN, started=True)
    tksk = emulator.person(TKSK_TG, "Nurhayati", bot=TOKEN, started=True)
    proc = await bot.start()
    await siti.command("kendala")
    await siti.wait_for("Apa kendalanya", timeout=60)
    await siti.press("💰 Modal")
    await siti.wait_for("tahan tombol mikrofon", timeout=30)
    await siti.send("Modal saya habis")
    await siti.wait_for("seberapa mendesak", timeout=30)
    emulator.inject_fault("kill", method="sendMessage", chat_id=TKSK_TG, pid=proc.pid)
    await siti.press("🟡 Mendesak, tapi masih bisa jualan")
    alert = await tksk.wait_for("UEP-", timeout=30)  # the alert reached Telegram, then the bot died
    await bot.killed()
    async with ctx.session_factory() as s:
        cases = list(await s.scalars(select(Case)))
    assert [c.number for c in cases] == [n for n in [c.number for c in cases] if n in alert.text], cases
    assert len(cases) == 1, "the case the TKSK was shown exists after the crash"
    first = cases[0]

    await bot.start()
    await siti.command("kendala")
    await siti.wait_for("Apa kendalanya", timeout=60)
    await siti.press("🔧 Peralatan rusak atau hilang")
    await siti.wait_for("tahan tombol mikrofon", timeout=30)
    await siti.send("Kompor rusak")
    await siti.wait_for("seberapa mendesak", timeout=30)
    await siti.press("🟢 Bisa menunggu beberapa hari")
    saved = await siti.wait_for("tersimpan dengan nomor", timeout=30)
    async with ctx.session_factory() as s:
        second = await s.scalar(select(Case).where(Case.id != first.id))
    assert second is not None and second.number in saved.text
    assert second.id != first.id and second.number != first.number, "the number on the old card is not reused"
    # "Ambil" on the card shown before the crash takes the case that card named.
    await tksk.press("✋ Ambil", message=alert)
    await tksk.wait_for(first.number, timeout=30)
    async with ctx.session_factory() as s:
        taken = await s.get(Case, first.id)
        other = await s.get(Case, second.id)
    assert taken is not None and taken.state == "taken" and other is not None and other.state == "new"


@pytest.mark.parametrize("kill_at", ["answerCallbackQuery", "editMessageText"])
async def test_3_killed_while_handling_kirim_the_checkin_is_stored_exactly_once(
    ctx: AppContext, settings: Settings, crash_world: tuple[TelegramEmulator, Bot], kill_at: str
) -> None:
    """The bot dies while answering the final "✅ Kirim" (at its first request for the press, or when the
    "✅ Laporan terkirim" edit reaches Telegram). After the restart the person presses again if the button is
    still on screen, as people do. Exactly one check-in is stored either way (none was, when the edit arrived
    before the commit)."""
    emulator, bot = crash_world
    async with ctx.session_factory.begin() as s:
        recipient = await s.scalar(select(Recipient).order_by(Recipient.id))
        assert recipient is not None
        recipient.aid_date = date.today()
        await schedule_next_checkin(s, recipient, settings=settings, now=ctx.clock.now())
    siti = emulator.person(RECIPIENT_TG, "Siti", bot=TOKEN, started=True)
    proc = await bot.start()
    await siti.command("lapor")
    await siti.wait_for("Bagaimana usaha Anda sekarang?", timeout=60)
    await siti.press("✅ Masih jalan")
    await siti.wait_for("Berapa hari usaha buka", timeout=30)
    await siti.press("6")
    await siti.wait_for("berapa penjualan", timeout=30)
    await siti.press("Rp500 ribu–1 juta")
    await siti.wait_for("Kirim 1 sampai 3 foto", timeout=30)
    await siti.send_photo()
    await siti.wait_for("Foto diterima", timeout=30)
    await siti.press_reply("➡️ Lanjut tanpa lokasi")
    confirm = await siti.wait_for("Kirim laporan ini?", timeout=30)
    emulator.inject_fault("kill", method=kill_at, pid=proc.pid)
    await siti.press("✅ Kirim", message=confirm)
    await bot.killed()
    await bot.start()
    on_screen = siti.chat.live(confirm.message_id)
    answered = len(siti.callback_answers)
    if on_screen is not None and on_screen.find_button("✅ Kirim") is not None:
        await siti.press("✅ Kirim", message=confirm)
        for _ in range(600):  # the press is answered once the restarted bot has handled it
            if len(siti.callback_answers) > answered:
                break
            await asyncio.sleep(0.1)
    else:
        await siti.command("start")  # the person saw "sent"; the bot must be up before we count
        await siti.wait_for(None, timeout=60)
    await emulator.wait_until_processed(30, quiet=1.0)
    assert await _count(ctx, Checkin) == 1, "stored exactly once"
