"""The candidate's lifecycle: each step is a stage with its time and its actor, written as an event.

```mermaid
stateDiagram-v2
    [*] --> candidate: uep import candidates
    candidate --> assessed: TKSK/PSM submits /asesmen
    assessed --> approved: Dinas Sosial approves (bot or uep assessments approve)
    candidate --> approved: admin override with a reason
    assessed --> not_approved: rejected with a reason
    approved --> package_set: package within aid_min..aid_max
    package_set --> package_set: staff adjust the package
    package_set --> handed_over: TKSK/PSM records the hand-over (BAST)
    handed_over --> [*]: monitored as a recipient (check-ins)
```
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import CandidateStage
from db.models import Candidate, CandidateEvent
from services.audit import audit
from services.clock import Clock


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: a display name with role (``"TKSK Nurhayati"``, ``"cli"``) and their Telegram account."""

    name: str
    account_id: int | None = None


def move(
    session: AsyncSession, clock: Clock, candidate: Candidate, to: CandidateStage, *, actor: Actor, action: str,
    note: str | None = None,
) -> CandidateEvent:
    """Set the stage, record the event and the audit entry (the caller's transaction commits all of it)."""
    now = clock.now()
    event = CandidateEvent(
        candidate_id=candidate.id, at=now, actor=actor.name, actor_account_id=actor.account_id, action=action,
        from_stage=candidate.stage, to_stage=to, note=note,
    )
    candidate.stage, candidate.stage_at, candidate.updated_at = to, now, now
    session.add(event)
    audit(session, clock, actor=actor.name, actor_account_id=actor.account_id, action=f"candidate.{action}",
          target=f"candidate:{candidate.id}", details={"from": event.from_stage, "to": str(to)})
    return event
