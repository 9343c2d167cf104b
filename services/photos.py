"""Photos from Telegram, stored content-addressed and checked for reuse.

Every photo the bot accepts (check-ins, aid receipts, case reports) is first a ``Photo`` row with status
``pending`` and its Telegram ``file_id``: that is all a conversation needs, so a slow or failed download never
blocks anyone. The downloader then fetches it through getFile (the bot only ever asks for a size under
Telegram's 20 MB download limit), stores it under ``storage.media_dir/ab/cd/<sha256>.jpg``, computes a
perceptual hash, and flags reuse: the same or a near-identical picture as an earlier photo of this recipient or
of anyone else marks the check-in for the TKSK to review (never silently accepted, never rejected).
Failed downloads are retried by the scan task with a growing delay.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import imagehash
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import Document, PhotoSize
from PIL import Image, UnidentifiedImageError
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from db.enums import PhotoStatus, ReminderStatus
from db.models import Checkin, Photo, PhotoHashByte, Reminder

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)
# A durable notice (a ``Reminder`` row sent by the check-in scan) telling the TKSK to review a check-in whose
# photo looks reused; one per check-in however many of its photos match.
REUSE_NOTICE_KIND = "photo_reuse"


@dataclass(frozen=True, slots=True)
class PhotoRef:
    """What a conversation keeps of a photo between steps (JSON-serialisable for the FSM)."""

    file_id: str
    file_unique_id: str
    file_size: int | None = None
    width: int | None = None
    height: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id, "file_size": self.file_size,
                "width": self.width, "height": self.height}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PhotoRef:
        return cls(data["file_id"], data["file_unique_id"], data.get("file_size"), data.get("width"),
                   data.get("height"))


class PhotoTooLarge(ValueError):
    """Every size of the picture is over Telegram's download limit for bots."""


def best_photo_size(sizes: Sequence[PhotoSize], max_bytes: int) -> PhotoRef:
    """The largest size Telegram lets a bot download (sizes of unknown byte size count as fitting)."""
    fitting = [s for s in sizes if s.file_size is None or s.file_size <= max_bytes]
    if not fitting:
        raise PhotoTooLarge
    best = max(fitting, key=lambda s: s.width * s.height)
    return PhotoRef(best.file_id, best.file_unique_id, best.file_size, best.width, best.height)


def image_document(document: Document, max_bytes: int) -> PhotoRef | None:
    """A document that is an image counts as a photo; None for any other file."""
    mime = (document.mime_type or "").lower()
    name = (document.file_name or "").lower()
    if not (mime.startswith("image/") or name.endswith((".jpg", ".jpeg", ".png", ".webp", ".heic"))):
        return None
    if document.file_size is not None and document.file_size > max_bytes:
        raise PhotoTooLarge
    return PhotoRef(document.file_id, document.file_unique_id, document.file_size)


def add_pending(
    session: AsyncSession, ref: PhotoRef, *, now: datetime, recipient_id: int | None,
    checkin_id: int | None = None, case_id: int | None = None, aid_package_id: int | None = None,
) -> Photo:
    photo = Photo(
        recipient_id=recipient_id, checkin_id=checkin_id, case_id=case_id, aid_package_id=aid_package_id,
        file_id=ref.file_id, file_unique_id=ref.file_unique_id, file_size=ref.file_size, width=ref.width,
        height=ref.height, status=PhotoStatus.PENDING, attempts=0, next_attempt_at=now, created_at=now,
    )
    session.add(photo)
    return photo


def media_path(media_dir: Path, sha256: str) -> Path:
    return media_dir / sha256[:2] / sha256[2:4] / f"{sha256}.jpg"


