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
from enum import StrEnum

from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import N_
from db.enums import BusinessStatus, CaseKind, CheckinDueState, Urgency, WorkerRole
from db.models import BusinessStatusChange, Case, Checkin, CheckinDue, FieldWorker, Recipient
from services.audit import audit
from services.cases import open_case
from services.photos import PhotoRef, add_pending
from services.schedule import cadence, open_due, schedule_next_checkin

STATUSES = (BusinessStatus.RUNNING, BusinessStatus.PAUSED, BusinessStatus.STOPPED, BusinessStatus.CHANGED)
SALES_BRACKETS = ("lt250k", "250k_500k", "500k_1m", "1m_2m", "gt2m")
SALES_LABELS = {
    "lt250k": N_("Under Rp250 thousand"), "250k_500k": N_("Rp250–500 thousand"),
    "500k_1m": N_("Rp500 thousand–1 million"),
    "1m_2m": N_("Rp1–2 million"), "gt2m": N_("Over Rp2 million"),
}
PAUSE_REASONS = ("capital", "materials", "equipment", "no_buyers", "health_family", "place", "disaster", "other")
REASON_LABELS = {
    "capital": N_("No capital"), "materials": N_("Raw materials scarce or dear"), "equipment": N_("Equipment broken"),
    "no_buyers": N_("No buyers"), "health_family": N_("Illness or family"), "place": N_("No place to sell"),
    "disaster": N_("Disaster"), "other": N_("Other reason"),
}


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
        # In the reporter's language, as any description a recipient types.
        reason = _reason_text(answers.reason)
        description = " — ".join(x for x in (reason, answers.note) if x) or None
        opened = await open_case(
            session, recipient=recipient, kind=CaseKind.BUSINESS_STOPPED, urgency=Urgency.HIGH,
            description=description, voice_file_id=answers.voice_file_id, source="checkin",
            source_checkin_id=checkin.id, actor=f"{recipient.name} (recipient)", settings=settings, clock=_At(now),
        )
        stopped_case = opened.case if opened.created else None
    return CheckinResult(checkin, [p.id for p in photos], next_due, stopped_case)


def _reason_text(code: str | None) -> str | None:
    if code not in REASON_LABELS:
        return code
    try:
        return _(REASON_LABELS[code])
    except LookupError:  # called outside an update (no language in context)
        return REASON_LABELS[code]


class Review(StrEnum):
    DONE = "done"
    NOT_FOUND = "not_found"
    NOT_YOURS = "not_yours"  # not the TKSK of the recipient's kecamatan
    ALREADY = "already"


@dataclass(slots=True)
class ReviewResult:
    outcome: Review
    checkin: Checkin | None = None
    case: Case | None = None


async def review_checkin(session: AsyncSession, *, checkin_id: int, worker: FieldWorker | None, visit: bool,
                         settings: Settings, now: datetime, actor_account_id: int | None = None,
                         visit_description: str | None = None) -> ReviewResult:
    """The TKSK's verdict on a check-in flagged for a reused photo.

    Only the active TKSK of the recipient's kecamatan may review it, once. "Fine" closes the review; "I will visit"
    also opens a case (kind other, source the check-in) so the visit is tracked with a deadline like any case.
    """
    checkin = await session.get(Checkin, checkin_id)
    recipient = await session.get(Recipient, checkin.recipient_id) if checkin else None
    if checkin is None or recipient is None:
        return ReviewResult(Review.NOT_FOUND)
    if (worker is None or not worker.active or worker.role != WorkerRole.TKSK
            or worker.kecamatan_id != recipient.kecamatan_id):
        return ReviewResult(Review.NOT_YOURS)
    if checkin.reviewed_at is not None:
        return ReviewResult(Review.ALREADY, checkin)
    checkin.reviewed_at = now
    case = None
    if visit:
        opened = await open_case(
            session, recipient=recipient, kind=CaseKind.OTHER, urgency=Urgency.NORMAL,
            description=visit_description,
            source="photo_review", source_checkin_id=checkin.id, actor=f"{worker.name} ({worker.role})",
            actor_account_id=actor_account_id, settings=settings, clock=_At(now),
        )
        case = opened.case
    audit(session, _At(now), actor=f"worker:{worker.id}", actor_account_id=actor_account_id,
          action="checkin.review", target=f"checkin:{checkin.id}", details={"visit": visit})
    return ReviewResult(Review.DONE, checkin, case)


class _At:
    """A clock fixed at the time of the report, so everything it sets in motion shares one timestamp."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at
