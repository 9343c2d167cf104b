"""1,500 recipients checking in within the same minute, through the emulator and the real bot (SQLite).

    .venv/bin/python bench/checkin_burst.py [--people 1500]

Every person does the seven-tap "running" check-in with one photo at the same time. Reports whether all
succeeded (one Checkin row each), the wall time, and p50/p99 latency per update: from a person's action to the
bot's answer to it, measured here with ``time.perf_counter``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
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
from sandbox.media import make_jpeg  # noqa: E402
from sandbox.runner import SandboxRun  # noqa: E402
from services.crypto import generate_data_key  # noqa: E402
from services.schedule import schedule_next_checkin  # noqa: E402
from tests import factories  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "config.toml"
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


async def one_person(person, jpeg: bytes, latencies: list[float]) -> None:  # type: ignore[no-untyped-def]
    for kind, label, expect in STEPS:
        t = time.perf_counter()
        if kind == "reply":
            await person.press_reply(label)
        elif kind == "press":
            await person.press(label)
        else:
            await person.send_photo(jpeg)
        await person.wait_for(expect, timeout=300)
        latencies.append(time.perf_counter() - t)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=1500)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/burst.db"
        os.environ["UEP_DATABASE__URL"] = url
        os.environ["UEP_SECURITY__DATA_KEY"] = generate_data_key()
        os.environ["UEP_STORAGE__MEDIA_DIR"] = f"{tmp}/media"
        await asyncio.to_thread(upgrade, url)
        settings = load_settings(CONFIG)
        settings.throttling.rate = 1000
        ctx = AppContext.build(settings)
        async with ctx.session_factory.begin() as s:
            kec = await factories.region(s)
            for i in range(args.people):
                r = await factories.recipient(s, ctx.cipher, ctx.clock, settings, kecamatan=kec, name=f"Penerima {i}",
                                              aid_date=date.today())
                await factories.link(s, ctx.clock, BASE_TG + i, recipient=r)
                await schedule_next_checkin(s, r, settings=settings, now=ctx.clock.now())
        run = await SandboxRun.start(ctx)
        try:
            people = [run.person(BASE_TG + i, f"P{i}") for i in range(args.people)]
            for p in people:  # the main menu on screen, as after onboarding
                await p.command("start")
            await asyncio.gather(*(p.wait_for("Apa yang ingin", timeout=600) for p in people))
            await run.settle(120)
            jpeg = make_jpeg(640, 480, seed=3)
            latencies: list[float] = []
            t = time.perf_counter()
            await asyncio.gather(*(one_person(p, jpeg, latencies) for p in people))
            wall = time.perf_counter() - t
            await run.settle(120)
            async with ctx.session_factory() as s:
                done = await s.scalar(select(func.count()).select_from(Checkin))
            latencies.sort()
            p99 = latencies[int(len(latencies) * 0.99) - 1]
            print(f"{args.people} people, {len(latencies)} updates: {done} check-ins stored in {wall:.1f} s "
                  f"({len(latencies) / wall:.0f} updates/s); latency per update p50 "
                  f"{statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
            assert done == args.people
            run.emulator.assert_no_violations()
        finally:
            await run.stop()
            await ctx.close()


if __name__ == "__main__":
    asyncio.run(main())
