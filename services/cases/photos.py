"""Photos attached to a case: ``Photo`` rows with ``case_id``.

The rows are created ``pending`` with ``next_attempt_at`` set, the same as check-in photos, so the photo
download worker stores them content-addressed under ``storage.media_dir`` when it runs; until then (and for
forwarding to the TKSK) the Telegram ``file_id`` is enough.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import PhotoStatus
from db.models import Case, Photo


@dataclass(frozen=True, slots=True)
class PhotoRef:
    """What a report keeps of a photo between steps (JSON-serialisable for the FSM)."""

    file_id: str
    file_unique_id: str
    file_size: int | None = None
    width: int | None = None
    height: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PhotoRef:
        return cls(data["file_id"], data["file_unique_id"], data.get("file_size"), data.get("width"),
                   data.get("height"))


async def attach_photos(session: AsyncSession, case: Case, photos: list[PhotoRef], *, now: datetime) -> list[Photo]:
    rows = [
        Photo(
            recipient_id=case.recipient_id, case_id=case.id, file_id=p.file_id, file_unique_id=p.file_unique_id,
            file_size=p.file_size, width=p.width, height=p.height, status=PhotoStatus.PENDING,
            next_attempt_at=now, created_at=now,
        )
        for p in photos
    ]
    session.add_all(rows)
    await session.flush()
    return rows
