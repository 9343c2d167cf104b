"""A case as the desk shows it, and the desk's actions on cases: the same rules and notices as the bot's
buttons (``services.cases.actions.perform``), with the actor taken from the signed-in account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.messenger import Messenger
from db.enums import CaseKind, StaffRole
from db.models import Case, CaseEvent, FieldWorker, Kabupaten, Kecamatan, Photo, Recipient, Staff
from services.cases.actions import perform
from services.cases.transitions import Action, Applied, CaseActionRefused, Refusal, can, check, history
from services.clock import FrozenClock
from services.desk.access import DeskForbidden, DeskUser
from services.profile import CORRECTABLE, correct_profile

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
    # A "correct my data" case the viewer may resolve now: the recipient whose profile the form edits.
    correct: Recipient | None = None


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
    correct = None
    if Action.RESOLVE in actions and case.kind == CaseKind.PROFILE_CORRECTION and case.recipient_id is not None:
        correct = await session.get(Recipient, case.recipient_id)
        if correct is not None and correct.anonymised_at is not None:
            correct = None
    return CasePage(
        case=case, kecamatan=kecamatan.name if kecamatan else "", kabupaten=kabupaten.name if kabupaten else "",
        events=await history(session, case.id), photos=photos,
        owner_worker=await session.get(FieldWorker, case.owner_worker_id) if case.owner_worker_id else None,
        owner_staff=await session.get(Staff, case.owner_staff_id) if case.owner_staff_id else None,
        actions=actions, correct=correct,
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


# The case event of a correction made from its case, with the fields that changed (in the program's working
# language, like the case's own description; never the values: the history is read by the TKSK too).
PROFILE_CORRECTED = "profile_corrected"
FIELD_WORDS = {"name": "nama", "phone": "nomor HP", "address": "alamat", "desa": "desa",
               "birth_date": "tanggal lahir", "sex": "jenis kelamin"}


def profile_value(recipient: Recipient, field: str) -> str:
    """A profile field as the correction form shows it (and as it is typed back)."""
    value = getattr(recipient, field)
    if value is None:
        return ""
    return value.isoformat() if field == "birth_date" else str(value)


@dataclass(slots=True)
class Corrected:
    applied: Applied
    changed: list[str]


async def correct_and_resolve(
    session: AsyncSession, messenger: Messenger | None, viewer: DeskUser, case_id: int, typed: dict[str, str], *,
    note: str | None, now: datetime, settings: Settings,
) -> Corrected:
    """Resolve a "correct my data" case by correcting the profile: the fields typed differently from the
    profile go through ``services.profile.correct_profile`` (normalised like an import, audited
    ``recipient.corrected`` with the field names), a ``profile_corrected`` case event names them, and the case
    is resolved with ``note`` through the same action as the Resolve button, so the recipient (and the TKSK)
    are told through the outbox as in the bot. Raises CaseActionRefused or ``Invalid`` with nothing kept (the
    caller rolls back); every rule is checked before the first write."""
    if not viewer.can_act:
        raise CaseActionRefused(Refusal.ROLE)
    case = await load_case(session, viewer, case_id)
    check(case, Action.RESOLVE, viewer.actor())
    if case.kind != CaseKind.PROFILE_CORRECTION or case.recipient_id is None:
        raise CaseActionRefused(Refusal.STATE, case)
    note = " ".join((note or "").split()) or None
    if note is None:
        raise CaseActionRefused(Refusal.NOTE_REQUIRED, case)
    recipient = await session.get(Recipient, case.recipient_id)
    if recipient is None or recipient.anonymised_at is not None:
        raise CaseActionRefused(Refusal.STATE, case)
    changes = {f: v.strip() for f, v in typed.items()
               if f in CORRECTABLE and v.strip() and v.strip() != profile_value(recipient, f)}
    changed = await correct_profile(
        session, FrozenClock(now), settings, recipient, changes, actor=viewer.label,
        actor_account_id=viewer.account_id, reason=f"case {case.number}",
    ) if changes else []
    if changed:
        session.add(CaseEvent(case_id=case.id, at=now, actor_account_id=viewer.account_id, actor=viewer.label[:200],
                              action=PROFILE_CORRECTED, note=", ".join(FIELD_WORDS.get(f, f) for f in changed)))
    applied = await perform(session, messenger, case.id, Action.RESOLVE, viewer.actor(), now=now,
                            settings=settings, note=note)
    return Corrected(applied, changed)
