"""The case state machine: which role may do which action from which state, checked on the server.

```mermaid
stateDiagram-v2
    [*] --> new: recipient reports (open_case)
    new --> taken: TKSK take
    new --> visit_planned: TKSK plan visit
    taken --> visit_planned: TKSK plan visit
    visit_planned --> visit_planned: TKSK plan another day
    visit_planned --> taken: TKSK or PSM visit report (/kunjungan)
    new --> with_dissos: TKSK pass to Dissos / caseworker claim / not taken in time (system)
    taken --> with_dissos: TKSK pass to Dissos / caseworker claim
    visit_planned --> with_dissos: TKSK pass to Dissos / caseworker claim
    reopened --> with_dissos: TKSK pass to Dissos / caseworker claim / not taken in time (system)
    with_dissos --> with_dissos: caseworker claim / reassign
    new --> resolved: TKSK or caseworker resolve (note)
    taken --> resolved
    visit_planned --> resolved
    reopened --> resolved
    with_dissos --> resolved: caseworker resolve (note)
    resolved --> reopened: recipient "still a problem" (within reopen_days)
    reopened --> taken: TKSK take
    resolved --> closed: caseworker close / reopen window over (system)
    new --> closed: caseworker close (note)
    taken --> closed
    visit_planned --> closed
    with_dissos --> closed
    reopened --> closed
    closed --> [*]
```

Actions that do not move the state (comment, ask for an update, call, deadline reminder, overdue mark) are in
the same table, so "who may do what, where" is answered in one place. Every applied action is a
:class:`CaseEvent` (who, when, from which state to which, why). Scope: a TKSK acts only on cases of their
own kecamatan, a recipient only on their own case (and only to reopen it), a PSM never; Dissos caseworkers and
admins everywhere. A refusal raises :class:`CaseActionRefused` and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.enums import CaseState, Role, StaffRole
from db.models import Case, CaseEvent, Staff, TelegramAccount
from services.identity import role_of

OPEN_STATES = frozenset(
    {CaseState.NEW, CaseState.TAKEN, CaseState.VISIT_PLANNED, CaseState.WITH_DISSOS, CaseState.REOPENED}
)
UNTAKEN_STATES = frozenset({CaseState.NEW, CaseState.REOPENED})
DONE_STATES = frozenset({CaseState.RESOLVED, CaseState.CLOSED})
STAFF = frozenset({Role.CASEWORKER, Role.ADMIN})
# How far ahead a TKSK may plan a visit.
VISIT_HORIZON_DAYS = 14


class Action(StrEnum):
    TAKE = "take"
    PLAN_VISIT = "visit"
    ESCALATE = "escalate"      # TKSK passes the case to Dissos
    CLAIM = "claim"            # a caseworker takes it in the Dissos queue
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"          # the recipient: "still a problem"
    COMMENT = "comment"
    ASK_UPDATE = "ask"         # Dissos asks the TKSK for an update
    REASSIGN = "reassign"      # to another caseworker
    CALL = "call"              # see the recipient's phone number (recorded: personal data)
    # Done by the deadline scan (scheduler/case_tasks.py), never by a button:
    AUTO_ESCALATE = "auto_escalate"
    REMIND = "remind"
    MARK_OVERDUE = "overdue"
    AUTO_CLOSE = "auto_close"
    # Recorded by a visit report (services/monitoring/visits.py), never by a button: the planned visit happened.
    VISITED = "visited"


SYSTEM_ACTIONS = frozenset(
    {Action.AUTO_ESCALATE, Action.REMIND, Action.MARK_OVERDUE, Action.AUTO_CLOSE, Action.VISITED}
)


class Refusal(StrEnum):
    NOT_FOUND = "not_found"          # no such case (forged id)
    ROLE = "role"                    # this role never does this action
    AREA = "area"                    # TKSK of another kecamatan
    NOT_YOURS = "not_yours"          # a recipient and someone else's case
    STATE = "state"                  # not from the case's current state (stale button)
    NOTE_REQUIRED = "note_required"
    REOPEN_EXPIRED = "reopen_expired"
    BAD_DATE = "bad_date"
    BAD_TARGET = "bad_target"        # reassign to someone who is not an active caseworker


class CaseActionRefused(Exception):
    def __init__(self, reason: Refusal, case: Case | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.case = case


@dataclass(frozen=True, slots=True)
class Rule:
    # role -> states the action may start from
    allowed: dict[Role | str, frozenset[CaseState]]
    to_state: CaseState | None  # None: the state does not change
    needs_note: bool = False


SYSTEM = "system"
_ANY = OPEN_STATES | DONE_STATES
_ACTIVE_BY_TKSK = frozenset({CaseState.NEW, CaseState.TAKEN, CaseState.VISIT_PLANNED, CaseState.REOPENED})

RULES: dict[Action, Rule] = {
    Action.TAKE: Rule({Role.TKSK: UNTAKEN_STATES}, CaseState.TAKEN),
    Action.PLAN_VISIT: Rule({Role.TKSK: _ACTIVE_BY_TKSK}, CaseState.VISIT_PLANNED),
    Action.ESCALATE: Rule({Role.TKSK: _ACTIVE_BY_TKSK}, CaseState.WITH_DISSOS),
    Action.CLAIM: Rule({r: OPEN_STATES for r in STAFF}, CaseState.WITH_DISSOS),
    Action.RESOLVE: Rule(
        {Role.TKSK: _ACTIVE_BY_TKSK, **{r: OPEN_STATES for r in STAFF}}, CaseState.RESOLVED, needs_note=True
    ),
    Action.CLOSE: Rule({r: _ANY - {CaseState.CLOSED} for r in STAFF}, CaseState.CLOSED, needs_note=True),
    Action.REOPEN: Rule({Role.RECIPIENT: frozenset({CaseState.RESOLVED})}, CaseState.REOPENED),
    Action.COMMENT: Rule(
        {Role.TKSK: OPEN_STATES | {CaseState.RESOLVED}, **{r: _ANY for r in STAFF}}, None, needs_note=True
    ),
    Action.ASK_UPDATE: Rule({r: OPEN_STATES for r in STAFF}, None),
    Action.REASSIGN: Rule({r: OPEN_STATES for r in STAFF}, CaseState.WITH_DISSOS),
    Action.CALL: Rule({Role.TKSK: OPEN_STATES | {CaseState.RESOLVED}, **{r: _ANY for r in STAFF}}, None),
    Action.AUTO_ESCALATE: Rule({SYSTEM: UNTAKEN_STATES}, CaseState.WITH_DISSOS),
    Action.REMIND: Rule({SYSTEM: OPEN_STATES}, None),
    Action.MARK_OVERDUE: Rule({SYSTEM: OPEN_STATES}, None),
    Action.AUTO_CLOSE: Rule({SYSTEM: frozenset({CaseState.RESOLVED})}, CaseState.CLOSED),
    Action.VISITED: Rule(
        {Role.TKSK: frozenset({CaseState.VISIT_PLANNED}), Role.PSM: frozenset({CaseState.VISIT_PLANNED})},
        CaseState.TAKEN,
    ),
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: taken from the account on the server at every press, never from the button."""

    role: Role | str
    name: str
    account_id: int | None = None
    worker_id: int | None = None
    kecamatan_id: int | None = None
    staff_id: int | None = None
    recipient_id: int | None = None

    @property
    def label(self) -> str:
        return SYSTEM if self.role == SYSTEM else f"{self.name} ({self.role})"

    @classmethod
    def of(cls, account: TelegramAccount | None) -> Actor:
        role = role_of(account)
        if account is None:
            return cls(Role.UNKNOWN, "?")
        if role.is_staff and account.staff is not None:
            return cls(role, account.staff.name, account.id, staff_id=account.staff.id)
        if role.is_worker and account.worker is not None:
            return cls(role, account.worker.name, account.id, worker_id=account.worker.id,
                       kecamatan_id=account.worker.kecamatan_id)
        if role is Role.RECIPIENT and account.recipient is not None:
            return cls(role, account.recipient.name, account.id, recipient_id=account.recipient.id)
        return cls(role, account.first_name or "?", account.id)


