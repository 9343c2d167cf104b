"""1,500 recipients checking in within the same minute, through the emulator and the real bot (SQLite).

    .venv/bin/python bench/checkin_burst.py                          # 1,500 people starting within one minute
    .venv/bin/python bench/checkin_burst.py --spread 0 --think 0     # stress: all at once, no pause between taps
    .venv/bin/python bench/checkin_burst.py --people 300 --rtt-ms 100   # issue #24: real-world Telegram latency

Every person does the seven-tap "running" check-in with one photo. Each starts at a random moment within
``--spread`` seconds (everyone opening the reminder of 08:00 within the same minute) and pauses
``--think`` seconds on average (0.5–1.5×) between taps, as a quick reader would. Reports whether all succeeded
(one Checkin row each, no apology, no request Telegram would refuse), the wall time, and p50/p90/p99/max latency
per update: from a person's action to the moment the emulator accepted the bot's answer to it (see
``bench/checkin_people.py``), overall and by step, the CPU of the bot and of this process per update, and the
lag of this process's event loop (the emulator and the people run here: a lagging loop means the bench, not the
bot, is the bottleneck).
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
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import checkin_people as cp  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from sandbox.emulator import TelegramEmulator  # noqa: E402
from sandbox.media import make_jpeg  # noqa: E402
from services.crypto import generate_data_key  # noqa: E402

TOKEN = "5000000003:AAEbenchCheckinBurstToken0000000000"
BASE_TG = 760_000_000


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
        settings_env = {"UEP_DATABASE__URL": url, "UEP_SECURITY__DATA_KEY": key,
                        "UEP_STORAGE__MEDIA_DIR": f"{tmp}/media"}
        await asyncio.to_thread(upgrade, url)
        await cp.seed(settings_env, args.people, BASE_TG)
        emulator = TelegramEmulator()
        await emulator.start()
        emulator.add_bot(TOKEN, "uep_bench_bot")
        # The bot exactly as operators run it (`uep run`: polling, scheduler on), in a process of its own.
        env = dict(os.environ, BOT_TOKEN=TOKEN, UEP_TELEGRAM__API_BASE=emulator.base_url,
                   UEP_TELEGRAM__POLLING_TIMEOUT="10", UEP_THROTTLING__RATE="1000", **settings_env)
        code = cp.CODE
        if args.profile:
            code = (f"import cProfile, signal, sys, os; p = cProfile.Profile(); "
                    f"signal.signal(signal.SIGUSR1, lambda *a: p.enable()); "
                    f"signal.signal(signal.SIGUSR2, lambda *a: (p.disable(), p.dump_stats({args.profile!r}))); "
                    + code)
        # The bot's log, for a look after a failed run; opened once, before anything runs concurrently.
        log_file = open(f"{tmp}/bot.log", "wb")  # noqa: ASYNC230, SIM115 - closed in the finally below
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, "run", cwd=cp.ROOT, env=env,
                                                    stdout=log_file, stderr=log_file)
        try:
            people = [emulator.person(BASE_TG + i, f"P{i}", bot=TOKEN, started=True) for i in range(args.people)]
            await cp.to_main_menu(emulator, people)
            # A picture of their own each: the same picture from everyone would (rightly) be flagged as reuse.
            jpegs = [make_jpeg(640, 480, seed=1000 + i) for i in range(args.people)]
            latencies = cp.Latencies()
            arrivals = cp.Arrivals(emulator)
            emulator.set_rtt(args.rtt_ms / 1000)
            if args.profile:
                proc.send_signal(signal.SIGUSR1)
            cpu = cp.CpuMeter({"bot": proc.pid, "bench (emulator + people)": None})
            lag = cp.LoopLag()
            cpu.start()
            lag.start()
            t = time.perf_counter()
            await asyncio.gather(*(
                cp.one_check_in(p, jpeg, latencies, rng.uniform(0, args.spread), args.think, rng, arrivals=arrivals)
                for p, jpeg in zip(people, jpegs, strict=True)
            ))
            wall = time.perf_counter() - t
            cpu.stop()
            await lag.stop()
            if args.profile:
                proc.send_signal(signal.SIGUSR2)
            await emulator.wait_until_processed(120, quiet=2.0)
            done, _, stored = await cp.count_stored(url)
            for _ in range(120):  # photos beyond the immediate backlog are stored by the scan (every minute)
                if stored >= args.people:
                    break
                await asyncio.sleep(1)
                done, _, stored = await cp.count_stored(url)
            log_file.flush()
            locked = (await asyncio.to_thread(Path(f"{tmp}/bot.log").read_text, errors="replace")).count(
                "database is locked")
            apologies = sum(1 for p in people for m in p.messages if "Maaf, ada gangguan" in (m.text or ""))
            # A press answered after Telegram's 15 s is refused; the bot records the choice anyway (counted apart).
            late = [v for v in emulator.violations if "query is too old" in str(v)]
            violations = [v for v in emulator.violations if v not in late]
            print(f"{args.people} people starting within {args.spread:g} s, ~{args.think:g} s between taps, "
                  f"{args.rtt_ms:g} ms per Bot API call: "
                  f"{len(latencies)} updates, {done} check-ins and {stored} photos stored, {apologies} apologies, "
                  f"{len(violations)} refused requests, {len(late)} button answers too late; burst {wall:.1f} s "
                  f"({len(latencies) / wall:.0f} updates/s); {latencies.line()}; 'database is locked' {locked}×")
            print("  " + latencies.steps_line())
            print("  " + cpu.line(len(latencies), wall) + "; " + lag.line())
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
