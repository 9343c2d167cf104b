"""The 3×24-hour clock of requests and breaches, run from the scan tick like case deadlines
(scheduler/privacy_tasks.py):

* **Reminder** ``privacy.remind_before_hours`` before the deadline of an open request: Dinas Sosial (and the
  TKSK, for a correction) is reminded once (``reminded_at``).
* **Escalation** when the deadline passes: the admins are told it is late, and so is the person, with the data
  protection officer's contact (``escalated_at``).
* A breach whose people or authority have not been notified: the admins are reminded before its deadline and
  told when it is late.

Rows are claimed with a lease on ``claimed_until`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), then each is
re-checked and changed in its own transaction, so several processes never remind twice; the messages are
durable rows with a dedupe key besides.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiogram.utils.i18n import gettext as _
from sqlalchemy import or_

from bot.context import AppContext
from db.claims import claim_rows
from db.enums import PrivacyRequestState
from db.models import PrivacyBreach, PrivacyRequest, Recipient
from services.privacy import messages
from services.privacy import requests as rules
from services.privacy.language import locale_of, speaking

LEASE = timedelta(minutes=5)


def _request_due(what: str, now: datetime, remind_before: timedelta) -> list[Any]:
    if what == "remind":
        return [PrivacyRequest.state == PrivacyRequestState.OPEN, PrivacyRequest.reminded_at.is_(None),
                PrivacyRequest.due_at <= now + remind_before]
    return [PrivacyRequest.state == PrivacyRequestState.OPEN, PrivacyRequest.escalated_at.is_(None),
            PrivacyRequest.due_at <= now]


def _breach_due(what: str, now: datetime, remind_before: timedelta) -> list[Any]:
    pending = or_(PrivacyBreach.people_notified_at.is_(None), PrivacyBreach.authority_notified_at.is_(None))
    if what == "remind":
        return [pending, PrivacyBreach.reminded_at.is_(None), PrivacyBreach.notify_due_at <= now + remind_before]
    return [pending, PrivacyBreach.escalated_at.is_(None), PrivacyBreach.notify_due_at <= now]


async def _sweep_requests(ctx: AppContext, what: str, now: datetime) -> int:
    remind_before = timedelta(hours=ctx.settings.privacy.remind_before_hours)
    changed = 0
    while True:
        ids = await claim_rows(ctx.session_factory, PrivacyRequest, where=_request_due(what, now, remind_before),
                               order_by=[PrivacyRequest.id], limit=ctx.settings.scheduler.batch_size, now=now,
                               lease=LEASE)
        for request_id in ids:
            async with ctx.session_factory.begin() as session:
                request = await session.get(PrivacyRequest, request_id)
                if request is None:
                    continue
                request.claimed_until = None
                if request.state != PrivacyRequestState.OPEN:
                    continue
                recipient = await session.get(Recipient, request.recipient_id) if request.recipient_id else None
                if what == "remind":
                    if request.reminded_at is not None:
                        continue
                    request.reminded_at = now
                    if recipient is not None:
                        await rules._tell_team(session, request, recipient, what="remind", now=now,
                                               settings=ctx.settings)
                else:
                    if request.escalated_at is not None:
                        continue
                    request.escalated_at = now
                    request.reminded_at = request.reminded_at or now
                    if recipient is not None:
                        await rules._tell_team(session, request, recipient, what="late", now=now,
                                               settings=ctx.settings)
                    await rules.tell_person(session, request, lambda r=request: _late_text(r, ctx), now=now,
                                            key="late")
                changed += 1
        if len(ids) < ctx.settings.scheduler.batch_size:
            return changed


def _late_text(request: PrivacyRequest, ctx: AppContext) -> str:
    from conversations.privacy import dpo_text

    return _("We are sorry: the answer to your data request #{id} ({kind}) is late. It has been passed to the "
             "head of the unit. You may also contact:").format(id=request.id, kind=rules.kind_label(request.kind)) \
        + "\n" + dpo_text(ctx.settings)


async def _sweep_breaches(ctx: AppContext, what: str, now: datetime) -> int:
    remind_before = timedelta(hours=ctx.settings.privacy.remind_before_hours)
    changed = 0
    ids = await claim_rows(ctx.session_factory, PrivacyBreach, where=_breach_due(what, now, remind_before),
                           order_by=[PrivacyBreach.id], limit=ctx.settings.scheduler.batch_size, now=now, lease=LEASE)
    for breach_id in ids:
        async with ctx.session_factory.begin() as session:
            breach = await session.get(PrivacyBreach, breach_id)
            if breach is None:
                continue
            breach.claimed_until = None
            if (breach.people_notified_at is not None and breach.authority_notified_at is not None) or (
                    (breach.reminded_at if what == "remind" else breach.escalated_at) is not None):
                continue
            if what == "remind":
                breach.reminded_at = now
            else:
                breach.escalated_at = now
                breach.reminded_at = breach.reminded_at or now
            for account in await rules.staff_accounts(session, admins_only=True):
                with speaking(locale_of(account)):
                    missing = [label for label, done in (
                        (_("the people affected"), breach.people_notified_at),
                        (_("the supervising authority"), breach.authority_notified_at)) if done is None]
                    head = (_("⏰ Breach #{id}: notify by {due} WITA.") if what == "remind"
                            else _("🚩 Breach #{id}: the 3×24-hour notice deadline ({due} WITA) has passed."))
                    text = head.format(id=breach.id, due=rules.wita(breach.notify_due_at, ctx.settings)) + "\n" + \
                        _("Not yet told: {who}. Use: uep privacy breach notify {id}").format(
                            who=", ".join(missing), id=breach.id)
                await messages.enqueue(session, account=account, text=text, dedupe_key=f"breach{breach.id}:{what}",
                                       now=now)
            changed += 1
    return changed


async def run_privacy_deadlines(ctx: AppContext, now: datetime) -> int:
    total = 0
    for what in ("remind", "late"):
        total += await _sweep_requests(ctx, what, now)
        total += await _sweep_breaches(ctx, what, now)
    return total
