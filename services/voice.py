"""Voice notes (and round videos) from Telegram, fetched once for playing in a browser and kept on disk.

The database keeps only a voice note's ``file_id``. The web desk plays it: :func:`fetch` asks Telegram
(getFile, then the download) and stores the bytes under ``storage.media_dir/voice/ab/<sha256 of the file
id>.ogg``; later plays read that file. Telegram voice notes are OGG/Opus (``audio/ogg``), which browsers play
in an ``<audio>`` element. The caller makes sure no database transaction is open during :func:`fetch` (it is a
Telegram request). Anonymising a person deletes their cached voice notes (:func:`forget`).
A round video (``video_note``) is MP4 (``video/mp4``, for a ``<video>`` element): ``kind="video"``.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import uuid
import weakref
from collections.abc import Iterable
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiohttp import ClientError

log = logging.getLogger(__name__)

CONTENT_TYPE = "audio/ogg"
# kind -> (file extension, content type, how the file starts)
KINDS: dict[str, tuple[str, str]] = {"voice": ("ogg", CONTENT_TYPE), "video": ("mp4", "video/mp4")}
# One lock per voice note being fetched (gone once nobody holds it).
_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


class VoiceUnavailable(Exception):
    """Telegram would not give the file (unknown file id, too large, network trouble, not OGG audio)."""


def cache_path(media_dir: Path, file_id: str, kind: str = "voice") -> Path:
    digest = hashlib.sha256(file_id.encode()).hexdigest()
    return media_dir / "voice" / digest[:2] / f"{digest}.{KINDS[kind][0]}"


def cached(media_dir: Path, file_id: str, kind: str = "voice") -> Path | None:
    path = cache_path(media_dir, file_id, kind)
    return path if path.is_file() else None


def _looks_right(data: bytes, kind: str) -> bool:
    if kind == "video":  # an ISO media file: a box size, then "ftyp"
        return data[4:8] == b"ftyp"
    return data[:4] == b"OggS"


async def fetch(bot: Bot, file_id: str, *, media_dir: Path, max_bytes: int, kind: str = "voice") -> Path:
    """The voice note on disk, downloaded through the bot the first time. Two plays at once download it once."""
    lock = _locks.get(file_id)
    if lock is None:
        lock = _locks[file_id] = asyncio.Lock()
    async with lock:
        found = cached(media_dir, file_id, kind)
        if found is not None:
            return found
        try:
            file = await bot.get_file(file_id)
            if file.file_size is not None and file.file_size > max_bytes or not file.file_path:
                raise VoiceUnavailable("too large")
            buffer = io.BytesIO()
            await bot.download_file(file.file_path, destination=buffer, timeout=60)
        except (TelegramAPIError, ClientError, TimeoutError, OSError) as exc:
            log.info("voice note download failed: %s", type(exc).__name__)
            raise VoiceUnavailable(type(exc).__name__) from exc
        data = buffer.getvalue()
        if not _looks_right(data, kind):
            raise VoiceUnavailable(f"not {KINDS[kind][0]}")
        path = cache_path(media_dir, file_id, kind)
        await asyncio.to_thread(_write, path, data)
        return path


def forget(media_dir: Path, file_ids: Iterable[str | None]) -> int:
    """Delete the cached copies of these voice notes and videos (anonymising); returns how many files went."""
    deleted = 0
    for file_id in file_ids:
        if not file_id:
            continue
        for kind in KINDS:
            try:
                cache_path(media_dir, file_id, kind).unlink()
                deleted += 1
            except FileNotFoundError:
                pass
    return deleted


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")
    tmp.write_bytes(data)
    tmp.replace(path)
