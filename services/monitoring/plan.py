"""The visit plan: one ``VisitDue`` row per recipient, scanned like reminders (never a job per person).

* :func:`ensure_plan_rows` gives every recipient with aid a row (due ``visit_interval_days`` after the aid);
  a visit report moves it on (services/monitoring/visits.py); a worker may plan a day (:func:`plan_day`).
* :func:`send_weekly_lists`: on ``weekly_list_weekday`` from ``weekly_list_hour`` WITA (Monday 07:00) every
  TKSK and PSM gets the visits due in their kecamatan by the end of the week, highest risk first, with a
  button to open each card. Queued once per worker per week: the outbox row's unique dedupe key is the record.
* :func:`notify_overdue`: a visit more than ``overdue_notice_days`` late is reported to Dinas Sosial once
  (until the next visit), rows claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL.
* :func:`visit_notice_text`: what the recipient is told, in plain words, when a visit moved their case on.

Every one of these messages is an outbox row (services/outgoing/outbox.py) written in the transaction that
decides it, and sent after the commit.
"""

from __future__ import annotations

import html
import logging
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.context import AppContext
from bot.messenger import Messenger
from db.claims import claim_rows
from db.enums import BusinessStatus
from db.models import Case, FieldWorker, Kecamatan, OutboxMessage, Recipient, TelegramAccount, Visit, VisitDue
from services.cases.notify import staff_accounts
from services.dates import long_date
from services.i18n_labels import case_state_label
from services.monitoring.risk import next_visit_day, risk_icon, risk_scores, why
from services.outgoing import outbox
from services.schedule import local_at, outside_quiet_hours

log = logging.getLogger(__name__)
WEEKLY_KIND = "visit_list"
OVERDUE_KIND = "visit_overdue"
LEASE = timedelta(minutes=5)
# Card buttons in one weekly list message (Telegram allows 100; a long list says how to see the rest).
LIST_BUTTONS = 30
# Up to this many overdue visits are named in the notice to Dinas Sosial; more are counted per kecamatan.
OVERDUE_NAMES = 40


async def ensure_plan_rows(session: AsyncSession, *, now: datetime, settings: Settings, limit: int = 5000) -> int:
    """Create the missing plan rows (recipients with aid and no row yet); idempotent and safe in parallel."""
    rows = (await session.execute(
        select(Recipient.id, Recipient.aid_date)
        .outerjoin(VisitDue, VisitDue.recipient_id == Recipient.id)
        .where(VisitDue.id.is_(None), Recipient.aid_date.is_not(None)).limit(limit)
    )).all()
    if not rows:
        return 0
    values = [
        {"recipient_id": rid, "due_at": local_at(next_visit_day(aid, None, settings) or aid, 8, settings),
         "updated_at": now}
        for rid, aid in rows
    ]
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    await session.execute(insert(VisitDue).values(values).on_conflict_do_nothing(index_elements=["recipient_id"]))
    return len(values)


async def plan_day(session: AsyncSession, recipient: Recipient, day: date, *, now: datetime) -> VisitDue:
    plan = await session.scalar(select(VisitDue).where(VisitDue.recipient_id == recipient.id))
    if plan is None:
        plan = VisitDue(recipient_id=recipient.id, due_at=now, updated_at=now)
        session.add(plan)
    plan.planned_on, plan.planned_at, plan.updated_at = day, now, now
    await session.flush()
    return plan


def _active_recipient():  # type: ignore[no-untyped-def]
    return and_(Recipient.aid_date.is_not(None), Recipient.business_status != BusinessStatus.STOPPED)


async def due_visits(session: AsyncSession, kecamatan_id: int, until: datetime, *, now: datetime,
                     settings: Settings) -> list[tuple[Recipient, VisitDue]]:
    """Visits due in a kecamatan by ``until`` (or planned by then), highest risk first."""
    until_day = until.astimezone(settings.program.tz).date()
    rows = list((await session.execute(
        select(Recipient, VisitDue).join(VisitDue, VisitDue.recipient_id == Recipient.id)
        .where(Recipient.kecamatan_id == kecamatan_id, _active_recipient(),
               or_(VisitDue.due_at <= until, VisitDue.planned_on <= until_day))
    )).all())
    risks = await risk_scores(session, [r.id for r, _d in rows], now=now, settings=settings)
    rows.sort(key=lambda row: (-risks[row[0].id].score, row[1].due_at, row[0].name))
    return [(r, d) for r, d in rows]


