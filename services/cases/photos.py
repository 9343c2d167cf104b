"""Photos attached to a case: ``Photo`` rows with ``case_id``, pending until the photo downloader
(services/photos.py) stores them content-addressed; until then, and for forwarding to the TKSK, the Telegram
``file_id`` is enough."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, Photo
from services.photos import PhotoRef, add_pending

__all__ = ["PhotoRef", "attach_photos"]


async def attach_photos(session: AsyncSession, case: Case, photos: list[PhotoRef], *, now: datetime) -> list[Photo]:
    rows = [add_pending(session, p, now=now, recipient_id=case.recipient_id, case_id=case.id) for p in photos]
    await session.flush()
    return rows
