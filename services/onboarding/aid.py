"""Aid receipt: the items of the package, received or not, a photo, and the end of onboarding.

The package (``AidPackage`` + ``AidItem``) normally comes from the roster import; a recipient without one gets
the standard items of their business type from settings. Answers are written to the item rows as they come,
so a restart loses nothing. Missing items open an ``AID_INCOMPLETE`` case for the TKSK. The photo is stored as
a ``Photo`` row with status ``pending``; the photo service's retry scan downloads it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.config import Settings
from db.enums import CaseKind, OnboardingState
from db.models import AidItem, AidPackage, CheckinDue, Photo, Recipient
from services.audit import audit
from services.cases.opening import OpenedCase, open_case
from services.clock import Clock
from services.photos import PhotoRef, add_pending
from services.schedule import schedule_next_checkin


async def ensure_package(session: AsyncSession, recipient: Recipient, settings: Settings) -> AidPackage:
    package = await session.scalar(
        select(AidPackage).where(AidPackage.recipient_id == recipient.id).options(selectinload(AidPackage.items))
    )
    if package is None:
        from services.aid.packages import default_items

        package = AidPackage(
            recipient_id=recipient.id, business_type=recipient.business_type, value=recipient.aid_value,
            delivered_on=recipient.aid_date,
        )
        package.items = default_items(settings.program, recipient.business_type)
        session.add(package)
        await session.flush()
    elif package.delivered_on is None and recipient.aid_date is not None:
        package.delivered_on = recipient.aid_date
    return package


def next_unanswered(package: AidPackage) -> AidItem | None:
    return next((item for item in package.items if item.received is None), None)


def missing_items(package: AidPackage) -> list[AidItem]:
    return [item for item in package.items if item.received is False]


def confirm_all(package: AidPackage) -> None:
    for item in package.items:
        item.received = True


def start_item_by_item(package: AidPackage) -> AidItem | None:
    """'Something is missing': clear earlier answers and return the first item to ask about."""
    for item in package.items:
        item.received = None
    return next_unanswered(package)


def answer_item(package: AidPackage, item_id: int, received: bool) -> AidItem | None:
    """Record one answer; returns the item or None when it is not in this package."""
    item = next((i for i in package.items if i.id == item_id), None)
    if item is not None:
        item.received = received
    return item


async def report_incomplete(
    session: AsyncSession, *, recipient: Recipient, package: AidPackage, settings: Settings, clock: Clock
) -> OpenedCase | None:
    missing = missing_items(package)
    if not missing:
        return None
    return await open_case(
        session, recipient=recipient, kind=CaseKind.AID_INCOMPLETE, source="onboarding",
        description="Bantuan tidak lengkap. Belum diterima: " + ", ".join(item.name for item in missing),
        settings=settings, clock=clock,
    )


async def add_receipt_photo(
    session: AsyncSession,
    clock: Clock,
    *,
    recipient: Recipient,
    package: AidPackage,
    file_id: str,
    file_unique_id: str,
    file_size: int | None,
    width: int | None,
    height: int | None,
) -> Photo:
    """Register the photo for download by the photo service (status pending, due now)."""
    existing = await session.scalar(
        select(Photo).where(Photo.aid_package_id == package.id, Photo.file_unique_id == file_unique_id)
    )
    if existing is not None:
        return existing
    ref = PhotoRef(file_id, file_unique_id, file_size, width, height)
    photo = add_pending(session, ref, now=clock.now(), recipient_id=recipient.id, aid_package_id=package.id)
    await session.flush()
    return photo


async def complete_onboarding(
    session: AsyncSession, *, recipient: Recipient, package: AidPackage, settings: Settings, clock: Clock
) -> CheckinDue | None:
    """The recipient is active: receipt confirmed, first check-in scheduled."""
    now = clock.now()
    if package.receipt_confirmed_at is None:
        package.receipt_confirmed_at = now
    recipient.onboarding_state = OnboardingState.ACTIVE
    recipient.joined_at = recipient.joined_at or now
    recipient.updated_at = now
    audit(session, clock, actor=f"recipient:{recipient.id}", action="onboarding.completed",
          target=f"recipient:{recipient.id}",
          details={"missing_items": len(missing_items(package))})
    await session.flush()
    return await schedule_next_checkin(session, recipient, settings=settings, now=now)


def recently_completed(package: AidPackage, now: datetime, seconds: int = 120) -> bool:
    """True just after the receipt was confirmed (the rest of a photo album is still arriving)."""
    at = package.receipt_confirmed_at
    return at is not None and (now - at).total_seconds() <= seconds