def perceptual_hash(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as img:
        return str(imagehash.phash(img.convert("RGB")))


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


HASH_BYTES = 8  # a 64-bit perceptual hash


def hash_bytes(phash: str) -> bytes:
    return int(phash, 16).to_bytes(HASH_BYTES, "big")


def index_hash(session: AsyncSession, photo: Photo) -> None:
    """File the stored photo's hash bytes for later reuse checks (``PhotoHashByte``)."""
    if photo.phash:
        session.add_all(PhotoHashByte(photo_id=photo.id, position=i, value=b)
                        for i, b in enumerate(hash_bytes(photo.phash)))


async def find_reuse(session: AsyncSession, photo: Photo, *, max_distance: int) -> Photo | None:
    """An earlier stored photo (of anyone) that is the same or a near-identical picture, outside this check-in."""
    others = select(Photo.id, Photo.sha256, Photo.phash).where(
        Photo.status == PhotoStatus.STORED, Photo.id != photo.id, Photo.created_at <= photo.created_at,
        Photo.aid_package_id.is_(None),  # aid-receipt pictures show the tools, not the business at work
    )
    if photo.checkin_id is not None:
        others = others.where(or_(Photo.checkin_id.is_(None), Photo.checkin_id != photo.checkin_id))
    if photo.phash and max_distance < HASH_BYTES:
        # Within max_distance bits, at least HASH_BYTES - max_distance bytes are equal (db.models.PhotoHashByte):
        # only the photos sharing that many are read, through the index, never the whole history. The same
        # picture (equal SHA-256) has the same hash, so it is among them.
        # The candidates first, on their own: as a subquery the planners guessed hundreds and read all photos.
        sharing = list(await session.scalars(
            select(PhotoHashByte.photo_id)
            .where(or_(*(and_(PhotoHashByte.position == i, PhotoHashByte.value == b)
                         for i, b in enumerate(hash_bytes(photo.phash)))))
            .group_by(PhotoHashByte.photo_id)
            .having(func.count() >= HASH_BYTES - max_distance)
        ))
        if not sharing:
            return None
        others = others.where(Photo.id.in_(sharing))
    best: tuple[int, int] | None = None
    for other_id, sha, phash in await session.execute(others):
        distance = 0 if sha == photo.sha256 else (hamming(phash, photo.phash) if phash and photo.phash else 65)
        if distance <= max_distance and (best is None or distance < best[0]):
            best = (distance, other_id)
    return await session.get(Photo, best[1]) if best else None


@dataclass(slots=True)
class StoreOutcome:
    photo_id: int
    stored: bool
    reused_photo_id: int | None = None
    checkin_id: int | None = None


@dataclass(slots=True)
class Fetched:
    """What getFile and the download gave for one photo (no database involved)."""

    data: bytes | None = None
    phash: str | None = None
    too_large: bool = False
    error: BaseException | None = None


async def fetch(bot: Bot, file_id: str, *, settings: Settings) -> Fetched:
    """getFile, download and hash one photo: Telegram requests, so never called inside a transaction."""
    try:
        file = await bot.get_file(file_id)
        if file.file_size is not None and file.file_size > settings.storage.max_download_bytes:
            return Fetched(too_large=True)
        buffer = io.BytesIO()
        await bot.download_file(file.file_path, destination=buffer, timeout=60)
        data = buffer.getvalue()
        phash = await asyncio.to_thread(perceptual_hash, data)
    except (TelegramAPIError, TimeoutError, OSError, UnidentifiedImageError) as exc:
        return Fetched(error=exc)
    return Fetched(data=data, phash=phash)


async def store_fetched(session: AsyncSession, photo: Photo, fetched: Fetched, *, settings: Settings,
                        now: datetime) -> StoreOutcome:
    """Record one download in the caller's transaction. On failure the row is rescheduled with backoff."""
    photo.attempts += 1
    if fetched.too_large:
        photo.status, photo.next_attempt_at = PhotoStatus.TOO_LARGE, None
        return StoreOutcome(photo.id, False)
    if fetched.error is not None or fetched.data is None:
        exc = fetched.error
        permanent = isinstance(exc, TelegramBadRequest | UnidentifiedImageError) and photo.attempts >= 3
        if permanent or photo.attempts >= MAX_ATTEMPTS:
            photo.status, photo.next_attempt_at = PhotoStatus.FAILED, None
        else:
            photo.status = PhotoStatus.PENDING
            photo.next_attempt_at = now + timedelta(minutes=2 ** photo.attempts)
        log.info("photo %s download failed (attempt %s): %s", photo.id, photo.attempts, type(exc).__name__)
        return StoreOutcome(photo.id, False)
    data, phash = fetched.data, fetched.phash
    sha = hashlib.sha256(data).hexdigest()
    path = media_path(Path(settings.storage.media_dir), sha)
    if not path.exists():
        await asyncio.to_thread(_write, path, data)
    photo.sha256, photo.phash, photo.path = sha, phash, str(path)
    photo.file_size = photo.file_size or len(data)
    photo.status, photo.next_attempt_at = PhotoStatus.STORED, None
    index_hash(session, photo)
    reused = None
    if photo.checkin_id is not None:
        match = await find_reuse(session, photo, max_distance=settings.checkin.photo_reuse_distance)
        if match is not None:
            photo.reuse_of_photo_id = match.id
            await session.execute(update(Checkin).where(Checkin.id == photo.checkin_id).values(reuse_flagged=True))
            await _queue_reuse_notice(session, photo, match, now=now)
            reused = match.id
    return StoreOutcome(photo.id, True, reused, photo.checkin_id)


async def _queue_reuse_notice(session: AsyncSession, photo: Photo, match: Photo, *, now: datetime) -> None:
    key = f"{REUSE_NOTICE_KIND}:{photo.checkin_id}"
    if await session.scalar(select(Reminder.id).where(Reminder.dedupe_key == key)) is not None:
        return  # another photo of this check-in already queued it
    try:
        async with session.begin_nested():  # a concurrent download of a sibling photo may queue it first
            session.add(Reminder(
                dedupe_key=key, kind=REUSE_NOTICE_KIND, recipient_id=photo.recipient_id, step=0, due_at=now,
                status=ReminderStatus.PENDING, attempts=0,
                payload={"checkin_id": photo.checkin_id, "photo_id": photo.id, "match_photo_id": match.id},
            ))
    except IntegrityError:
        pass


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A temporary name of its own: two downloads of the same picture (a reused photo) may run at once.
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")
    tmp.write_bytes(data)
    tmp.replace(path)  # atomic: a crash never leaves half a picture under its final name


async def claim_due(session_factory: async_sessionmaker[AsyncSession], now: datetime, limit: int,
                    photo_ids: Sequence[int] | None = None) -> list[int]:
    """Claim pending photos due for a (re)try; a lease keeps other processes off them meanwhile.

    The lease: next_attempt_at moves past now, so another scan skips these until it runs out. PostgreSQL locks
    the candidates (``SKIP LOCKED``); SQLite claims with one conditional ``UPDATE … RETURNING`` (see
    ``db/claims.py``), so the immediate download and a scan never both take one photo.
    """
    due = [Photo.status == PhotoStatus.PENDING, Photo.next_attempt_at <= now]
    if photo_ids is not None:
        due.append(Photo.id.in_(list(photo_ids)))
    async with session_factory.begin() as session:
        query = select(Photo.id).where(*due).order_by(Photo.next_attempt_at, Photo.id).limit(limit)
        if session.bind.dialect.name == "postgresql":
            ids = list(await session.scalars(query.with_for_update(skip_locked=True)))
            if ids:
                await session.execute(update(Photo).where(Photo.id.in_(ids)).values(next_attempt_at=now + LEASE))
            return ids
        stmt = (
            update(Photo).where(Photo.id.in_(query.scalar_subquery()), *due)
            .values(next_attempt_at=now + LEASE).returning(Photo.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(await session.scalars(stmt))


async def process_photos(bot: Bot, session_factory: async_sessionmaker[AsyncSession], *, settings: Settings,
                         now: datetime, limit: int, photo_ids: Sequence[int] | None = None) -> list[StoreOutcome]:
    """Download the due photos (or ``photo_ids``): each read, fetched from Telegram with no transaction open,
    then recorded in a short transaction of its own."""
    outcomes: list[StoreOutcome] = []
    for photo_id in await claim_due(session_factory, now, limit, photo_ids):
        async with session_factory() as session:
            file_id = await session.scalar(
                select(Photo.file_id).where(Photo.id == photo_id, Photo.status == PhotoStatus.PENDING))
        if file_id is None:
            continue
        fetched = await fetch(bot, file_id, settings=settings)
        async with session_factory.begin() as session:
            photo = await session.get(Photo, photo_id)
            if photo is not None and photo.status == PhotoStatus.PENDING:
                outcomes.append(await store_fetched(session, photo, fetched, settings=settings, now=now))
    return outcomes
