"""The hand-over of an aid package by the TKSK or PSM: every item ticked on the checklist, a photo of the
recipient with the goods, and the GPS location. Its date becomes the aid date (the recipient is then asked to
confirm receipt, listing the real items, by the onboarding scan; the check-in schedule starts from it) and a
BAST number is given, never reused.

Refused, with nothing written: a recipient outside the worker's kecamatan, a package handed over already (a
second hand-over of the same package), no photo, no location, an item not ticked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.config import Settings
from db.enums import CandidateStage
from db.models import AidPackage, Candidate, FieldWorker, Handover, Recipient
from services.aid.lifecycle import Actor, move
from services.audit import audit
from services.clock import Clock
from services.photos import PhotoRef, add_pending


class HandoverRefused(Exception):
    def __init__(self, code: str, **details: object) -> None:
        super().__init__(code)
        self.code, self.details = code, details


@dataclass(frozen=True)
class HandoverTarget:
    recipient: Recipient
    package: AidPackage


async def pending_in(session: AsyncSession, worker: FieldWorker) -> list[HandoverTarget]:
    """Recipients of the worker's kecamatan whose package has not been handed over yet."""
    rows = await session.execute(
        select(Recipient, AidPackage).join(AidPackage, AidPackage.recipient_id == Recipient.id)
        .outerjoin(Handover, Handover.package_id == AidPackage.id)
        .where(Recipient.kecamatan_id == worker.kecamatan_id, AidPackage.delivered_on.is_(None),
               Recipient.aid_date.is_(None), Handover.id.is_(None))
        .order_by(Recipient.name, Recipient.id)
    )
    return [HandoverTarget(r, p) for r, p in rows]


async def target_for(session: AsyncSession, worker: FieldWorker, recipient_id: int) -> HandoverTarget:
    recipient = await session.get(Recipient, recipient_id)
    if recipient is None:
        raise HandoverRefused("not_found")
    if recipient.kecamatan_id != worker.kecamatan_id:
        raise HandoverRefused("other_kecamatan")
    package = await session.scalar(select(AidPackage).where(AidPackage.recipient_id == recipient.id)
                                   .options(selectinload(AidPackage.items)))
    if package is None:
        raise HandoverRefused("no_package")
    done = await session.scalar(select(Handover.number).where(Handover.package_id == package.id))
    if done is not None or package.delivered_on is not None or recipient.aid_date is not None:
        raise HandoverRefused("already_handed_over", number=done or "-")
    return HandoverTarget(recipient, package)


async def record_handover(
    session: AsyncSession, clock: Clock, settings: Settings, worker: FieldWorker, recipient_id: int, *,
    ticked: set[int], photo: PhotoRef | None, latitude: float | None, longitude: float | None, actor: Actor,
) -> Handover:
    target = await target_for(session, worker, recipient_id)
    recipient, package = target.recipient, target.package
    missing = [i.name for i in package.items if i.position not in ticked]
    if missing:
        raise HandoverRefused("items_missing", items=", ".join(missing))
    if photo is None:
        raise HandoverRefused("no_photo")
    if latitude is None or longitude is None:
        raise HandoverRefused("no_location")
    now = clock.now()
    today: date = now.astimezone(settings.program.tz).date()
    total = sum((i.unit_price or 0) * (i.quantity or 1) for i in package.items) or package.value
    picture = add_pending(session, photo, now=now, recipient_id=recipient.id, aid_package_id=package.id)
    await session.flush()
    handover = Handover(
        number=f"pending-{package.id}", package_id=package.id, recipient_id=recipient.id,
        worker_id=worker.id, handed_over_on=today, handed_over_at=now, latitude=latitude,
        longitude=longitude, photo_id=picture.id, total_value=total, created_at=now,
    )
    session.add(handover)
    # A concurrent second hand-over of the same package fails here on the unique package key (IntegrityError):
    # the caller rolls the whole update back and says it was handed over already.
    await session.flush()
    kab = recipient.kecamatan.kabupaten.code
    handover.number = settings.bast.number_format.format(seq=handover.id, kab=kab, year=today.year)
    for item in package.items:
        item.handed_over = True
    package.delivered_on = today
    recipient.aid_date = today
    recipient.updated_at = now
    candidate = await session.scalar(select(Candidate).where(Candidate.recipient_id == recipient.id))
    if candidate is not None and candidate.stage == CandidateStage.PACKAGE_SET:
        move(session, clock, candidate, CandidateStage.HANDED_OVER, actor=actor, action="handed_over",
             note=handover.number)
    audit(session, clock, actor=actor.name, actor_account_id=actor.account_id, action="aid.handed_over",
          target=f"recipient:{recipient.id}", details={"bast": handover.number, "total": total})
    await session.flush()
    return handover
