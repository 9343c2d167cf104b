"""``uep broadcast send|status|failed`` against the emulator (the CLI runs in a thread with its own event loop)."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app
from bot.context import AppContext
from db.models import AuditLog, Broadcast, Recipient
from sandbox.emulator import TelegramEmulator
from sandbox.media import make_jpeg
from sandbox.runner import SANDBOX_TOKEN
from tests import factories
from tests.broadcast.conftest import linked_recipients, linked_worker, received

CONFIG = str(Path(__file__).resolve().parents[2] / "config.toml")


@pytest.fixture
async def emu(ctx: AppContext):  # type: ignore[no-untyped-def]
    emulator = TelegramEmulator(clock=ctx.clock.now)
    await emulator.start()
    emulator.add_bot(SANDBOX_TOKEN, "uep_kaltim_bot")
    emulator.set_flood(True)
    yield emulator
    await emulator.stop()


async def uep(emu: TelegramEmulator, *args: str) -> tuple[int, str]:
    env = {"UEP_TELEGRAM__API_BASE": emu.base_url, "BOT_TOKEN": SANDBOX_TOKEN, "UEP_TELEGRAM__GLOBAL_RATE": "30",
           "UEP_TELEGRAM__PER_CHAT_INTERVAL": "0"}
    result = await asyncio.to_thread(CliRunner().invoke, app, ["--config", CONFIG, *args], env=env)
    return result.exit_code, result.output


async def test_send_dry_run_status_and_failed_list(ctx: AppContext, emu: TelegramEmulator, tmp_path: Path) -> None:
    async with ctx.session_factory.begin() as s:
        palaran = await factories.region(s, "Kota Samarinda", "Palaran")
        await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=palaran)  # not joined
    ids = await linked_recipients(ctx, 5, kecamatan=palaran)
    en = await linked_recipients(ctx, 1, start=801000, kecamatan=palaran, language="en")
    tksk = await linked_worker(ctx, 802000, kecamatan=palaran)
    for i in ids + en + [tksk]:
        emu.person(i, f"P{i}", started=True)
    emu.person(ids[0]).block()

    code, out = await uep(emu, "broadcast", "send", "--text", "Pelatihan", "--kecamatan", "palaran", "--workers",
                          "--dry-run")
    assert code == 0, out
    assert "audience: 8 people (7 recipients, 1 TKSK/PSM); reachable on Telegram: 7; not joined yet: 1" in out
    async with ctx.session_factory() as s:
        assert (await s.execute(select(Broadcast))).first() is None, "a dry run creates nothing"

    photo = tmp_path / "bazar.jpg"
    photo.write_bytes(make_jpeg(640, 480))
    code, out = await uep(emu, "broadcast", "send", "--text", "Bazar <b>UMKM</b>", "--text-en", "UMKM fair",
                          "--photo", str(photo), "--kabupaten", "Kota Samarinda", "--workers")
    assert "broadcast 1: 7 deliveries created" in out
    assert "broadcast 1 done: sent 6, unreachable 1, failed 0 (of 7)" in out
    assert code == 0, out
    assert set(received(emu, ids[1:] + [tksk], "Bazar UMKM").values()) == {1}
    assert received(emu, en, "UMKM fair")[en[0]] == 1
    assert emu.stats["flood_429"] == 0
    async with ctx.session_factory() as s:
        b = await s.get(Broadcast, 1)
        assert b is not None and b.photo_file_id and not b.photo_file_id.startswith("path:"), "uploaded once"
        assert (await s.execute(select(AuditLog.actor).where(AuditLog.action == "broadcast.create"))).scalar_one(
        ).startswith("cli:")
        blocked = await s.scalar(select(Recipient.unreachable_since).where(Recipient.name == f"Penerima {ids[0]}"))
    assert blocked is not None

    code, out = await uep(emu, "broadcast", "status", "1")
    assert code == 0 and "total 7: sent 6, unreachable 1, failed 0, pending 0" in out
    code, out = await uep(emu, "broadcast", "failed", "1", "--out", str(tmp_path / "f.csv"))
    assert code == 0 and "1 row(s)" in out
    rows = list(csv.DictReader((tmp_path / "f.csv").open(encoding="utf-8-sig")))
    assert rows[0]["status"] == "blocked" and rows[0]["name"] == f"Penerima {ids[0]}"


async def test_scheduled_and_bad_input(ctx: AppContext, emu: TelegramEmulator) -> None:
    await linked_recipients(ctx, 2)
    day = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d")  # the CLI runs on the real clock
    code, out = await uep(emu, "broadcast", "send", "--text", "Nanti", "--at", f"{day}T08:00")
    assert code == 0 and f"scheduled for {day} 08:00 WITA" in out, out
    code, out = await uep(emu, "broadcast", "send", "--text", "Dulu", "--at", "2020-01-01T08:00")
    assert code == 2 and "already passed" in out
    code, out = await uep(emu, "broadcast", "send", "--text", "x", "--business-type", "sate")
    assert code == 2 and "unknown value 'sate'" in out
    code, out = await uep(emu, "broadcast", "send", "--text", "x", "--kecamatan", "Atlantis")
    assert code == 2 and "not found" in out
    code, out = await uep(emu, "broadcast", "status", "99")
    assert code == 1
