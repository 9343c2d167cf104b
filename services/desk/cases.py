"""A case as the desk shows it, and the desk's actions on cases: the same rules and notices as the bot's
buttons (``services.cases.actions.perform``), with the actor taken from the signed-in account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.messenger import Messenger
from db.enums import StaffRole
from db.models import Case, CaseEvent, FieldWorker, Kabupaten, Kecamatan, Photo, Staff
from services.cases.actions import perform
from services.cases.transitions import Action, Applied, CaseActionRefused, Refusal, can, history
from services.desk.access import DeskForbidden, DeskUser

# What the desk offers on a case page, in this order; each is shown only when the rules allow it now.
DESK_ACTIONS = (Action.CLAIM, Action.COMMENT, Action.ASK_UPDATE, Action.REASSIGN, Action.RESOLVE, Action.CLOSE)


@dataclass(slots=True)
class CasePage:
    case: Case
    kecamatan: str
    kabupaten: str
    events: list[CaseEvent]
    photos: list[Photo]
    owner_worker: FieldWorker | None
    owner_staff: Staff | None
    actions: list[Action]


async def load_case(session: AsyncSession, viewer: DeskUser, case_id: int) -> Case:
    case = await session.get(Case, case_id)
    if case is None:
        raise DeskForbidden("not_found")
    viewer.check_kecamatan(case.kecamatan_id)
    return case


async def case_page(session: AsyncSession, viewer: DeskUser, case_id: int) -> CasePage:
    case = await load_case(session, viewer, case_id)
    kecamatan = await session.get(Kecamatan, case.kecamatan_id)
    kabupaten = await session.get(Kabupaten, kecamatan.kabupaten_id) if kecamatan else None
    photos = list(await session.scalars(
        select(Photo).where(Photo.case_id == case.id, Photo.path.is_not(None)).order_by(Photo.id)
    ))
    actor = viewer.actor()
    actions = [a for a in DESK_ACTIONS if viewer.can_act and can(case, a, actor)]
    if case.owner_staff_id is not None and case.owner_staff_id == viewer.staff_id:
        actions = [a for a in actions if a is not Action.CLAIM]  # already theirs: nothing to take
    return CasePage(
        case=case, kecamatan=kecamatan.name if kecamatan else "", kabupaten=kabupaten.name if kabupaten else "",
        events=await history(session, case.id), photos=photos,
        owner_worker=await session.get(FieldWorker, case.owner_worker_id) if case.owner_worker_id else None,
        owner_staff=await session.get(Staff, case.owner_staff_id) if case.owner_staff_id else None,
        actions=actions,
    )


async def caseworkers(session: AsyncSession) -> list[Staff]:
    """Active staff who can take cases (the reassign and owner choices)."""
    rows = await session.scalars(
        select(Staff).where(Staff.active.is_(True),
                            Staff.role.in_([StaffRole.CASEWORKER.value, StaffRole.ADMIN.value]))
        .order_by(Staff.name)
    )
    return list(rows)


async def act(
    session: AsyncSession, messenger: Messenger | None, viewer: DeskUser, case_id: int, action: Action, *,
    now: datetime, settings: Settings, note: str | None = None, target_staff_id: int | None = None,
) -> Applied:
    """One desk action on a case (raises CaseActionRefused, nothing changed). Read-only viewers are refused."""
    if action not in DESK_ACTIONS:
        raise CaseActionRefused(Refusal.ROLE)
    if not viewer.can_act:
        raise CaseActionRefused(Refusal.ROLE)
    await load_case(session, viewer, case_id)
    note = " ".join((note or "").split()) or None
    return await perform(session, messenger, case_id, action, viewer.actor(), now=now, settings=settings,
                         note=note, target_staff_id=target_staff_id)


@dataclass(slots=True)
class BulkResult:
    done: list[str]      # case numbers
    refused: list[str]


async def assign_many(
    session: AsyncSession, messenger: Messenger | None, viewer: DeskUser, case_ids: list[int], *,
    target_staff_id: int, now: datetime, settings: Settings,
) -> BulkResult:
    """Give several cases to one caseworker: a claim when it is oneself, a reassignment otherwise. A refused
    case changes nothing (the rules are checked before any write), so the others still go through; no
    savepoint is needed (and SQLite's driver would commit at one)."""
    result = BulkResult([], [])
    action = Action.CLAIM if target_staff_id == viewer.staff_id else Action.REASSIGN
    for case_id in dict.fromkeys(case_ids):
        try:
            applied = await act(session, messenger, viewer, case_id, action, now=now, settings=settings,
                                target_staff_id=None if action is Action.CLAIM else target_staff_id)
            result.done.append(applied.case.number)
        except (CaseActionRefused, DeskForbidden):
            case = await session.get(Case, case_id)
            result.refused.append(case.number if case is not None and _visible(viewer, case) else f"#{case_id}")
    return result


def _visible(viewer: DeskUser, case: Case) -> bool:
    return viewer.kecamatan_id is None or viewer.kecamatan_id == case.kecamatan_id
