"""The photo reuse check (``services.photos.find_reuse``) against a year of stored photos.

    .venv/bin/python -m bench.photo_reuse [--stored 80000] [--checks 200] [--postgres postgresql+asyncpg://…]

A year of the program is about 80,000 check-in photos (1,500 people, one a week). The database (a fresh SQLite
file, and PostgreSQL when ``--postgres`` is given: emptied first, never point it at one that matters) gets
``--stored`` photos with random 64-bit hashes, their hash bytes (``db.models.PhotoHashByte``) and a few near
copies; then ``--checks`` new photos are checked at ``checkin.photo_reuse_distance`` (6), through the index,
and at distance 8, which the index cannot answer: every stored photo is compared, as every check was before
migration 0014. Reports the median and p99 per check, and that both found the same near copies.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, text

from db.enums import PhotoStatus
from db.migrate import upgrade
from db.models import Photo, PhotoHashByte
from db.session import create_engine, create_session_factory
from services.photos import find_reuse, hash_bytes

T0 = datetime(2026, 3, 1, tzinfo=UTC)
BATCH = 5_000


async def fill(url: str, stored: int, probes: list[str], rng: random.Random) -> None:
    engine = create_engine(url)
    try:
        hashes = [f"{rng.getrandbits(64):016x}" for _ in range(stored)]
        for i, p in enumerate(probes):  # a near copy (3 bits off) of every other probe
            if i % 2 == 0:
                hashes[i] = f"{int(p, 16) ^ 0b1011:016x}"
        for start in range(0, stored, BATCH):
            chunk = range(start, min(stored, start + BATCH))
            async with engine.begin() as conn:
                await conn.execute(insert(Photo), [
                    {"id": i + 1, "file_id": f"f{i}", "file_unique_id": f"u{i}", "status": PhotoStatus.STORED,
                     "attempts": 1, "sha256": f"{i:064x}", "phash": hashes[i], "created_at": T0} for i in chunk])
                await conn.execute(insert(PhotoHashByte), [
                    {"photo_id": i + 1, "position": pos, "value": b}
                    for i in chunk for pos, b in enumerate(hash_bytes(hashes[i]))])
        async with engine.begin() as conn:
            await conn.execute(insert(Photo), [
                {"id": stored + 1 + i, "file_id": f"n{i}", "file_unique_id": f"nu{i}", "status": PhotoStatus.STORED,
                 "attempts": 1, "sha256": f"{10**9 + i:064x}", "phash": p, "created_at": T0} for i, p in
                enumerate(probes)])
            if engine.dialect.name == "postgresql":
                await conn.execute(text("ANALYZE photos"))
                await conn.execute(text("ANALYZE photo_hash_bytes"))
    finally:
        await engine.dispose()


async def measure(url: str, stored: int, checks: int) -> None:
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    try:
        results: dict[int, list[int | None]] = {}
        for distance in (6, 8):
            times: list[float] = []
            found: list[int | None] = []
            async with sessions() as s:
                for i in range(checks):
                    photo = await s.get(Photo, stored + 1 + i)
                    assert photo is not None
                    t = time.perf_counter()
                    match = await find_reuse(s, photo, max_distance=distance)
                    times.append(time.perf_counter() - t)
                    found.append(match.id if match else None)
            results[distance] = found
            times.sort()
            how = "through the index" if distance < 8 else "compared with every photo"
            print(f"  distance {distance} ({how}): median {statistics.median(times) * 1000:.1f} ms, "
                  f"p99 {times[int(len(times) * 0.99) - 1] * 1000:.1f} ms per check; "
                  f"{sum(m is not None for m in found)} of {checks} matched")
        assert results[6] == results[8], "the index finds the near copies every photo's comparison finds"
    finally:
        await engine.dispose()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stored", type=int, default=80_000)
    ap.add_argument("--checks", type=int, default=200)
    ap.add_argument("--postgres", help="also on this PostgreSQL database (emptied first)")
    args = ap.parse_args()
    rng = random.Random(14)
    probes = [f"{rng.getrandbits(64):016x}" for _ in range(args.checks)]
    with tempfile.TemporaryDirectory() as tmp:
        urls = [("SQLite", f"sqlite+aiosqlite:///{Path(tmp) / 'reuse.db'}")]
        if args.postgres:
            urls.append(("PostgreSQL", args.postgres))
        for name, url in urls:
            if name == "PostgreSQL":
                engine = create_engine(url)
                async with engine.begin() as conn:
                    await conn.execute(text("DROP SCHEMA public CASCADE"))
                    await conn.execute(text("CREATE SCHEMA public"))
                await engine.dispose()
            await asyncio.to_thread(upgrade, url)
            await fill(url, args.stored, probes, random.Random(15))
            print(f"{name}, {args.stored:,} stored photos, {args.checks} new ones checked:")
            await measure(url, args.stored, args.checks)


if __name__ == "__main__":
    asyncio.run(main())
