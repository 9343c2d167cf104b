"""Deadlines (SLA) that act by themselves, run from the scan tick (scheduler/case_tasks.py).

* **Not taken in time** (``take_due_at`` passed, still new or reopened): the case goes to the Dissos queue
  (state ``with_dissos``, ``escalated_at``); every caseworker is alerted and the recipient told.
* **Resolve deadline near** (``resolve_due_at - remind_before_hours``): the owner is reminded once
  (``resolve_reminded_at``).
* **Resolve deadline passed**: the case is marked ``overdue`` (the queue shows 🚩).
* **Reopen window over** (``reopen_days`` after it was resolved): the case is closed.

Each sweep claims a batch of cases with a short lease on ``Case.claimed_until`` (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL), so several processes share the work and none handles a case twice; then each case is changed in
its own transaction through the state machine, which re-checks the state (a TKSK who took the case a second
earlier wins, and nothing happens). Every change is a CaseEvent by "system"; alerts and notices are queued
outbox rows (quiet hours for recipients, and for staff unless the case is urgent), sent after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.context import AppContext
from db.enums import CaseState
from db.models import Case
from services.cases.notify import alert_later, owners, retire_cards, staff_accounts, tell_recipient
from services.cases.transitions import (
    OPEN_STATES,
    SYSTEM_ACTOR,
    UNTAKEN_STATES,
    Action,
    Applied,
    CaseActionRefused,
    apply,
)

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
_OPEN = [s.value for s in OPEN_STATES]


def _conditions(action: Action, now: datetime, settings: Settings) -> list[Any]:
    c = settings.cases
    if action is Action.AUTO_ESCALATE:
        return [Case.state.in_([s.value for s in UNTAKEN_STATES]), Case.take_due_at <= now]
    if action is Action.REMIND:
        return [
            Case.state.in_(_OPEN), Case.resolve_reminded_at.is_(None),
            Case.resolve_due_at <= now + timedelta(hours=c.remind_before_hours),
        ]
    if action is Action.MARK_OVERDUE:
        return [Case.state.in_(_OPEN), Case.overdue.is_(False), Case.resolve_due_at <= now]
    if action is Action.AUTO_CLOSE:
        return [Case.state == CaseState.RESOLVED.value, Case.resolved_at <= now - timedelta(days=c.reopen_days)]
    raise ValueError(action)


def _still_due(case: Case, action: Action, now: datetime, settings: Settings) -> bool:
    """The same conditions in Python, re-checked on the locked row."""
    c = settings.cases
    if action is Action.AUTO_ESCALATE:
        return case.state in UNTAKEN_STATES and case.take_due_at is not None and case.take_due_at <= now
    if action is Action.REMIND:
        return (case.state in OPEN_STATES and case.resolve_reminded_at is None and case.resolve_due_at is not None
                and case.resolve_due_at <= now + timedelta(hours=c.remind_before_hours))
    if action is Action.MARK_OVERDUE:
        return (case.state in OPEN_STATES and not case.overdue and case.resolve_due_at is not None
                and case.resolve_due_at <= now)
    if action is Action.AUTO_CLOSE:
        return (case.state == CaseState.RESOLVED and case.resolved_at is not None
                and case.resolved_at <= now - timedelta(days=c.reopen_days))
    return False


async def _claim(ctx: AppContext, action: Action, now: datetime) -> list[int]:
    async with ctx.session_factory.begin() as session:
        query = (
            select(Case.id)
            .where(*_conditions(action, now, ctx.settings), or_(Case.claimed_until.is_(None), Case.claimed_until < now))
            .order_by(Case.id)
            .limit(ctx.settings.scheduler.batch_size)
        )
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=Case)
        ids = list(await session.scalars(query))
        if ids:
            await session.execute(update(Case).where(Case.id.in_(ids)).values(claimed_until=now + LEASE))
    return ids


async def _after_escalation(session: AsyncSession, applied: Applied, now: datetime, settings: Settings) -> None:
    await alert_later(session, applied.case, await staff_accounts(session), what="escalated",
                      event_id=applied.event.id, now=now, settings=settings)
    await tell_recipient(session, None, applied.case, applied.event, now=now, settings=settings)


async def _after_reminder(session: AsyncSession, applied: Applied, now: datetime, settings: Settings) -> None:
    await alert_later(session, applied.case, await owners(session, applied.case), what="remind",
                      event_id=applied.event.id, now=now, settings=settings)


_FOLLOW_UPS: dict[Action, Callable[..., Any]] = {
    Action.AUTO_ESCALATE: _after_escalation,
    Action.REMIND: _after_reminder,
}
SWEEPS = (Action.AUTO_ESCALATE, Action.REMIND, Action.MARK_OVERDUE, Action.AUTO_CLOSE)


async def sweep(ctx: AppContext, action: Action, now: datetime) -> int:
    """Apply one deadline action to every case due for it; returns how many cases changed."""
    changed = 0
    while True:
        ids = await _claim(ctx, action, now)
        for case_id in ids:
            async with ctx.session_factory.begin() as session:
                case = await session.get(Case, case_id)
                if case is None or not _still_due(case, action, now, ctx.settings):
                    continue  # changed meanwhile; the lease lapses by itself
                try:
                    applied = await apply(session, case_id, action, SYSTEM_ACTOR, now=now, settings=ctx.settings)
                except CaseActionRefused:
                    continue
                if applied.changed_state:  # e.g. not taken in time: the TKSK's card loses its Take button
                    await retire_cards(session, None, applied.case, applied.event, now=now, settings=ctx.settings)
                follow_up = _FOLLOW_UPS.get(action)
                if follow_up is not None:
                    await follow_up(session, applied, now, ctx.settings)
                applied.case.claimed_until = None
                changed += 1
        if len(ids) < ctx.settings.scheduler.batch_size:
            return changed


async def run_deadlines(ctx: AppContext, now: datetime) -> int:
    total = 0
    for action in SWEEPS:
        total += await sweep(ctx, action, now)
    return total
