"""Benchmark: broadcast delivery through the Telegram emulator, with the real engine (``DeliveryEngine``).

    .venv/bin/python bench/broadcast.py flood                # (a) 1,500 people at 30/s, strict flood control
    .venv/bin/python bench/broadcast.py scale                # (b) 25,000 and 100,000 people, limits raised
    .venv/bin/python bench/broadcast.py scale --sizes 10000 40000
    .venv/bin/python bench/broadcast.py flood --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/uep_bench

(a) Telegram allows about 30 messages per second, so 1,500 messages take at least 50 s. The emulator runs in
strict flood mode (30/s with a 30-message burst, 1/s per chat) and answers 429 to anything faster; the figures
are the wall time from the first claim to the broadcast's end and the 429s provoked (emulator stats).

(b) Flood control off and ``global_rate`` raised: the cost of the engine itself. Each size runs in a fresh
process (``scale`` spawns ``one``) with the emulator in *another* process, so the sender's memory is measured
alone: peak RSS sampled during the send, against RSS before it. Time should grow linearly, memory stay flat.

The database is a fresh SQLite file (or a scratch PostgreSQL database with ``--postgres``), filled with bulk
inserts: one kecamatan, N recipients each with a linked Telegram account (chat id = 10,000,000 + i).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "4242424242:AAEsandboxTokenForTheUepBotEmulator00"
CHAT0 = 10_000_000


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def _fill(url: str, n: int) -> None:
    from sqlalchemy import insert

    from db.migrate import upgrade
    from db.models import Kabupaten, Kecamatan, Recipient, TelegramAccount
    from db.session import create_engine

    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(insert(Kabupaten), [{"id": 1, "code": "64.72", "name": "Kota Samarinda"}])
        await conn.execute(insert(Kecamatan), [{"id": 1, "code": "64.72.01", "name": "Palaran", "kabupaten_id": 1}])
        for start in range(0, n, 5000):
            rows = range(start, min(n, start + 5000))
            await conn.execute(insert(Recipient), [
                {"id": i + 1, "nik_hash": f"{i:064d}", "nik_encrypted": b"x", "name": f"Penerima {i}", "sex": "P",
                 "birth_date": datetime(1980, 1, 1).date(), "phone": None, "address": "", "desa": "",
                 "kecamatan_id": 1, "dtks_id": "", "pkh": False, "business_type": "gorengan", "aid_value": 4_750_000,
                 "aid_date": None, "onboarding_state": "active", "business_status": "running",
                 "created_at": now, "updated_at": now} for i in rows])
            await conn.execute(insert(TelegramAccount), [
                {"id": i + 1, "telegram_user_id": CHAT0 + i, "chat_id": CHAT0 + i, "first_name": "P",
                 "language": "en" if i % 10 == 0 else None, "recipient_id": i + 1, "is_proxy": False,
                 "created_at": now} for i in rows])
        if engine.dialect.name == "postgresql":
            from sqlalchemy import text

            for table in ("recipients", "telegram_accounts"):
                await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n + 1})"))
    await engine.dispose()


def _people(emu, n: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(n):
        emu.person(CHAT0 + i, f"P{i}", started=True)


async def _send(url: str, api_base: str, *, rate: float, per_chat: float, sample_memory: bool) -> dict:  # type: ignore[type-arg]
    from aiogram import Bot
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    from bot.config import BroadcastSettings
    from db.session import create_engine, create_session_factory
    from services.broadcast import deliveries as dl
    from services.broadcast.audience import Audience
    from services.broadcast.sender import DeliveryEngine
    from services.clock import SystemClock
    from services.outgoing.pacer import Pacer

    engine = create_engine(url)
    sf = create_session_factory(engine)
    clock = SystemClock()
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)),
              default=DefaultBotProperties(parse_mode="HTML"))
    settings = BroadcastSettings.model_construct(max_attempts=5, progress_interval=5)
    t_create = time.perf_counter()
    async with sf.begin() as s:
        b = await dl.create_broadcast(s, clock, actor="bench", actor_account_id=None,
                                      text_id="Pelatihan usaha hari Senin pukul 09.00 WITA di kantor kecamatan.",
                                      text_en="Business training on Monday 09:00 WITA at the kecamatan office.",
                                      photo_file_id=None, audience=Audience())
        bid = b.id
    create_s = time.perf_counter() - t_create
    rss_before = _rss_mb()
    peak = [rss_before]
    stop = asyncio.Event()

    async def sampler() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_mb())
            await asyncio.sleep(0.2)

    sampling = asyncio.create_task(sampler()) if sample_memory else None
    sender = DeliveryEngine(sf, bot, clock, settings, broadcast_id=bid, pacer=Pacer(rate, per_chat))
    t0 = time.perf_counter()
    await sender.run(until_idle=True)
    elapsed = time.perf_counter() - t0
    stop.set()
    if sampling:
        await sampling
    async with sf() as s:
        counts = await dl.counts(s, bid)
    await bot.session.close()
    await engine.dispose()
    return {"broadcast_id": bid, "deliveries_created_s": round(create_s, 2), "send_s": round(elapsed, 2),
            "per_second": round(counts.sent / elapsed, 1), "sent": counts.sent, "failed": counts.failed,
            "blocked": counts.blocked, "pending": counts.pending, "engine_429": sender.stats.rate_limited,
            "claims": sender.stats.claims, "flushes": sender.stats.flushes,
            "rss_before_mb": round(rss_before, 1), "rss_peak_mb": round(peak[0], 1)}


def _db(args: argparse.Namespace, tmp: str, name: str) -> str:
    if not args.postgres:
        return f"sqlite+aiosqlite:///{tmp}/{name}.db"
    from sqlalchemy import text

    from db.session import create_engine

    async def fresh() -> None:
        engine = create_engine(args.postgres)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(fresh())
    return args.postgres


async def flood(args: argparse.Namespace) -> None:
    from sandbox.emulator import TelegramEmulator

    with tempfile.TemporaryDirectory() as tmp:
        url = _db(args, tmp, "flood")
        await _fill(url, args.n)
        emu = TelegramEmulator()
        await emu.start()
        emu.add_bot(TOKEN, "uep_kaltim_bot")
        _people(emu, args.n)
        emu.set_flood(True)  # Telegram-like: 30/s (burst 30) overall, 1/s (burst 3) per chat
        res = await _send(url, emu.base_url, rate=args.rate, per_chat=1.0, sample_memory=False)
        stats = emu.stats
        await emu.stop()
    floor = (args.n - 30) / 30  # the emulator's burst lets the first 30 go at once
    print(json.dumps({"case": "flood", "n": args.n, "rate": args.rate, **res,
                      "telegram_floor_s": round(floor, 1), "emulator_flood_429": stats["flood_429"],
                      "emulator_sendMessage": stats["by_method"].get("sendMessage", 0),
                      "violations": stats["violations"]}, indent=2))


async def one(args: argparse.Namespace) -> None:
    """One size, emulator in a child process (so RSS here is the sender's alone)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = _db(args, tmp, f"scale{args.n}")
        await _fill(url, args.n)
        port = args.port
        cmd = [sys.executable, __file__, "serve", "--n", str(args.n), "--port", str(port)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.startswith("ready"), line
            res = await _send(url, f"http://127.0.0.1:{port}", rate=args.rate, per_chat=0.0, sample_memory=True)
        finally:
            proc.terminate()
            proc.wait(10)
    res["ru_maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps({"case": "scale", "n": args.n, "rate": args.rate, **res}))


async def serve(args: argparse.Namespace) -> None:
    from sandbox.emulator import TelegramEmulator

    emu = TelegramEmulator()
    emu.add_bot(TOKEN, "uep_kaltim_bot")
    _people(emu, args.n)
    await emu.start(port=args.port)
    print("ready", flush=True)
    await asyncio.Event().wait()


def scale(args: argparse.Namespace) -> None:
    results = []
    for i, n in enumerate(args.sizes):
        cmd = [sys.executable, __file__, "one", "--n", str(n), "--rate", str(args.rate), "--port",
               str(args.port + i)]
        if args.postgres:
            cmd += ["--postgres", args.postgres]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ}).stdout
        res = json.loads(out.strip().splitlines()[-1])
        results.append(res)
        print(json.dumps(res), flush=True)
    print(f"\n{'n':>8} {'send s':>8} {'msg/s':>8} {'µs/msg':>8} {'RSS before':>11} {'RSS peak':>9} {'Δ MB':>6}")
    for r in results:
        print(f"{r['n']:>8} {r['send_s']:>8} {r['per_second']:>8} {1e6 * r['send_s'] / r['n']:>8.0f} "
              f"{r['rss_before_mb']:>11} {r['rss_peak_mb']:>9} {r['rss_peak_mb'] - r['rss_before_mb']:>6.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=["flood", "scale", "one", "serve"])
    ap.add_argument("--n", type=int, default=1500)
    ap.add_argument("--sizes", type=int, nargs="+", default=[25_000, 100_000])
    ap.add_argument("--rate", type=float, default=None)
    ap.add_argument("--port", type=int, default=18931)
    ap.add_argument("--postgres", default=None, help="a scratch PostgreSQL database URL (its schema is wiped)")
    args = ap.parse_args()
    if args.rate is None:
        args.rate = 30.0 if args.case == "flood" else 100_000.0
    import logging

    logging.basicConfig(level=logging.WARNING)
    if args.case == "flood":
        asyncio.run(flood(args))
    elif args.case == "one":
        asyncio.run(one(args))
    elif args.case == "serve":
        asyncio.run(serve(args))
    else:
        scale(args)


if __name__ == "__main__":
    main()
