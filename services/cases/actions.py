"""One action by a person on a case, with everything that follows from it: the state machine's check and
change (:func:`services.cases.transitions.apply`), then who is told.

* the recipient, whenever the state of their case changes (or a visit day changes), never in quiet hours;
* passed to Dissos → every caseworker; reopened → the TKSK and any Dissos owner; a note → the other side;
  Dissos asks for an update → the TKSK; reassigned → the new caseworker;
* looking up the phone number → the audit log (UU PDP: who saw personal data), never the number itself.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.messenger import Messenger
from db.enums import CaseState
from services.audit import audit
from services.cases import alerts
from services.cases.notify import retire_cards, tell_recipient
from services.cases.transitions import Action, Actor, Applied, apply
from services.clock import FrozenClock


async def perform(
    session: AsyncSession,
    messenger: Messenger | None,
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
    shown_in: tuple[int, int] | None = None,
) -> Applied:
    """Apply ``action`` (raises CaseActionRefused, nothing changed) and tell the people concerned.

    ``voice_file_id``: the reason as a voice note (kept on the event, passed on to Dinas Sosial). ``shown_in``:
    (chat id, message id) of the card the action was pressed on, which the caller edits itself; every other card
    of the case already sent through the outbox is edited to the new state (:func:`notify.retire_cards`)."""
    applied = await apply(
        session, case_id, action, actor, now=now, settings=settings, note=note, visit_on=visit_on,
        target_staff_id=target_staff_id, voice_file_id=voice_file_id,
    )
    case = applied.case
    if action is Action.CALL:
        audit(session, FrozenClock(now), actor=actor.label, actor_account_id=actor.account_id,
              action="case.phone_viewed", target=case.number, details={"case_id": case.id})
        return applied
    if messenger is None:
        return applied
    if applied.changed_state or action is Action.PLAN_VISIT:
        await retire_cards(session, messenger, case, applied.event, now=now, settings=settings, skip=shown_in)
    recipient_should_know = applied.changed_state or action is Action.PLAN_VISIT
    if recipient_should_know and action is not Action.REOPEN:
        await tell_recipient(session, messenger, case, applied.event, now=now, settings=settings)
    if action is Action.ESCALATE:
        await alerts.alert_passed_to_dissos(messenger, session, case, settings=settings, by=actor.name,
                                            reason=note, voice_file_id=voice_file_id)
    elif action is Action.REOPEN:
        await alerts.alert_reopened(messenger, session, case, settings=settings)
    elif action is Action.COMMENT and note:
        await alerts.alert_note(messenger, session, case, settings=settings, by=actor.label, note=note,
                                skip_account_id=actor.account_id)
    elif action is Action.ASK_UPDATE:
        await alerts.alert_update_requested(messenger, session, case, settings=settings, by=actor.name)
    elif action is Action.REASSIGN and case.owner_staff_id != actor.staff_id:
        await alerts.alert_reassigned(messenger, session, case, settings=settings, by=actor.name)
    elif action is Action.RESOLVE and case.state == CaseState.RESOLVED and actor.role != "tksk":
        # Dissos resolved it: the TKSK who handled it should know too.
        await alerts.alert_note(messenger, session, case, settings=settings, by=actor.label,
                                note=note or "", skip_account_id=actor.account_id)
    return applied
