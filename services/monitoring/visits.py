"""Recording a visit report (``/kunjungan``) and everything it sets in motion, in one transaction:

* the ``Visit`` row (a visit without a location is allowed, recorded with no coordinates, and flagged);
* an **assisted check-in** for the current period when the recipient has not reported it (whether they have
  no phone, are not on Telegram, or simply did not report): the program hears about everyone. The check-in is
  linked from ``Visit.checkin_id`` and shown as assisted everywhere;
* one case per obstacle found (one tap each in the flow), opened like any reported obstacle;
* a case of the recipient in "visit planned" moves on to "taken" (a ``visited`` case event) and the recipient,
  if on Telegram, is told in plain words (a durable notice row, sent after commit by the scan);
* the visit plan row: the next visit falls due on the chosen date, or after ``monitoring.visit_interval_days``.

Refused, with nothing written: a worker outside the recipient's kecamatan, a person who is not a recipient
(no such row, or aid not handed over), a stale card or button (a visit was recorded since it was shown).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.enums import BusinessStatus, CaseKind, CaseState, Role, Urgency
from db.models import Case, Recipient, TelegramAccount, Visit, VisitDue
from services.audit import audit
from services.cases import open_case
from services.cases.notify import account_of_recipient, retire_cards
from services.cases.transitions import Action, Actor, apply
from services.checkins import CheckinAnswers, current_period, submit_checkin
from services.clock import FrozenClock
from services.monitoring.card import CardRefusal, current_version, worker_of
from services.monitoring.risk import next_visit_day
from services.outgoing import outbox
from services.outgoing.priority import Priority
from services.photos import PhotoRef, add_pending
from services.schedule import local_at, open_due, outside_quiet_hours, schedule_next_checkin

STOCK = ("enough", "low", "none")
EQUIPMENT = ("in_use", "partly", "unused", "broken")
OBSTACLE_KINDS = (
    CaseKind.CAPITAL, CaseKind.MATERIALS, CaseKind.EQUIPMENT, CaseKind.NO_BUYERS,
    CaseKind.HEALTH_FAMILY, CaseKind.PERMIT_PLACE, CaseKind.DISASTER, CaseKind.OTHER,
)
VISIT_NOTICE_KIND = "visit_notice"


class VisitRefusal(StrEnum):
    NOT_RECIPIENT = "not_recipient"
    AREA = "area"
    ROLE = "role"
    STALE = "stale"


class VisitRefused(Exception):
    def __init__(self, reason: VisitRefusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(slots=True)
class VisitAnswers:
    observed_status: BusinessStatus
    days_open: int | None = None
    sales_bracket: str | None = None
    stock: str | None = None
    equipment: str | None = None
    obstacles: list[str] = field(default_factory=list)
    advice: str | None = None
    next_visit_on: date | None = None
    latitude: float | None = None
    longitude: float | None = None
    photos: list[PhotoRef] = field(default_factory=list)


@dataclass(slots=True)
class VisitResult:
    visit: Visit
    assisted: bool
    opened_cases: list[Case]
    moved_case: Case | None
    photo_ids: list[int]
    next_visit_on: date | None


async def check_can_visit(session: AsyncSession, role: Role, account: TelegramAccount | None, recipient_id: int,
                          version: int | None = None) -> Recipient:
    """The recipient a TKSK or PSM may report a visit to now; raises :class:`VisitRefused` otherwise."""
    worker = worker_of(role, account)
    if worker is None:
        raise VisitRefused(VisitRefusal.ROLE)
    recipient = await session.get(Recipient, recipient_id, populate_existing=True)
    if recipient is None or recipient.aid_date is None:
        raise VisitRefused(VisitRefusal.NOT_RECIPIENT)
    if recipient.kecamatan_id != worker.kecamatan_id:
        raise VisitRefused(VisitRefusal.AREA)
    if version is not None and await current_version(session, recipient.id) != version:
        raise VisitRefused(VisitRefusal.STALE)
    return recipient


def card_refusal_of(reason: VisitRefusal) -> CardRefusal | None:
    return {VisitRefusal.NOT_RECIPIENT: CardRefusal.NOT_RECIPIENT, VisitRefusal.AREA: CardRefusal.AREA,
            VisitRefusal.ROLE: CardRefusal.ROLE}.get(reason)


async def record_visit(
    session: AsyncSession, *, role: Role, account: TelegramAccount, recipient_id: int, version: int,
    answers: VisitAnswers, settings: Settings, now: datetime,
) -> VisitResult:
    recipient = await check_can_visit(session, role, account, recipient_id, version)
    worker = worker_of(role, account)
    assert worker is not None
    actor_label = f"worker:{worker.id}"
    visit = Visit(
        recipient_id=recipient.id, kecamatan_id=recipient.kecamatan_id, worker_id=worker.id, account_id=account.id,
        visited_at=now, latitude=answers.latitude, longitude=answers.longitude,
        observed_status=answers.observed_status, days_open=answers.days_open, sales_bracket=answers.sales_bracket,
        stock=answers.stock, equipment=answers.equipment, obstacles=list(answers.obstacles) or None,
        advice=answers.advice, next_visit_on=answers.next_visit_on,
        photo_file_ids=[p.file_id for p in answers.photos] or None, created_at=now,
    )
    session.add(visit)
    await session.flush()

    # Assisted check-in: the current period has no report yet (no phone, not on Telegram, or just silent).
    today = now.astimezone(settings.program.tz).date()
    due = await open_due(session, recipient.id) or await schedule_next_checkin(
        session, recipient, settings=settings, now=now)
    period = current_period(recipient, settings, today)
    assisted = due is not None and period is not None and due.period_no <= period
    photo_ids: list[int] = []
    if assisted:
        result = await submit_checkin(session, recipient, CheckinAnswers(
            status=answers.observed_status, days_open=answers.days_open, sales_bracket=answers.sales_bracket,
            note=answers.advice, latitude=answers.latitude, longitude=answers.longitude, photos=answers.photos,
        ), settings=settings, now=now)
        visit.checkin_id = result.checkin.id
        photo_ids = result.photo_ids
    else:
        photos = [add_pending(session, ref, now=now, recipient_id=recipient.id) for ref in answers.photos]
        await session.flush()
        photo_ids = [p.id for p in photos]

    opened: list[Case] = []
    for kind in answers.obstacles:
        if kind not in OBSTACLE_KINDS:
            continue
        result_case = await open_case(
            session, recipient=recipient, kind=kind, urgency=Urgency.NORMAL, description=answers.advice,
            source="visit", actor=actor_label, actor_account_id=account.id, settings=settings,
            clock=FrozenClock(now),
        )
        if result_case.created:
            opened.append(result_case.case)

    moved = await _move_planned_case(session, account, recipient, visit, now=now, settings=settings)

    next_on = answers.next_visit_on or next_visit_day(recipient.aid_date, today, settings)
    plan = await session.scalar(select(VisitDue).where(VisitDue.recipient_id == recipient.id))
    if plan is None:
        plan = VisitDue(recipient_id=recipient.id, due_at=now, updated_at=now)
        session.add(plan)
    plan.last_visit_at = now
    plan.due_at = local_at(next_on, 8, settings) if next_on else now + timedelta(days=365)
    plan.planned_on = None
    plan.planned_at = None
    plan.overdue_notified_at = None
    plan.updated_at = now
    audit(session, FrozenClock(now), actor=actor_label, actor_account_id=account.id, action="visit.recorded",
          target=f"recipient:{recipient.id}",
          details={"visit_id": visit.id, "assisted": assisted, "location": answers.latitude is not None,
                   "cases_opened": [c.id for c in opened], "case_moved": moved.id if moved else None})
    await session.flush()
    return VisitResult(visit, assisted, opened, moved, photo_ids, next_on)


async def _move_planned_case(session: AsyncSession, account: TelegramAccount, recipient: Recipient, visit: Visit,
                             *, now: datetime, settings: Settings) -> Case | None:
    case_id = await session.scalar(
        select(Case.id).where(Case.recipient_id == recipient.id, Case.state == CaseState.VISIT_PLANNED)
        .order_by(Case.visit_planned_for, Case.id).limit(1)
    )
    if case_id is None:
        return None
    applied = await apply(session, case_id, Action.VISITED, Actor.of(account), now=now, settings=settings,
                          note=visit.advice)
    await retire_cards(session, None, applied.case, applied.event, now=now, settings=settings)
    visit.case_id = case_id
    target = await account_of_recipient(session, recipient.id)
    if target is not None and target.blocked_at is None:
        # Through the outbox: sent after this commit, in the recipient's language (the refresher below), never
        # in quiet hours.
        from services.monitoring.plan import visit_notice_text

        worker = account.worker
        wake = outside_quiet_hours(now, settings)
        await outbox.enqueue(
            session, account=target, kind=VISIT_NOTICE_KIND, priority=Priority.CASE, dedupe_key=f"visit:{visit.id}:r",
            text=visit_notice_text(visit, applied.case, worker, settings), due_at=wake if wake > now else None,
            payload={"visit_id": visit.id, "case_id": case_id},
        )
    return applied.case


@outbox.refresher(VISIT_NOTICE_KIND)
async def _visit_notice_now(session: AsyncSession, row, account, *, now, settings, **_: object):  # type: ignore[no-untyped-def]
    """The notice in the recipient's language, just before it is sent (skipped if the visit is gone)."""
    from db.models import FieldWorker
    from services.monitoring.plan import visit_notice_text

    payload = row.payload or {}
    visit = await session.get(Visit, payload.get("visit_id", 0))
    case = await session.get(Case, payload.get("case_id", 0))
    if visit is None or case is None:
        return None
    worker = await session.get(FieldWorker, visit.worker_id) if visit.worker_id else None
    return outbox.Refreshed(visit_notice_text(visit, case, worker, settings))
