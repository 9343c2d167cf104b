"""1,500 recipients checking in within the same minute, through the emulator and the real bot (SQLite).

    .venv/bin/python bench/checkin_burst.py                          # 1,500 people starting within one minute
    .venv/bin/python bench/checkin_burst.py --spread 0 --think 0     # stress: all at once, no pause between taps
    .venv/bin/python bench/checkin_burst.py --people 300 --rtt-ms 100   # issue #24: real-world Telegram latency

Every person does the seven-tap "running" check-in with one photo. Each starts at a random moment within
``--spread`` seconds (everyone opening the reminder of 08:00 within the same minute) and pauses
``--think`` seconds on average (0.5–1.5×) between taps, as a quick reader would. Reports whether all succeeded
(one Checkin row each, no apology, no request Telegram would refuse), the wall time, and p50/p90/p99/max latency
per update: from a person's action to the bot's answer to it, measured here with ``time.perf_counter``.
The emulator and the simulated people run in this process; the bot runs as ``uep run`` (polling, scheduler on)
in a process of its own against a fresh SQLite file. ``--profile PATH`` keeps a cProfile of the bot during the
burst only. ``--rtt-ms`` delays every Bot API answer of the emulator (set after the warm-up), as a real
network does; the bot's log is searched for "database is locked".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.context import AppContext  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Checkin  # noqa: E402
from sandbox.emulator import TelegramEmulator  # noqa: E402
from sandbox.media import make_jpeg  # noqa: E402
from services.crypto import generate_data_key  # noqa: E402
from services.schedule import schedule_next_checkin  # noqa: E402
from tests import factories  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config.toml"
TOKEN = "5000000003:AAEbenchCheckinBurstToken0000000000"
BASE_TG = 760_000_000
STEPS = [
    ("reply", "📋 Lapor usaha", "Bagaimana usaha Anda sekarang?"),
    ("press", "✅ Masih jalan", "Berapa hari usaha buka"),
    ("press", "6", "berapa penjualan"),
    ("press", "Rp500 ribu–1 juta", "Kirim 1 sampai 3 foto"),
    ("photo", None, "Foto diterima"),
    ("reply", "➡️ Lanjut tanpa lokasi", "Kirim laporan ini?"),
    ("press", "✅ Kirim", "Laporan berikutnya tanggal"),
]


async def one_person(person, jpeg: bytes, latencies: list[float], start: float, think: float,  # type: ignore[no-untyped-def]
                     rng: random.Random) -> None:
    await asyncio.sleep(start)
    for step, (kind, label, expect) in enumerate(STEPS):
        if step and think:
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))
        t = time.perf_counter()
        if kind == "reply":
            await person.press_reply(label)
        elif kind == "press":
            await person.press(label)
        else:
            await person.send_photo(jpeg)
        await person.wait_for(expect, timeout=300)
        latencies.append(time.perf_counter() - t)


async def _seed(url: str, key: str, media: str, people: int) -> None:
    os.environ.update(UEP_DATABASE__URL=url, UEP_SECURITY__DATA_KEY=key, UEP_STORAGE__MEDIA_DIR=media)
    await asyncio.to_thread(upgrade, url)
    settings = load_settings(CONFIG)
    ctx = AppContext.build(settings)
    async with ctx.session_factory.begin() as s:
        kec = await factories.region(s)
        for i in range(people):
            r = await factories.recipient(s, ctx.cipher, ctx.clock, settings, kecamatan=kec, name=f"Penerima {i}",
                                          aid_date=date.today())
            await factories.link(s, ctx.clock, BASE_TG + i, recipient=r)
            await schedule_next_checkin(s, r, settings=settings, now=ctx.clock.now())
    await ctx.close()


async def _count(url: str) -> tuple[int, int]:
    from db.models import Photo
    from db.session import create_engine, create_session_factory

    engine = create_engine(url)
    async with create_session_factory(engine)() as s:
        checkins = await s.scalar(select(func.count()).select_from(Checkin))
        stored = await s.scalar(select(func.count()).select_from(Photo).where(Photo.status == "stored"))
    await engine.dispose()
    return checkins or 0, stored or 0


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=1500)
    ap.add_argument("--spread", type=float, default=60.0, help="seconds over which the people start")
    ap.add_argument("--think", type=float, default=1.0, help="mean pause between one person's taps, seconds")
    ap.add_argument("--profile", help="write a cProfile of the bot process during the burst to this file")
    ap.add_argument("--rtt-ms", type=float, default=0.0, help="delay of every Bot API answer during the burst, ms")
    args = ap.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/burst.db"
        key = generate_data_key()
        await _seed(url, key, f"{tmp}/media", args.people)
        emulator = TelegramEmulator()
        await emulator.start()
        emulator.add_bot(TOKEN, "uep_bench_bot")
        # The bot exactly as operators run it (`uep run`: polling, scheduler on), in a process of its own.
        env = dict(os.environ, BOT_TOKEN=TOKEN, UEP_TELEGRAM__API_BASE=emulator.base_url,
                   UEP_TELEGRAM__POLLING_TIMEOUT="10", UEP_THROTTLING__RATE="1000", UEP_DATABASE__URL=url,
                   UEP_SECURITY__DATA_KEY=key, UEP_STORAGE__MEDIA_DIR=f"{tmp}/media")
        code = "import sys; from bot.cli import app; sys.argv[0] = 'uep'; app()"
        if args.profile:
            code = (f"import cProfile, signal, sys, os; p = cProfile.Profile(); "
                    f"signal.signal(signal.SIGUSR1, lambda *a: p.enable()); "
                    f"signal.signal(signal.SIGUSR2, lambda *a: (p.disable(), p.dump_stats({args.profile!r}))); "
                    + code)
        # The bot's log, for a look after a failed run; opened once, before anything runs concurrently.
        log_file = open(f"{tmp}/bot.log", "wb")  # noqa: ASYNC230, SIM115 - closed in the finally below
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, "run", cwd=ROOT, env=env,
                                                    stdout=log_file, stderr=log_file)
        try:
            people = [emulator.person(BASE_TG + i, f"P{i}", bot=TOKEN, started=True) for i in range(args.people)]
            for p in people:  # the main menu on screen, as after onboarding
                await p.command("start")
            await asyncio.gather(*(p.wait_for("Apa yang ingin", timeout=600) for p in people))
            await emulator.wait_until_processed(120, quiet=1.0)
            # A picture of their own each: the same picture from everyone would (rightly) be flagged as reuse.
            jpegs = [make_jpeg(640, 480, seed=1000 + i) for i in range(args.people)]
            latencies: list[float] = []
            emulator.set_rtt(args.rtt_ms / 1000)
            if args.profile:
                proc.send_signal(signal.SIGUSR1)
            t = time.perf_counter()
            await asyncio.gather(*(
                one_person(p, jpeg, latencies, rng.uniform(0, args.spread), args.think, rng)
                for p, jpeg in zip(people, jpegs, strict=True)
            ))
            wall = time.perf_counter() - t
            if args.profile:
                proc.send_signal(signal.SIGUSR2)
            await emulator.wait_until_processed(120, quiet=2.0)
            done, stored = await _count(url)
            for _ in range(120):  # photos beyond the immediate backlog are stored by the scan (every minute)
                if stored >= args.people:
                    break
                await asyncio.sleep(1)
                done, stored = await _count(url)
            latencies.sort()
            log_file.flush()
            locked = (await asyncio.to_thread(Path(f"{tmp}/bot.log").read_text, errors="replace")).count(
                "database is locked")

            def pct(q: float) -> float:
                return latencies[max(0, round(len(latencies) * q) - 1)] * 1000

            apologies = sum(1 for p in people for m in p.messages if "Maaf, ada gangguan" in (m.text or ""))
            # A press answered after Telegram's 15 s is refused; the bot records the choice anyway (counted apart).
            late = [v for v in emulator.violations if "query is too old" in str(v)]
            violations = [v for v in emulator.violations if v not in late]
            print(f"{args.people} people starting within {args.spread:g} s, ~{args.think:g} s between taps, "
                  f"{args.rtt_ms:g} ms per Bot API call: "
                  f"{len(latencies)} updates, {done} check-ins and {stored} photos stored, {apologies} apologies, "
                  f"{len(violations)} refused requests, {len(late)} button answers too late; burst {wall:.1f} s "
                  f"({len(latencies) / wall:.0f} updates/s); latency per update p50 "
                  f"{statistics.median(latencies) * 1000:.0f} ms, p90 {pct(0.90):.0f} ms, p99 {pct(0.99):.0f} ms, "
                  f"max {latencies[-1] * 1000:.0f} ms; 'database is locked' {locked}×")
            for v in violations[:5]:
                print("  refused:", v)
            assert done == args.people, "every check-in is stored"
            assert stored == args.people, "every photo is stored"
            assert apologies == 0 and not violations, "no update failed"
        finally:
            if proc.returncode is None:
                proc.terminate()  # the bot process this script started, by its own handle
                await proc.wait()
            log_file.close()
            await emulator.stop()


if __name__ == "__main__":
    asyncio.run(main())
