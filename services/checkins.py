"""Check-ins: storing a report, keeping the business status current, and what each answer sets in motion.

* A report completes the recipient's open check-in period, or, when this period already has a report, is kept
  as an extra report (never replacing one silently).
* The recipient's business status (running, paused, stopped, changed; unknown after a missed check-in) follows
  the latest report, and every change is a ``BusinessStatusChange`` row: the input of the survival analysis.
* A stopped business opens a high-priority case for the TKSK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.enums import BusinessStatus, CaseKind, CheckinDueState, Urgency
from db.models import BusinessStatusChange, Case, Checkin, CheckinDue, Recipient
from services.cases import open_case
from services.photos import PhotoRef, add_pending
from services.schedule import cadence, open_due, schedule_next_checkin

STATUSES = (BusinessStatus.RUNNING, BusinessStatus.PAUSED, BusinessStatus.STOPPED, BusinessStatus.CHANGED)
SALES_BRACKETS = ("lt250k", "250k_500k", "500k_1m", "1m_2m", "gt2m")
PAUSE_REASONS = ("capital", "materials", "equipment", "no_buyers", "health_family", "place", "disaster", "other")


@dataclass(slots=True)
class CheckinAnswers:
    status: BusinessStatus
    days_open: int | None = None
    sales_bracket: str | None = None
    reason: str | None = None
    note: str | None = None
    voice_file_id: str | None = None
    new_business: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    photos: list[PhotoRef] = field(default_factory=list)


@dataclass(slots=True)
class CheckinResult:
    checkin: Checkin
    photo_ids: list[int]
    next_due: CheckinDue | None
    stopped_case: Case | None


def current_period(recipient: Recipient, settings: Settings, today: date) -> int | None:
    """The period whose window (the day after the previous due day, up to its own due day) holds ``today``."""
    if recipient.aid_date is None:
        return None
    for period_no, day in cadence(recipient.aid_date, settings):
        if day >= today:
            return period_no
    return None  # unreachable: the cadence never ends


async def set_business_status(session: AsyncSession, recipient: Recipient, status: BusinessStatus, *,
                              now: datetime, checkin_id: int | None = None) -> bool:
    """Record a change of business status (with its history row); False when nothing changed."""
    if recipient.business_status == status:
        return False
    recipient.business_status = status
    recipient.business_status_since = now
    recipient.updated_at = now
    session.add(BusinessStatusChange(recipient_id=recipient.id, status=status, changed_at=now, checkin_id=checkin_id))
    return True


async def submit_checkin(session: AsyncSession, recipient: Recipient, answers: CheckinAnswers, *,
                         settings: Settings, now: datetime) -> CheckinResult:
    due = await open_due(session, recipient.id)
    period = current_period(recipient, settings, now.astimezone(settings.program.tz).date())
    # The open period is completed by a report made in its window or late; when the open period lies in the
    # future, this window's period was already reported, so this report is an extra one.
    is_extra = due is None or period is None or due.period_no > period

    checkin = Checkin(
        recipient_id=recipient.id, checkin_due_id=None if is_extra or due is None else due.id, is_extra=is_extra,
        status=answers.status, days_open=answers.days_open, sales_bracket=answers.sales_bracket,
        reason=answers.reason or answers.new_business, note=answers.note, voice_file_id=answers.voice_file_id,
        latitude=answers.latitude, longitude=answers.longitude, submitted_at=now,
    )
    session.add(checkin)
    await session.flush()
    photos = [add_pending(session, ref, now=now, recipient_id=recipient.id, checkin_id=checkin.id)
              for ref in answers.photos]
    await session.flush()

    if due is not None and not is_extra:
        due.state, due.completed_at = CheckinDueState.DONE, now
        await session.flush()
    await set_business_status(session, recipient, answers.status, now=now, checkin_id=checkin.id)
    next_due = await schedule_next_checkin(session, recipient, settings=settings, now=now)

    stopped_case = None
    if answers.status == BusinessStatus.STOPPED:
        description = " — ".join(x for x in (answers.reason, answers.note) if x) or None
        opened = await open_case(
            session, recipient=recipient, kind=CaseKind.BUSINESS_STOPPED, urgency=Urgency.HIGH,
            description=description, voice_file_id=answers.voice_file_id, source="checkin",
            actor=f"recipient:{recipient.id}", settings=settings, clock=_At(now),
        )
        stopped_case = opened.case if opened.created else None
    return CheckinResult(checkin, [p.id for p in photos], next_due, stopped_case)


class _At:
    """A clock fixed at the time of the report, so everything it sets in motion shares one timestamp."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at