def week_end(now: datetime, settings: Settings) -> datetime:
    local = now.astimezone(settings.program.tz).date()
    sunday = local + timedelta(days=6 - local.weekday())
    return local_at(sunday + timedelta(days=1), 0, settings)


async def _worker_accounts(session: AsyncSession) -> list[tuple[FieldWorker, TelegramAccount]]:
    return list((await session.execute(
        select(FieldWorker, TelegramAccount).join(TelegramAccount, TelegramAccount.worker_id == FieldWorker.id)
        .where(FieldWorker.active.is_(True), TelegramAccount.blocked_at.is_(None)).order_by(FieldWorker.id)
    )).all())


def weekly_list_text(rows, risks, *, settings: Settings, now: datetime, kecamatan: str) -> str:  # type: ignore[no-untyped-def]
    tz = settings.program.tz
    lines = [_("🏠 Visits due this week in {kecamatan} ({n}), highest risk first:").format(
        kecamatan=html.escape(kecamatan), n=len(rows))]
    for n, (recipient, plan) in enumerate(rows[:LIST_BUTTONS], 1):
        risk = risks[recipient.id]
        due = plan.planned_on or plan.due_at.astimezone(tz).date()
        late = " ⏰" if plan.due_at < now else ""
        lines.append(f"{n}. {risk_icon(risk, settings)} <b>{html.escape(recipient.name)}</b>, "
                     f"{html.escape(recipient.desa or '-')} · {long_date(due)}{late}\n    "
                     + html.escape(_("risk {score}: {why}").format(score=risk.score, why=why(risk))))
    if len(rows) > LIST_BUTTONS:
        lines.append(_("…and {n} more: /penerima shows them all (filter: visit due).").format(
            n=len(rows) - LIST_BUTTONS))
    lines.append(_("Press a name to open the card and record the visit."))
    return "\n".join(lines)


def card_buttons(rows) -> InlineKeyboardMarkup:  # type: ignore[no-untyped-def]
    from services.monitoring.card import RcCb

    buttons = [InlineKeyboardButton(text=f"{n}. {r.name[:28]}", callback_data=RcCb(action="open", rid=r.id).pack())
               for n, (r, _plan) in enumerate(rows[:LIST_BUTTONS], 1)]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[i:i + 2] for i in range(0, len(buttons), 2)])


async def send_weekly_lists(ctx: AppContext, messenger: Messenger, now: datetime) -> int:
    settings = ctx.settings
    m = settings.monitoring
    local = now.astimezone(settings.program.tz)
    if local.weekday() != m.weekly_list_weekday or local.hour < m.weekly_list_hour:
        return 0
    week = local.date().isoformat()
    async with ctx.session_factory() as session:
        workers = [(w.id, a.id) for w, a in await _worker_accounts(session)]
        done = set(await session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.kind == WEEKLY_KIND,
                                                   OutboxMessage.dedupe_key.like(f"%:{week}"))))
    sent = 0
    until = week_end(now, settings)
    for worker_id, account_id in workers:
        key = f"visitlist:{worker_id}:{week}"
        if key in done:
            continue
        async with ctx.session_factory() as session:
            if await session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is not None:
                continue
            worker = await session.get(FieldWorker, worker_id)
            account = await session.get(TelegramAccount, account_id)
            assert worker is not None and account is not None
            rows = await due_visits(session, worker.kecamatan_id, until, now=now, settings=settings)
            risks = await risk_scores(session, [r.id for r, _p in rows], now=now, settings=settings)
            kecamatan = (await session.get(Kecamatan, worker.kecamatan_id)).name  # type: ignore[union-attr]
            with messenger.speaking_to(account):
                if rows:
                    text = weekly_list_text(rows, risks, settings=settings, now=now, kecamatan=kecamatan)
                    markup = card_buttons(rows)
                else:
                    text, markup = _("🏠 No visits are due this week in {kecamatan}. Thank you!").format(
                        kecamatan=html.escape(kecamatan)), None
            # The outbox row is the record that this week's list went out (unique key per worker and week).
            try:
                await outbox.enqueue(session, account=account, kind=WEEKLY_KIND, text=text, reply_markup=markup,
                                     dedupe_key=key)
                await session.commit()
            except IntegrityError:  # another process queued it first
                await session.rollback()
                continue
            sent += 1
    return sent


