"""Bot-core throughput and latency through the Telegram emulator: a bare aiogram echo bot against this bot's whole
update path (DB session, identity lookup, i18n, throttling, command-menu sync, routers, fallback) on SQLite.
The echo bot runs twice: as aiogram comes (``bare``, the issue's reference) and with the garbage-collector settings
``uep run`` gives this bot (``bare-gc``), so the ratio with the runtime held equal is printed too.

    .venv/bin/python -m bench.core_throughput                 # both bots, 200 updates/s open loop for 10 s
    .venv/bin/python -m bench.core_throughput --rate 300 --seconds 5 --closed-seconds 5 --only full

The emulator and the simulated people run in this process; each bot runs in a process of its own (``--bot`` is
the internal entry point), polling the emulator over HTTP as it would poll Telegram. Logging in the bot process
is configured as ``uep run`` does (INFO, aiogram's line per update included), written to a file, and both bots
get ``uep run``'s garbage-collector settings (``bot/heap.py``). The harness runs the open loop with its own
collector off, so its pauses are not counted as the bot's latency. The bot's peak memory is reported too.

* **open loop**: ``--rate`` updates/s offered on a fixed schedule (``--people`` people, each in turn) for
  ``--seconds``, whatever the bot does; latency = from the person's send (the update is enqueued) to the bot's
  reply message arriving in the emulator, both taken with ``time.perf_counter`` in this process.
* **closed loop**: ``--concurrency`` virtual users, each sending the next update as soon as the previous one is
  answered, spread over ``--closed-people`` people (so nobody exceeds the per-person throttle): max throughput.

The full bot gets a fresh migrated SQLite database in a temp dir whose people are active, linked recipients;
they send ``/help`` and unknown text, both answered by the common/fallback routers with one message. Every
person sends one warm-up update first, outside the measurement: the command-menu sync calls setMyCommands once
per person, and the identity cache learns who they are. So the default run measures people who wrote within
the last minute (the identity cache's lifetime; keep ``--seconds`` short, or the closed loop starts after the
entries expired). ``UEP_TELEGRAM__IDENTITY_CACHE_SECONDS=0`` measures the other end: a database lookup of the
person on every update, as for someone's first message in a while.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import json
import logging
import os
import sys
import tempfile
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# bare: an aiogram echo bot as it comes; bare-gc: the same with `uep run`'s collector settings; full: this bot.
KINDS = ("bare", "bare-gc", "full")
TOKENS = {
    "bare": "5000000001:AAEbenchBareEchoBotToken000000000000",
    "bare-gc": "5000000003:AAEbenchBareGcEchoBotToken0000000000",
    "full": "5000000002:AAEbenchFullStackBotToken00000000000",
}
BASE_USER_ID = {"bare": 810_000_000, "bare-gc": 830_000_000, "full": 820_000_000}


# ============================================================================ bot processes
async def _run_bare_bot(api: str, token: str, *, tuned: bool) -> None:
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    from bot.heap import tune_collector

    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    if tuned:
        tune_collector()  # the full bot's collector settings, so the ratio compares the stacks alone
    print("ready", flush=True)
    await dp.start_polling(bot, polling_timeout=10, handle_signals=False)


async def _run_full_bot(api: str, token: str, db_url: str, data_key: str) -> None:
    os.environ["UEP_DATABASE__URL"] = db_url
    os.environ["UEP_SECURITY__DATA_KEY"] = data_key
    from bot.app import BotApp
    from bot.config import load_settings
    from bot.context import AppContext
    from bot.heap import tune_collector

    settings = load_settings(ROOT / "config.toml")
    settings.telegram.api_base = api
    settings.telegram.token = token
    settings.telegram.polling_timeout = 10
    ctx = AppContext.build(settings)
    app = BotApp(ctx, token=token, with_scheduler=False)
    await app.start_polling()
    tune_collector()  # as `uep run` does once the bot is ready
    print("ready", flush=True)
    await asyncio.Event().wait()


def _bot_main(args: argparse.Namespace) -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        filename=args.log,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.profile_out:
        import cProfile

        prof = cProfile.Profile()
        import signal

        def _dump(*_: Any) -> None:
            prof.disable()
            prof.dump_stats(args.profile_out)
            os._exit(0)

        # Profile the measured phases only: the driver sends SIGUSR1 after start-up and warm-up.
        signal.signal(signal.SIGUSR1, lambda *_: prof.enable())
        signal.signal(signal.SIGTERM, _dump)
    if args.bot in ("bare", "bare-gc"):
        asyncio.run(_run_bare_bot(args.api, args.token, tuned=args.bot == "bare-gc"))
    else:
        asyncio.run(_run_full_bot(args.api, args.token, args.db, args.data_key))


# ============================================================================ database for the full stack
def _prepare_db(folder: Path, people: int) -> tuple[str, str]:
    """A fresh migrated SQLite database with ``people`` active recipients linked to Telegram accounts."""
    from db.migrate import upgrade

    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    upgrade(url)
    key = base64.b64encode(os.urandom(32)).decode()

    async def seed() -> None:
        from db.enums import OnboardingState
        from db.models import Kabupaten, Kecamatan, Recipient, TelegramAccount
        from db.session import create_engine, create_session_factory
        from services.crypto import NikCipher, decode_data_key

        cipher = NikCipher.from_master(decode_data_key(key))
        engine = create_engine(url)
        now = datetime.now(UTC)
        async with create_session_factory(engine).begin() as s:
            kab = Kabupaten(code="6472", name="Kota Samarinda")
            s.add(kab)
            await s.flush()
            kec = Kecamatan(code="647201", name="Palaran", kabupaten_id=kab.id)
            s.add(kec)
            await s.flush()
            for i in range(people):
                nik = f"6472{i:012d}"
                r = Recipient(
                    nik_hash=cipher.blind_index(nik), nik_encrypted=cipher.encrypt(nik), name=f"Penerima {i}",
                    sex="P", birth_date=date(1980, 1, 1), phone=None, address="Jl. Damai", desa="Rawa Makmur",
                    kecamatan_id=kec.id, dtks_id=f"D{i}", pkh=False, business_type="makanan",
                    aid_value=4_750_000, aid_date=date(2025, 6, 1), onboarding_state=OnboardingState.ACTIVE,
                    joined_at=now, created_at=now, updated_at=now,
                )
                account = TelegramAccount(
                    telegram_user_id=BASE_USER_ID["full"] + i, chat_id=BASE_USER_ID["full"] + i,
                    first_name=f"P{i}", created_at=now, last_seen_at=now,
                )
                account.recipient = r
                s.add_all([r, account])
        await engine.dispose()

    asyncio.run(seed())
    return url, key


# ============================================================================ load generation
@dataclass
class Tracker:
    """Send times per chat (FIFO: event isolation answers one person's updates in order) → reply latencies."""

    token: str
    pending: dict[int, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    waiters: dict[int, deque[asyncio.Future[float]]] = field(default_factory=lambda: defaultdict(deque))
    latencies: list[float] = field(default_factory=list)
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (sent at, latency) while recording
    recording: bool = False
    replies: int = 0

    def sent(self, chat_id: int) -> asyncio.Future[float]:
        self.pending[chat_id].append(time.perf_counter())
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiters[chat_id].append(fut)
        return fut

    def on_event(self, ev: Any) -> None:
        from sandbox.events import BOT_MESSAGE

        if ev.kind != BOT_MESSAGE or ev.token != self.token or ev.chat_id is None:
            return
        queue = self.pending.get(ev.chat_id)
        if not queue:
            return
        sent_at = queue.popleft()
        latency = time.perf_counter() - sent_at
        self.replies += 1
        if self.recording:
            self.latencies.append(latency)
            self.timeline.append((sent_at, latency))
        fut = self.waiters[ev.chat_id].popleft()
        if not fut.done():
            fut.set_result(latency)


def _by_second(timeline: list[tuple[float, float]], start: float) -> list[float]:
    buckets: dict[int, list[float]] = defaultdict(list)
    for sent_at, latency in timeline:
        buckets[int(sent_at - start)].append(latency)
    return [round(_pct(buckets[k], 0.99) * 1000, 1) for k in sorted(buckets)]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def _start_bot(kind: str, api: str, folder: Path, people: int, profile: str | None) -> asyncio.subprocess.Process:
    cmd = [sys.executable, "-m", "bench.core_throughput", "--bot", kind, "--api", api, "--token", TOKENS[kind],
           "--log", str(folder / f"{kind}.log")]
    if kind == "full":
        url, key = await asyncio.to_thread(_prepare_db, folder, people)
        cmd += ["--db", url, "--data-key", key]
    if profile:
        cmd += ["--profile-out", profile]
    proc = await asyncio.create_subprocess_exec(*cmd, cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    if line.strip() != b"ready":
        raise RuntimeError(f"{kind} bot did not start: {line!r}")
    return proc


async def _stop_bot(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()  # the process this script started, by its own handle
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 20)
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


async def _measure(emu: Any, kind: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    token = TOKENS[kind]
    emu.add_bot(token, f"bench_{kind}_bot")
    total_people = max(args.people, args.closed_people)
    people = [emu.person(BASE_USER_ID[kind] + i, f"P{i}", bot=token, started=True) for i in range(total_people)]
    tracker = Tracker(token)
    unsubscribe = emu.subscribe(tracker.on_event)
    texts = ["/help", "apa kabar?"]
    profile = str(folder / f"{kind}.prof") if args.profile == kind else None
    proc = await _start_bot(kind, emu.base_url, folder, total_people, profile)
    try:
        # Warm-up: every person once (command-menu sync, caches, connection pool), then settle.
        futs = []
        for i, p in enumerate(people):
            futs.append(tracker.sent(p.id))
            await p.send(texts[i % 2])
            if i % 50 == 49:
                await asyncio.sleep(0.05)
        await asyncio.wait_for(asyncio.gather(*futs), 120)
        await asyncio.sleep(6)  # let the throttle buckets refill
        # The emulator and the people live in this process and keep every message; a full collection of that
        # heap stalls this process, and a reply it is late to notice would count as the bot's latency (and slow
        # the closed loop of whichever bot runs last). Off for both measured phases.
        gc.collect()
        gc.freeze()
        gc.disable()
        if profile:
            import signal

            proc.send_signal(signal.SIGUSR1)  # start profiling the measured phases

        # Open loop: a fixed schedule, whatever the bot does.
        tracker.recording = True
        n = int(args.rate * args.seconds)
        start = time.perf_counter()
        futs = []
        lag_max = 0.0
        for k in range(n):
            due = start + k / args.rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                lag_max = max(lag_max, -delay)
            p = people[k % args.people]
            futs.append(tracker.sent(p.id))
            await p.send(texts[k % 2])
        offered_for = time.perf_counter() - start
        done, not_done = await asyncio.wait(futs, timeout=30)
        open_latencies = list(tracker.latencies)
        tracker.recording = False
        answered = len(done)
        open_res = {
            "offered_per_s": round(n / offered_for, 1),
            "answered": answered,
            "lost": len(not_done),
            "p50_ms": round(_pct(open_latencies, 0.50) * 1000, 1),
            "p90_ms": round(_pct(open_latencies, 0.90) * 1000, 1),
            "p99_ms": round(_pct(open_latencies, 0.99) * 1000, 1),
            "max_ms": round(max(open_latencies) * 1000, 1) if open_latencies else None,
            "generator_lag_max_ms": round(lag_max * 1000, 1),
            # p99 per second of the run: shows whether the tail is a start-up transient or steady
            "p99_ms_by_second": _by_second(tracker.timeline, start),
        }
        for f in not_done:
            f.cancel()
        await asyncio.sleep(6)

        # Closed loop: max throughput.
        pool = people[: args.closed_people]
        cursor = 0
        latencies: list[float] = []
        stop_at = time.perf_counter() + args.closed_seconds
        completed = 0

        async def user() -> None:
            nonlocal cursor, completed
            while time.perf_counter() < stop_at:
                p = pool[cursor % len(pool)]
                cursor += 1
                fut = tracker.sent(p.id)
                await p.send(texts[cursor % 2])
                try:
                    latencies.append(await asyncio.wait_for(fut, 10))
                    completed += 1
                except TimeoutError:
                    return

        t0 = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - t0
        closed_res = {
            "updates_per_s": round(completed / elapsed, 1),
            "completed": completed,
            "concurrency": args.concurrency,
            "p50_ms": round(_pct(latencies, 0.50) * 1000, 1),
            "p99_ms": round(_pct(latencies, 0.99) * 1000, 1),
        }
        peak_rss_mb = _peak_rss_mb(proc.pid)
    finally:
        gc.enable()
        unsubscribe()
        await _stop_bot(proc)
    return {"open": open_res, "closed": closed_res, "peak_rss_mb": peak_rss_mb}


def _peak_rss_mb(pid: int) -> float | None:
    """The bot process's peak resident memory so far (Linux ``VmHWM``); None where /proc is missing."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    from sandbox.emulator import TelegramEmulator

    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    emu = TelegramEmulator()
    await emu.start()
    results: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="uep-bench-") as tmp:
            for kind in KINDS:
                if args.only in (None, kind):
                    results[kind] = await _measure(emu, kind, args, Path(tmp))
                    if args.profile == kind:
                        import pstats
                        import shutil

                        kept = Path(tempfile.gettempdir()) / f"uep-bench-{kind}.prof"
                        shutil.copyfile(Path(tmp) / f"{kind}.prof", kept)
                        pstats.Stats(str(kept)).sort_stats("tottime").print_stats(45)
                        print(f"profile kept at {kept} (python -m pstats {kept})")
        violations = emu.violations
        results["emulator_violations"] = len(violations)
    finally:
        await emu.stop()
    return results


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.core_throughput", description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=float, default=200.0, help="open loop: updates offered per second")
    ap.add_argument("--seconds", type=float, default=10.0, help="open loop: duration")
    ap.add_argument("--people", type=int, default=200, help="open loop: people sending in turn")
    ap.add_argument("--closed-seconds", type=float, default=8.0)
    ap.add_argument("--concurrency", type=int, default=64, help="closed loop: virtual users")
    ap.add_argument("--closed-people", type=int, default=1000, help="closed loop: people the users rotate over")
    ap.add_argument("--only", choices=KINDS)
    ap.add_argument("--profile", choices=KINDS, help="cProfile that bot process and print the top")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    # internal: run one bot process
    ap.add_argument("--bot", choices=KINDS, help=argparse.SUPPRESS)
    ap.add_argument("--api", help=argparse.SUPPRESS)
    ap.add_argument("--token", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--data-key", help=argparse.SUPPRESS)
    ap.add_argument("--log", help=argparse.SUPPRESS)
    ap.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.bot:
        _bot_main(args)
        return
    results = asyncio.run(_main(args))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"open loop: {args.rate:g} updates/s offered for {args.seconds:g} s by {args.people} people; "
          f"closed loop: {args.concurrency} users over {args.closed_people} people for {args.closed_seconds:g} s")
    print(f"{'bot':<8} {'open: offered/s':>15} {'answered':>9} {'lost':>5} {'p50 ms':>7} {'p90 ms':>7} "
          f"{'p99 ms':>7} {'max ms':>7} | {'closed: upd/s':>13} {'p50 ms':>7} {'p99 ms':>7} | {'peak RSS MB':>11}")
    for kind in KINDS:
        if kind not in results:
            continue
        o, c = results[kind]["open"], results[kind]["closed"]
        print(f"{kind:<8} {o['offered_per_s']:>15} {o['answered']:>9} {o['lost']:>5} {o['p50_ms']:>7} "
              f"{o['p90_ms']:>7} {o['p99_ms']:>7} {o['max_ms']:>7} | {c['updates_per_s']:>13} {c['p50_ms']:>7} "
              f"{c['p99_ms']:>7} | {results[kind]['peak_rss_mb']!s:>11}")
    if "bare" in results and "full" in results:
        ratio = results["full"]["closed"]["updates_per_s"] / results["bare"]["closed"]["updates_per_s"]
        p99 = results["full"]["open"]["p99_ms"]
        verdict = "met" if ratio >= 1 / 3 else "MISSED"
        print(f"full/bare closed-loop throughput: {ratio:.2f} (target >= 0.33: {verdict});"
              f" full p99 at {args.rate:g}/s: {p99} ms (target < 100: {'met' if p99 < 100 else 'MISSED'})")
    if "bare-gc" in results and "full" in results:
        same = results["full"]["closed"]["updates_per_s"] / results["bare-gc"]["closed"]["updates_per_s"]
        print(f"full/bare-gc closed-loop throughput (both with uep run's collector settings): {same:.2f}")
    print(f"emulator violations: {results['emulator_violations']}")


if __name__ == "__main__":
    main()
