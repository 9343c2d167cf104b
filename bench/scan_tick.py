"""Check-in reminders over 100,000 recipients with 5,000 due, as the scheduler process sends them: through the
outbox and the one pacer, to the Telegram emulator in its strict flood mode (Telegram's 30/s overall, 1/s per
chat), in a child process as Telegram is another machine.

    .venv/bin/python bench/scan_tick.py                       # SQLite (fresh file in a temp dir)
    .venv/bin/python bench/scan_tick.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/uep_bench_scan
    .venv/bin/python bench/scan_tick.py --recipients 20000 --due 1000 --tick 2   # a shorter run

Bulk-inserts the recipients, their linked Telegram accounts, one open check-in period each and its reminder
(``--due`` due at the tick, the rest later). Then, with the outbox sender running as in the bot, runs the reminder
scan task (``checkin_reminders``) every ``--tick`` seconds until no reminder is due: each tick queues what the
pacer can send in most of one scan interval, less what still waits in the outbox, as outbox rows written in the
scan's transaction (no Telegram request inside it). Reports the time the scan's transactions took, the 429s the
emulator provoked, the sending rate (first to last message, 10-second windows) against ``telegram.global_rate``,
that every due reminder arrived exactly once, and that one more tick queues nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, text  # noqa: E402

from bench.outgoing import BASE_TG, TOKEN, windows  # noqa: E402  (its emulator child, people and token)
from bot.config import load_settings  # noqa: E402
from bot.context import AppContext  # noqa: E402
from bot.factory import create_bot, create_i18n  # noqa: E402
from bot.messenger import Messenger  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import CheckinDue, Kabupaten, Kecamatan, Recipient, Reminder, TelegramAccount  # noqa: E402
from scheduler.reminder_tasks import checkin_reminders  # noqa: E402
from scheduler.tasks import TaskRun  # noqa: E402
from services.clock import FrozenClock  # noqa: E402
from services.crypto import generate_data_key  # noqa: E402
from services.outgoing.outbox import OutboxSender  # noqa: E402
from services.reminders import pending_reminders  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "config.toml"
NOW = datetime(2026, 3, 6, 0, 0, 30, tzinfo=UTC)  # 08:00:30 WITA
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
    ap.add_argument("--tick", type=float, default=5.0, help="seconds between reminder scan ticks")
    ap.add_argument("--port", type=int, default=18121, help="emulator port")
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
        # The emulator of bench/outgoing.py (strict flood mode, its people are BASE_TG + 1 … + due).
        child = subprocess.Popen(  # noqa: ASYNC220
            [sys.executable, str(Path(__file__).with_name("outgoing.py")), "--serve-emulator", "--port",
             str(args.port), "--reminders", str(args.due)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdin is not None
        ready = await asyncio.to_thread(child.stdout.readline)
        if not ready.startswith("ready "):
            raise SystemExit(f"the emulator did not start: {ready!r}")
        settings.telegram.api_base = ready.split()[1]
        bot = create_bot(ctx, token=TOKEN)
        messenger = Messenger(bot, create_i18n(ctx), ctx.clock, pacer=ctx.pacer)
        sender = OutboxSender(ctx, messenger)
        sending = asyncio.create_task(sender.run())
        run = TaskRun(ctx=ctx, messenger=messenger, now=NOW)
        scans: list[tuple[int, float]] = []
        try:
            with messenger.i18n.context():
                t0 = time.perf_counter()
                while True:
                    t = time.perf_counter()
                    handled = await checkin_reminders(run)
                    scans.append((handled, time.perf_counter() - t))
                    async with ctx.session_factory() as s:
                        due_left = await s.scalar(select(func.count()).select_from(Reminder).where(
                            Reminder.status == "pending", Reminder.due_at <= NOW))
                        waiting = await pending_reminders(s)
                    if not due_left and not waiting:
                        break
                    await asyncio.sleep(args.tick)
                elapsed = time.perf_counter() - t0
                again = await checkin_reminders(run)
            sending.cancel()
            child.stdin.write("report\n")
            child.stdin.flush()
            report = json.loads(await asyncio.to_thread(child.stdout.readline))
            sent_at = [t for t, _chat, tag in report["sent"] if tag == "reminder"]
            chats = [chat for _t, chat, tag in report["sent"] if tag == "reminder"]
            busy = sent_at[-1] - sent_at[0] if len(sent_at) > 1 else 0.0
            rate = (len(sent_at) - 1) / busy if busy else 0.0
            wins = windows(sent_at)
            limit = settings.telegram.global_rate
            queued = [(n, secs) for n, secs in scans if n]
            backend = "PostgreSQL" if args.postgres else "SQLite"
            print(f"{backend}, emulator strict flood mode (30/s, 1/s per chat), pacer at {limit:g}/s, a reminder "
                  f"scan every {args.tick:g} s")
            print(f"scan ticks: {len(scans)} ({len(queued)} queued reminders: "
                  + ", ".join(f"{n:,} in {secs:.2f} s" for n, secs in queued)
                  + f"); no Telegram request inside them; one more tick queued {again}")
            print(f"reminders: {len(sent_at):,} delivered ({len(set(chats)):,} people) of {args.due:,} due, all "
                  f"sent {elapsed:.1f} s after the first tick")
            print(f"rate: {len(sent_at):,} in {busy:.1f} s = {rate:.2f}/s ({100 * (rate - limit) / limit:+.1f}% of the "
                  f"limit); 10-s windows min {min(wins, default=0):.1f}/s max {max(wins, default=0):.1f}/s")
            print(f"429s provoked: {report['stats']['flood_429']}; pacer backoffs {ctx.pacer.stats.backoffs}")
            print("10-s windows (messages/s): " + " ".join(f"{w:.1f}" for w in wins))
            assert len(sent_at) == len(set(chats)) == args.due and again == 0
            assert report["violations"] == [], report["violations"][:3]
        finally:
            await bot.session.close()
            if child.poll() is None:
                child.terminate()
            child.wait(10)
            await ctx.close()


if __name__ == "__main__":
    asyncio.run(main())