async def notify_overdue(ctx: AppContext, messenger: Messenger, now: datetime) -> int:
    """Tell Dinas Sosial about visits more than ``overdue_notice_days`` late (each once until the next visit)."""
    settings = ctx.settings
    if outside_quiet_hours(now, settings) != now:
        return 0
    late_before = now - timedelta(days=settings.monitoring.overdue_notice_days)
    ids = await claim_rows(
        ctx.session_factory, VisitDue,
        where=[VisitDue.due_at < late_before, VisitDue.overdue_notified_at.is_(None),
               or_(VisitDue.planned_on.is_(None), VisitDue.planned_on < late_before.date())],
        order_by=[VisitDue.due_at, VisitDue.id], limit=settings.scheduler.batch_size, now=now, lease=LEASE,
    )
    if not ids:
        return 0
    async with ctx.session_factory.begin() as session:
        rows = list((await session.execute(
            select(VisitDue, Recipient, Kecamatan.name).join(Recipient, Recipient.id == VisitDue.recipient_id)
            .join(Kecamatan, Kecamatan.id == Recipient.kecamatan_id)
            .where(VisitDue.id.in_(ids)).order_by(Kecamatan.name, VisitDue.due_at)
        )).all())
        late = [(plan, r, kec) for plan, r, kec in rows
                if r.aid_date is not None and r.business_status != BusinessStatus.STOPPED]
        for plan, _r, _k in rows:
            plan.claimed_until = None
        if not late:
            for plan, _r, _k in rows:
                plan.overdue_notified_at = now
            return 0
        accounts = [a for a in await staff_accounts(session) if a.blocked_at is None]
        if not accounts:
            return 0  # nobody at Dinas Sosial in the bot yet: keep them for when someone is
        first = min(ids)
        for account in accounts:
            with messenger.speaking_to(account):
                parts = overdue_text(late, now=now, settings=settings)
            for n, part in enumerate(parts):
                await outbox.enqueue(session, account=account, kind=OVERDUE_KIND, text=part,
                                     dedupe_key=f"visit_overdue:{account.id}:{first}:{now.isoformat()}:{n}")
        for plan, _r, _k in rows:
            plan.overdue_notified_at = now  # in the same transaction as the messages: told once, or not at all
        return len(late)


def overdue_text(late, *, now: datetime, settings: Settings) -> list[str]:  # type: ignore[no-untyped-def]
    from services.reminders import _chunks

    by_kec: dict[str, list[str]] = defaultdict(list)
    for plan, r, kec in late:
        days = (now - plan.due_at).days
        by_kec[kec].append(_("• {name}, {desa}: {days} days late").format(
            name=html.escape(r.name), desa=html.escape(r.desa or "-"), days=days))
    lines = [_("🏠 Visits more than {days} days late ({n}):").format(
        days=settings.monitoring.overdue_notice_days, n=len(late))]
    names = len(late) <= OVERDUE_NAMES  # a long backlog (the first run on a roster) is counted, not listed
    for kec, items in sorted(by_kec.items()):
        lines.append(f"<b>{html.escape(kec)}</b> ({len(items)})")
        if names:
            lines.extend(items)
    if not names:
        lines.append(_("/pemantauan shows the visit coverage of each kecamatan."))
    lines.append(_("Please ask the TKSK and PSM of these kecamatan to plan the visits."))
    return _chunks(lines)


def visit_notice_text(visit: Visit, case: Case, worker: FieldWorker | None, settings: Settings) -> str:
    day = long_date(visit.visited_at, settings.program.tz)
    who = html.escape(worker.name) if worker else _("Your TKSK")
    text = _("🏠 {who} visited you on {day} about your report {number}. Thank you for receiving them.").format(
        who=who, day=day, number=html.escape(case.number))
    text += "\n" + _("Your report is now: {state}. They will keep helping you.").format(
        state=html.escape(case_state_label(case.state)))
    if visit.advice:
        text += "\n" + _("Their advice: {advice}").format(advice=html.escape(visit.advice[:500]))
    return text


def planned_day_from(arg: str) -> date | None:
    try:
        return datetime.strptime(arg, "%Y%m%d").replace(tzinfo=UTC).date()
    except ValueError:
        return None
