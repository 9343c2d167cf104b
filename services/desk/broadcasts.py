"""Broadcasts at the desk: their history with delivery counts and who was not reached, composing one (text or a
photo with the text as its caption, an audience with a live count, now or scheduled) and cancelling a scheduled
one. The sending itself is the bot's delivery worker, exactly as for /siaran."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import DeliveryStatus
from db.models import Broadcast, BroadcastDelivery
from services.broadcast import deliveries as dl
from services.broadcast import photo as broadcast_photo
from services.broadcast.audience import Audience
from services.broadcast.limits import CAPTION_LIMIT, MAX_AHEAD, TEXT_LIMIT
from services.broadcast.sender import PHOTO_PATH_PREFIX
from services.clock import FrozenClock
from services.desk.access import DeskUser


class ComposeProblem(StrEnum):
    NO_TEXT = "no_text"
    TOO_LONG = "too_long"
    CAPTION_TOO_LONG = "caption_too_long"  # a photo's caption is at most CAPTION_LIMIT characters
    NOT_AN_IMAGE = "not_an_image"
    PHOTO_TOO_LARGE = "photo_too_large"
    PHOTO_SHAPE = "photo_shape"
    NOBODY = "nobody"          # neither recipients nor field workers chosen
    PAST = "past"              # scheduled in the past
    TOO_FAR = "too_far"        # more than MAX_AHEAD ahead


class ComposeRefused(Exception):
    def __init__(self, problem: ComposeProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(slots=True)
class BroadcastRow:
    broadcast: Broadcast
    counts: dl.Counts


@dataclass(slots=True)
class BroadcastPage:
    items: list[BroadcastRow]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


async def history(session: AsyncSession, *, page: int = 0, page_size: int = 25) -> BroadcastPage:
    """Broadcasts, newest first, with their delivery counts (one grouped query for the whole page)."""
    total = await session.scalar(select(func.count()).select_from(Broadcast)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(page, 0), pages - 1)
    rows = list(await session.scalars(
        select(Broadcast).order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
        .limit(page_size).offset(page * page_size)
    ))
    by: dict[int, dict[str, int]] = {}
    if rows:
        grouped = await session.execute(
            select(BroadcastDelivery.broadcast_id, BroadcastDelivery.status, func.count())
            .where(BroadcastDelivery.broadcast_id.in_([b.id for b in rows]))
            .group_by(BroadcastDelivery.broadcast_id, BroadcastDelivery.status)
        )
        for broadcast_id, status, n in grouped:
            by.setdefault(broadcast_id, {})[status] = int(n)
    items = [BroadcastRow(b, _counts(by.get(b.id, {}))) for b in rows]
    return BroadcastPage(items, total, page, page_size)


def _counts(by: dict[str, int]) -> dl.Counts:
    return dl.Counts(pending=by.get(DeliveryStatus.PENDING, 0), sent=by.get(DeliveryStatus.SENT, 0),
                     failed=by.get(DeliveryStatus.FAILED, 0), blocked=by.get(DeliveryStatus.BLOCKED, 0))


@dataclass(slots=True)
class BroadcastDetail:
    broadcast: Broadcast
    counts: dl.Counts
    audience: Audience
    not_reached: list[list[Any]] = field(default_factory=list)  # rows of dl.failed_rows
    more_not_reached: bool = False


async def detail(session: AsyncSession, broadcast_id: int, *, limit: int = 200) -> BroadcastDetail | None:
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        return None
    rows: list[list[Any]] = []
    more = False
    async for part in dl.failed_rows(session, broadcast_id, chunk=limit):
        rows.extend(part)
        if len(rows) >= limit:
            more = len(rows) > limit
            break
    return BroadcastDetail(broadcast, await dl.counts(session, broadcast_id), Audience.from_json(broadcast.audience),
                           rows[:limit], more)


def check_compose(text_id: str, audience: Audience, scheduled_at: datetime | None, *, now: datetime) -> None:
    if not text_id.strip():
        raise ComposeRefused(ComposeProblem.NO_TEXT)
    if len(text_id) > TEXT_LIMIT:
        raise ComposeRefused(ComposeProblem.TOO_LONG)
    if audience.empty:
        raise ComposeRefused(ComposeProblem.NOBODY)
    if scheduled_at is not None and scheduled_at <= now:
        raise ComposeRefused(ComposeProblem.PAST)
    if scheduled_at is not None and scheduled_at - now > MAX_AHEAD:
        raise ComposeRefused(ComposeProblem.TOO_FAR)


_PHOTO_PROBLEMS = {
    broadcast_photo.PhotoProblem.NOT_AN_IMAGE: ComposeProblem.NOT_AN_IMAGE,
    broadcast_photo.PhotoProblem.TOO_LARGE: ComposeProblem.PHOTO_TOO_LARGE,
    broadcast_photo.PhotoProblem.BAD_SHAPE: ComposeProblem.PHOTO_SHAPE,
}


async def compose(
    session: AsyncSession, viewer: DeskUser, *, text_id: str, text_en: str | None, audience: Audience,
    scheduled_at: datetime | None, now: datetime, photo: bytes | None = None, media_dir: Path | None = None,
) -> Broadcast:
    """A new broadcast from the desk (staff only), through the same service as /siaran. With ``photo`` (the
    uploaded bytes) it is a photo with the text as its caption: checked with Pillow and stored under
    ``media_dir`` (services/broadcast/photo.py), sent by the delivery worker with sendPhoto."""
    viewer.require_staff()
    text_en = (text_en or "").strip() or None
    check_compose(text_id, audience, scheduled_at, now=now)
    if text_en is not None and len(text_en) > TEXT_LIMIT:
        raise ComposeRefused(ComposeProblem.TOO_LONG)
    photo_file_id = None
    if photo:
        if len(text_id.strip()) > CAPTION_LIMIT or (text_en is not None and len(text_en) > CAPTION_LIMIT):
            raise ComposeRefused(ComposeProblem.CAPTION_TOO_LONG)
        if media_dir is None:
            raise ValueError("media_dir is needed to keep a broadcast's photo")
        try:
            jpeg = await asyncio.to_thread(broadcast_photo.checked_jpeg, photo)
        except broadcast_photo.PhotoRefused as exc:
            raise ComposeRefused(_PHOTO_PROBLEMS[exc.problem]) from None
        stored = await asyncio.to_thread(broadcast_photo.store, media_dir, jpeg)
        photo_file_id = f"{PHOTO_PATH_PREFIX}{stored}"
    return await dl.create_broadcast(
        session, FrozenClock(now), actor=viewer.label, actor_account_id=viewer.account_id, text_id=text_id.strip(),
        text_en=text_en, photo_file_id=photo_file_id, audience=audience, scheduled_at=scheduled_at, via="web",
    )


async def cancel(session: AsyncSession, viewer: DeskUser, broadcast_id: int, *, now: datetime) -> bool:
    viewer.require_staff()
    return await dl.cancel_scheduled(session, FrozenClock(now), broadcast_id, actor=viewer.label,
                                     actor_account_id=viewer.account_id)
