"""Opening a case: numbered, with its deadlines (SLA) and a first event, never a duplicate of an open one."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.enums import CaseKind, CaseState, Urgency, WorkerRole
from db.models import Case, CaseEvent, FieldWorker, Recipient, TelegramAccount
from services.cases.transitions import next_due
from services.clock import Clock

# States in which a case still needs work; a new report of the same kind joins such a case.
OPEN_STATES = (CaseState.NEW, CaseState.TAKEN, CaseState.VISIT_PLANNED, CaseState.WITH_DISSOS, CaseState.REOPENED)


@dataclass(slots=True)
class OpenedCase:
    case: Case
    created: bool  # False: the report was added to an open case of the same kind


def case_number(case_id: int, year: int) -> str:
    return f"UEP-{year}-{case_id:05d}"


async def open_case(
    session: AsyncSession,
    *,
    recipient: Recipient,
    kind: CaseKind | str,
    urgency: Urgency | str = Urgency.NORMAL,
    description: str | None = None,
    voice_file_id: str | None = None,
    video_note_file_id: str | None = None,
    source: str = "report",
    source_checkin_id: int | None = None,
    actor: str = "system",
    actor_account_id: int | None = None,
    settings: Settings,
    clock: Clock,
) -> OpenedCase:
    """Open a case for ``recipient`` (or add to their open case of the same kind) and record the event.

    The urgency is at least the kind's floor (settings.cases.kind_urgency: a disaster is always urgent). A
    follow-up report that is more urgent raises the open case's urgency and brings its deadlines forward.
    """
    kind, urgency = CaseKind(kind), Urgency(urgency)
    floor = settings.cases.kind_urgency.get(kind.value)
    if floor is not None and _rank(Urgency(floor)) < _rank(urgency):
        urgency = Urgency(floor)
    now = clock.now()
    existing = await session.scalar(
        select(Case)
        .where(Case.recipient_id == recipient.id, Case.kind == kind, Case.state.in_(OPEN_STATES))
        .order_by(Case.id)
        .limit(1)
    )
    if existing is not None:
        session.add(CaseEvent(
            case_id=existing.id, at=now, actor=actor, actor_account_id=actor_account_id, action="added_report",
            note=description,
        ))
        if _rank(urgency) < _rank(Urgency(existing.urgency)):
            existing.urgency = urgency  # a more urgent follow-up raises the case's urgency
            sla = settings.cases.sla[urgency.value]
            if existing.take_due_at is not None:
                existing.take_due_at = min(existing.take_due_at, now + timedelta(hours=sla.take_hours))
            if existing.resolve_due_at is not None:
                existing.resolve_due_at = min(existing.resolve_due_at, now + timedelta(hours=sla.resolve_hours))
            existing.next_due_at = next_due(existing)
        if voice_file_id and not existing.voice_file_id:
            existing.voice_file_id = voice_file_id
        if video_note_file_id and not existing.video_note_file_id:
            existing.video_note_file_id = video_note_file_id
        existing.updated_at = now
        await session.flush()
        return OpenedCase(existing, created=False)

    sla = settings.cases.sla[urgency.value]
    case = Case(
        number=f"tmp-{secrets.token_hex(8)}", recipient_id=recipient.id,  # fits String(20) until renumbered
        kecamatan_id=recipient.kecamatan_id, kind=kind, urgency=urgency, state=CaseState.NEW,
        description=description, voice_file_id=voice_file_id, video_note_file_id=video_note_file_id,
        source=source, source_checkin_id=source_checkin_id,
        take_due_at=now + timedelta(hours=sla.take_hours), resolve_due_at=now + timedelta(hours=sla.resolve_hours),
        next_due_at=now + timedelta(hours=sla.take_hours), created_at=now, updated_at=now,
    )
    session.add(case)
    await session.flush()
    case.number = case_number(case.id, now.astimezone(settings.program.tz).year)
    session.add(CaseEvent(
        case_id=case.id, at=now, actor=actor, actor_account_id=actor_account_id, action="opened",
        to_state=CaseState.NEW, note=description,
    ))
    await session.flush()
    return OpenedCase(case, created=True)


def _rank(urgency: Urgency) -> int:
    return {Urgency.HIGH: 0, Urgency.NORMAL: 1, Urgency.LOW: 2}[urgency]


async def tksk_account_of(
    session: AsyncSession, kecamatan_id: int
) -> tuple[FieldWorker | None, TelegramAccount | None]:
    """The active TKSK of a kecamatan and their Telegram account (None when they have not joined the bot)."""
    worker = await session.scalar(
        select(FieldWorker).where(
            FieldWorker.kecamatan_id == kecamatan_id, FieldWorker.role == WorkerRole.TKSK, FieldWorker.active.is_(True)
        )
    )
    if worker is None:
        return None, None
    account = await session.scalar(select(TelegramAccount).where(TelegramAccount.worker_id == worker.id))
    return worker, account
