"""The photo reuse check reads the photos sharing enough bytes of the perceptual hash through an index
(``db.models.PhotoHashByte``) instead of every photo ever stored. It must find exactly what comparing with every
photo finds, up to the boundary: a copy whose differing bits all fall in different bytes."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import sqlalchemy as sa

from bot.context import AppContext
from db.enums import PhotoStatus
from db.migrate import upgrade
from db.models import Photo, PhotoHashByte
from services.photos import find_reuse, hamming, index_hash
from tests.ops.test_migration_upgrade import _run, baseline_url  # noqa: F401  (baseline_url: a fixture)


def _flip(phash: str, bits: int, rng: random.Random) -> str:
    """The hash with ``bits`` bits flipped, each in a different byte (the hardest case for the index)."""
    value = int(phash, 16)
    for byte in rng.sample(range(8), bits):
        value ^= 1 << (byte * 8 + rng.randrange(8))
    return f"{value:016x}"


async def test_the_indexed_reuse_check_finds_what_comparing_with_every_photo_finds(ctx: AppContext) -> None:
    rng = random.Random(23)
    t0 = ctx.clock.now()
    probes = [f"{rng.getrandbits(64):016x}" for _ in range(12)]
    hashes = [f"{rng.getrandbits(64):016x}" for _ in range(300)]
    hashes += [_flip(p, rng.randrange(0, 9), rng) for p in probes for _ in range(3)]  # near copies, 0-8 bits off
    async with ctx.session_factory.begin() as s:
        stored = [Photo(file_id=f"f{i}", file_unique_id=f"u{i}", status=PhotoStatus.STORED, attempts=1,
                        sha256=f"{i:064x}", phash=h, created_at=t0) for i, h in enumerate(hashes)]
        s.add_all(stored)
        await s.flush()
        for photo in stored:
            index_hash(s, photo)
        new = [Photo(file_id=f"n{i}", file_unique_id=f"nu{i}", status=PhotoStatus.STORED, attempts=1,
                     sha256=f"{10_000 + i:064x}", phash=p, created_at=t0 + timedelta(minutes=1))
               for i, p in enumerate(probes)]
        s.add_all(new)
        await s.flush()
    found = 0
    async with ctx.session_factory() as s:
        for photo in new:
            for distance in (0, 3, 6, 7, 8):  # 8: more than the index answers, every photo is compared
                match = await find_reuse(s, photo, max_distance=distance)
                best = min((hamming(h, photo.phash) for h in hashes), default=65)
                if best > distance:
                    assert match is None, (photo.phash, distance)
                else:
                    assert match is not None and hamming(match.phash, photo.phash) == best, (photo.phash, distance)
                    found += 1
    assert found >= 12  # the near copies were there to find
    async with ctx.session_factory() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(PhotoHashByte)) == 8 * len(hashes)


def test_migration_0014_files_the_hash_bytes_of_every_stored_photo(baseline_url: str) -> None:  # noqa: F811
    upgrade(baseline_url, "0013")

    def fill(conn: sa.Connection) -> None:
        conn.execute(sa.text(
            "INSERT INTO photos (id, file_id, file_unique_id, status, attempts, phash, created_at) VALUES "
            "(1, 'a', 'ua', 'stored', 1, '8f00ff00000000a1', '2026-03-01 00:00:00+00'), "
            "(2, 'b', 'ub', 'pending', 0, NULL, '2026-03-01 00:00:00+00')"
        ))

    asyncio.run(_run(fill, baseline_url))
    upgrade(baseline_url)

    def read(conn: sa.Connection) -> list[tuple[int, int, int]]:
        return [tuple(r) for r in conn.execute(sa.text(  # type: ignore[misc]
            "SELECT photo_id, position, value FROM photo_hash_bytes ORDER BY photo_id, position")).all()]

    assert asyncio.run(_run(read, baseline_url)) == [
        (1, 0, 0x8F), (1, 1, 0x00), (1, 2, 0xFF), (1, 3, 0), (1, 4, 0), (1, 5, 0), (1, 6, 0), (1, 7, 0xA1)]