SYSTEM_ACTOR = Actor(SYSTEM, SYSTEM)


@dataclass(slots=True)
class Applied:
    case: Case
    event: CaseEvent
    from_state: CaseState
    action: Action

    @property
    def changed_state(self) -> bool:
        return self.event.to_state is not None and self.event.to_state != self.from_state


def next_due(case: Case) -> datetime | None:
    """The deadline that matters now: to be taken while nobody has, then to be resolved; None when done."""
    if case.state in DONE_STATES:
        return None
    return case.take_due_at if case.taken_at is None else case.resolve_due_at


def check(case: Case | None, action: Action, actor: Actor) -> Case:
    """Raise :class:`CaseActionRefused` unless ``actor`` may do ``action`` on ``case`` now."""
    rule = RULES[action]
    states = rule.allowed.get(actor.role)
    if states is None:
        raise CaseActionRefused(Refusal.ROLE, case)
    if case is None:
        raise CaseActionRefused(Refusal.NOT_FOUND)
    if actor.role in (Role.TKSK, Role.PSM) and (actor.kecamatan_id is None or actor.kecamatan_id != case.kecamatan_id):
        raise CaseActionRefused(Refusal.AREA, case)
    if actor.role == Role.RECIPIENT and (actor.recipient_id is None or actor.recipient_id != case.recipient_id):
        raise CaseActionRefused(Refusal.NOT_YOURS, case)
    if CaseState(case.state) not in states:
        raise CaseActionRefused(Refusal.STATE, case)
    return case


