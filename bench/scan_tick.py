"""One scan tick of check-in reminders over 100,000 recipients with 5,000 due, through the Telegram emulator.

    .venv/bin/python bench/scan_tick.py                       # SQLite (fresh file in a temp dir)
    .venv/bin/python bench/scan_tick.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/uep_bench_scan

Bulk-inserts the recipients, their linked Telegram accounts, one open check-in period each and its reminder
(5,000 due at the tick, the rest later), then times ``services.reminders.send_due_reminders`` once: claiming,
sending every due reminder through the real Bot API client to the emulator (flood control off), recording
each. A second tick must send nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.context import AppContext  # noqa: E402
from bot.factory import create_bot, create_i18n  # noqa: E402
from bot.messenger import Messenger  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import CheckinDue, Kabupaten, Kecamatan, Recipient, Reminder, TelegramAccount  # noqa: E402
from sandbox.emulator import TelegramEmulator  # noqa: E402
from services.clock import FrozenClock  # noqa: E402
from services.crypto import generate_data_key  # noqa: E402
from services.reminders import send_due_reminders  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "config.toml"
TOKEN = "5000000009:AAEbenchReminderScanToken0000000000"
NOW = datetime(2026, 3, 6, 0, 0, 30, tzinfo=UTC)  # 08:00:30 WITA
BASE_TG = 700_000_000
CHUNK = 5_000


async def fill(ctx: AppContext, total: int, due: int) -> None:
    async with ctx.session_factory.begin() as s:
        kab = (await s.execute(
            insert(Kabupaten).values(code="6472", name="Kota Samarinda").returning(Kabupaten.id))).scalar()
        kec = (await s.execute(insert(Kecamatan).values(code="647201", name="Palaran", kabupaten_id=kab)
                               .returning(Kecamatan.id))).scalar()
    blob = b"x" * 44
    for start in range(0, total, CHUNK):
        ids = range(start + 1, min(start + CHUNK, total) + 1)
        async with ctx.session_factory.begin() as s:
            await s.execute(insert(Recipient), [dict(
                id=i, nik_hash=f"{i:064d}", nik_encrypted=blob, name=f"Penerima {i}", sex="P",
                birth_date=date(1980, 1, 1), phone=None, address="", desa="Desa", kecamatan_id=kec, dtks_id="",
                pkh=False, business_type="kue", aid_value=4_750_000, aid_date=date(2026, 2, 20),
                onboarding_state="active", business_status="running", created_at=NOW, updated_at=NOW) for i in ids])
            await s.execute(insert(TelegramAccount), [dict(
                id=i, telegram_user_id=BASE_TG + i, chat_id=BASE_TG + i, first_name="P", recipient_id=i,
                is_proxy=False, created_at=NOW) for i in ids])
            await s.execute(insert(CheckinDue), [dict(
                id=i, recipient_id=i, period_no=1, state="open",
                due_at=NOW - timedelta(minutes=1) if i <= due else NOW + timedelta(days=7)) for i in ids])
            await s.execute(insert(Reminder), [dict(
                dedupe_key=f"checkin:{i}:1:0", kind="checkin_reminder", recipient_id=i, checkin_due_id=i, step=0,
                due_at=NOW - timedelta(seconds=30) if i <= due else NOW + timedelta(days=7), status="pending",
                attempts=0) for i in ids])


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--postgres", help="PostgreSQL URL of a database the benchmark may wipe")
    ap.add_argument("--recipients", type=int, default=100_000)
    ap.add_argument("--due", type=int, default=5_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite+aiosqlite:///{tmp}/scan.db"
        os.environ["UEP_DATABASE__URL"] = url
        os.environ["UEP_SECURITY__DATA_KEY"] = generate_data_key()
        settings = load_settings(CONFIG)
        if args.postgres:
            from db.session import create_engine

            engine = create_engine(url)
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await engine.dispose()
        await asyncio.to_thread(upgrade, url)
        ctx = AppContext.build(settings, clock=FrozenClock(NOW))
        t = time.perf_counter()
        await fill(ctx, args.recipients, args.due)
        print(f"filled {args.recipients:,} recipients ({args.due:,} reminders due) in {time.perf_counter() - t:.1f} s")
        emu = TelegramEmulator(clock=ctx.clock.now)
        await emu.start()
        emu.add_bot(TOKEN, "bench_bot")
        for i in range(1, args.due + 1):
            emu.person(BASE_TG + i, f"P{i}", started=True)
        settings.telegram.api_base = emu.base_url
        bot = create_bot(ctx, token=TOKEN)
        messenger = Messenger(bot, create_i18n(ctx), ctx.clock)
        try:
            with messenger.i18n.context():
                t = time.perf_counter()
                handled = await send_due_reminders(ctx, messenger, NOW)
                elapsed = time.perf_counter() - t
                again = await send_due_reminders(ctx, messenger, NOW)
            delivered = sum(1 for p in emu.people for m in p.messages if "Saatnya melaporkan" in (m.text or ""))
            backend = "PostgreSQL" if args.postgres else "SQLite"
            print(f"{backend}: one tick handled {handled:,} due reminders in {elapsed:.2f} s "
                  f"({elapsed / max(handled, 1) * 1000:.2f} ms per reminder); messages in the emulator: {delivered:,}; "
                  f"second tick handled {again}")
            assert delivered == args.due and again == 0
            emu.assert_no_violations()
        finally:
            await bot.session.close()
            await emu.stop()
            await ctx.close()


if __name__ == "__main__":
    asyncio.run(main())
