"""Recipients: look-ups by NIK (through the blind index, never in clear), by id and by kecamatan."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Recipient
from services.crypto import NikCipher

# Bind parameters per IN (...) list; well under SQLite's and asyncpg's limits.
LOOKUP_CHUNK = 900


async def get_by_id(session: AsyncSession, recipient_id: int) -> Recipient | None:
    return await session.get(Recipient, recipient_id)


async def get_by_nik(session: AsyncSession, cipher: NikCipher, nik: str) -> Recipient | None:
    """The recipient holding ``nik``, found by its HMAC blind index (the NIK is never compared in clear)."""
    return await get_by_nik_hash(session, cipher.blind_index(nik.strip()))


async def get_by_nik_hash(session: AsyncSession, nik_hash: str) -> Recipient | None:
    return await session.scalar(select(Recipient).where(Recipient.nik_hash == nik_hash))


async def list_by_kecamatan(
    session: AsyncSession, kecamatan_id: int, *, limit: int | None = None, offset: int = 0
) -> Sequence[Recipient]:
    stmt = (
        select(Recipient)
        .where(Recipient.kecamatan_id == kecamatan_id)
        .order_by(Recipient.name, Recipient.id)
        .offset(offset)
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


async def rows_by_nik_hash(
    session: AsyncSession, nik_hashes: Iterable[str], *columns: Any
) -> dict[str, Row[Any]]:
    """``nik_hash`` → a row of ``Recipient.id`` plus ``columns``, for many hashes at once (chunked IN)."""
    wanted = list(dict.fromkeys(nik_hashes))
    found: dict[str, Row[Any]] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        stmt = select(Recipient.nik_hash, Recipient.id, *columns).where(Recipient.nik_hash.in_(chunk))
        for row in await session.execute(stmt):
            found[row.nik_hash] = row
    return found