def can(case: Case, action: Action, actor: Actor) -> bool:
    try:
        check(case, action, actor)
    except CaseActionRefused:
        return False
    return True


async def load_for_update(session: AsyncSession, case_id: int) -> Case | None:
    """The case, locked against a concurrent press or scan (PostgreSQL; SQLite has one writer anyway)."""
    return await session.scalar(
        select(Case).where(Case.id == case_id).with_for_update(of=Case).execution_options(populate_existing=True)
    )


async def apply(
    session: AsyncSession,
    case_id: int,
    action: Action,
    actor: Actor,
    *,
    now: datetime,
    settings: Settings,
    note: str | None = None,
    visit_on: date | None = None,
    target_staff_id: int | None = None,
    voice_file_id: str | None = None,
) -> Applied:
    """Check and apply one action; record it as a CaseEvent (``voice_file_id``: a reason given by voice).
    Raises CaseActionRefused (nothing changed)."""
    case = check(await load_for_update(session, case_id), action, actor)
    rule = RULES[action]
    note = (note or "").strip() or None
    if rule.needs_note and note is None:
        raise CaseActionRefused(Refusal.NOTE_REQUIRED, case)
    from_state = CaseState(case.state)
    event_note = note

    if action is Action.REOPEN:
        if case.resolved_at is None or now > case.resolved_at + timedelta(days=settings.cases.reopen_days):
            raise CaseActionRefused(Refusal.REOPEN_EXPIRED, case)
        sla = settings.cases.sla[case.urgency]
        case.taken_at = None
        case.resolved_at = None
        case.overdue = False
        case.resolve_reminded_at = None
        case.visit_planned_for = None
        case.take_due_at = now + timedelta(hours=sla.take_hours)
        case.resolve_due_at = now + timedelta(hours=sla.resolve_hours)
    elif action is Action.PLAN_VISIT:
        today = now.astimezone(settings.program.tz).date()
        if visit_on is None or not today <= visit_on <= today + timedelta(days=VISIT_HORIZON_DAYS):
            raise CaseActionRefused(Refusal.BAD_DATE, case)
        case.visit_planned_for = visit_on
        event_note = visit_on.isoformat() + (f": {note}" if note else "")
    elif action is Action.REASSIGN:
        target = await session.get(Staff, target_staff_id) if target_staff_id is not None else None
        if target is None or not target.active or target.role not in (StaffRole.CASEWORKER, StaffRole.ADMIN):
            raise CaseActionRefused(Refusal.BAD_TARGET, case)
        case.owner_staff_id = target.id
        case.with_dissos = True
        event_note = target.name + (f": {note}" if note else "")

    # Who owns it now.
    if action in (Action.TAKE, Action.PLAN_VISIT, Action.ESCALATE) or (
        action is Action.RESOLVE and actor.role == Role.TKSK
    ):
        case.owner_worker_id = case.owner_worker_id or actor.worker_id
        if action is Action.TAKE:
            case.owner_worker_id = actor.worker_id
    if action is Action.CLAIM or (action in (Action.RESOLVE, Action.CLOSE) and actor.role in STAFF):
        if action is Action.CLAIM or case.owner_staff_id is None:
            case.owner_staff_id = actor.staff_id
        case.with_dissos = True
    if action in (Action.ESCALATE, Action.AUTO_ESCALATE):
        case.with_dissos = True
        case.escalated_at = now
    if action in (Action.TAKE, Action.PLAN_VISIT, Action.ESCALATE, Action.CLAIM, Action.RESOLVE, Action.REASSIGN):
        case.taken_at = case.taken_at or now
    if action is Action.RESOLVE:
        case.resolved_at = now
        case.resolution = note
    if action in (Action.CLOSE, Action.AUTO_CLOSE):
        case.closed_at = now
        if note:
            case.resolution = note
    if action is Action.REMIND:
        case.resolve_reminded_at = now
    if action is Action.MARK_OVERDUE:
        case.overdue = True
    if action in (Action.RESOLVE, Action.CLOSE, Action.AUTO_CLOSE):
        case.overdue = False

    if rule.to_state is not None:
        case.state = rule.to_state
    case.next_due_at = next_due(case)
    case.updated_at = now
    event = CaseEvent(
        case_id=case.id, at=now, actor_account_id=actor.account_id, actor=actor.label[:200], action=action.value,
        from_state=from_state.value, to_state=rule.to_state.value if rule.to_state is not None else None,
        note=event_note, voice_file_id=voice_file_id,
    )
    session.add(event)
    await session.flush()
    return Applied(case, event, from_state, action)


async def history(session: AsyncSession, case_id: int) -> list[CaseEvent]:
    return list(await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))
