"""Check-in reminders and missed check-ins, handled by the scan job; what they tell goes through the outbox.

Each reminder is a row with a due time and a unique key (recipient, period, step), so it is handled at most
once. Rows are claimed with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) so several bot processes never
handle one twice. A due reminder becomes an outbox row (services/outgoing/outbox.py, priority ROUTINE, unique
key ``reminder:<id>``) in the transaction that marks it ``sent``; the outbox sender sends it after the commit,
paced, retried from its row, and no Telegram request is made while the scan's transaction is open.
After downtime several steps of one period may be overdue at once: only the latest goes out, the older ones
are skipped, so nobody gets a burst of stale reminders. Nothing is sent to a recipient in quiet hours. Just
before the outbox sends it, a reminder is checked again (:func:`_refresh_reminder`): dropped when the period
was reported or closed meanwhile, or a later step was queued, put off when the quiet hours have begun. A
reminder refused with 403 tells the TKSK that the person is unreachable (:func:`_reminder_undeliverable`).
The ``checkin_missed`` row closes a period nobody reported for: the period counts as missed, the business
status becomes unknown, the next period is scheduled, and the TKSK hears of it in their daily digest (one
outbox row per part, written in the transaction that marks the periods digested).
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.context import AppContext
from bot.messenger import Messenger
from db.claims import claim_rows
from db.enums import BusinessStatus, CheckinDueState, ReminderStatus
from db.models import Checkin, CheckinDue, OutboxMessage, Photo, Recipient, Reminder, TelegramAccount
from services.cases import tksk_account_of
from services.checkins import set_business_status
from services.dates import long_date
from services.outgoing.outbox import PENDING, Postponed, Refreshed, enqueue, on_undeliverable, refresher
from services.outgoing.priority import Priority
from services.photos import REUSE_NOTICE_KIND
from services.schedule import MISSED_KIND, REMINDER_KIND, outside_quiet_hours, schedule_next_checkin

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
KINDS = (REMINDER_KIND, MISSED_KIND, REUSE_NOTICE_KIND)
DIGEST_KIND = "missed_digest"  # outbox rows of the TKSK's daily digest
ROWS_PER_COMMIT = 50  # reminder rows handled in one transaction
SQLITE_WRITERS_PAUSE = 0.12  # seconds between those transactions on SQLite (see _handle_claimed)


def in_quiet_hours(now: datetime, settings: Settings) -> bool:
    return outside_quiet_hours(now, settings) != now


async def claim(ctx: AppContext, now: datetime, limit: int) -> list[int]:
    return await claim_rows(
        ctx.session_factory, Reminder,
        where=[Reminder.kind.in_(KINDS), Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now],
        order_by=[Reminder.due_at, Reminder.id], limit=limit, now=now, lease=LEASE,
    )


def reminder_keyboard() -> InlineKeyboardMarkup:
    from conversations.checkin import CiCb

    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=_("📋 Report now"), callback_data=CiCb(step="open").pack())]]
    )


async def _recipient_account(session: AsyncSession, recipient_id: int) -> TelegramAccount | None:
    return await session.scalar(select(TelegramAccount).where(TelegramAccount.recipient_id == recipient_id))


async def _tell_tksk_unreachable(session: AsyncSession, messenger: Messenger, recipient: Recipient) -> None:
    _worker, tksk = await tksk_account_of(session, recipient.kecamatan_id)
    if tksk is None:
        return
    with messenger.speaking_to(tksk):
        text = _("⚠️ {name} ({desa}) has blocked the bot or left Telegram, so reminders no longer reach them. "
                 "Please contact them directly.").format(name=html.escape(recipient.name),
                                                          desa=html.escape(recipient.desa))
    await enqueue(session, account=tksk, kind="recipient_unreachable", text=text, priority=Priority.CASE,
                  dedupe_key=f"unreachable:{recipient.id}:{recipient.unreachable_since or ''}")


def review_keyboard(checkin_id: int) -> InlineKeyboardMarkup:
    from handlers.checkin_review import ReviewCb

    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=_("✅ Checked, the report is fine"),
                              callback_data=ReviewCb(checkin_id=checkin_id, verdict="ok").pack())],
        [InlineKeyboardButton(text=_("🏠 I will visit to check"),
                              callback_data=ReviewCb(checkin_id=checkin_id, verdict="visit").pack())],
    ])


async def _send_reuse_notice(session: AsyncSession, messenger: Messenger, row: Reminder, *, now: datetime,
                             settings: Settings) -> None:
    """Tell the TKSK that a check-in's photo looks like an earlier one, with the photo and review buttons."""
    payload = row.payload or {}
    checkin = await session.get(Checkin, payload.get("checkin_id", 0))
    photo = await session.get(Photo, payload.get("photo_id", 0))
    match = await session.get(Photo, payload.get("match_photo_id", 0))
    recipient = await session.get(Recipient, checkin.recipient_id) if checkin else None
    if checkin is None or photo is None or recipient is None or checkin.reviewed_at is not None:
        row.status, row.error = ReminderStatus.SKIPPED, "nothing to review"
        return
    if in_quiet_hours(now, settings):
        row.due_at = outside_quiet_hours(now, settings)
        return
    _worker, tksk = await tksk_account_of(session, recipient.kecamatan_id)
    if tksk is None or tksk.blocked_at is not None:
        row.status, row.error = ReminderStatus.SKIPPED, "no TKSK in the bot"
        return
    tz = settings.program.tz
    with messenger.speaking_to(tksk):
        when = long_date(checkin.submitted_at, tz)
        text = _("🔍 Please review: a photo in the business report of {name} ({desa}) of {when} looks the same as "
                 "an earlier photo.").format(name=html.escape(recipient.name), desa=html.escape(recipient.desa),
                                             when=when)
        if match is not None:
            earlier = long_date(match.created_at, tz)
            owner = await session.get(Recipient, match.recipient_id) if match.recipient_id else None
            if owner is not None and owner.id == recipient.id:
                text += "\n" + _("It was already sent by the same person on {day}.").format(day=earlier)
            elif owner is not None and owner.kecamatan_id == recipient.kecamatan_id:
                text += "\n" + _("It was sent on {day} by another recipient: {name} ({desa}).").format(
                    day=earlier, name=html.escape(owner.name), desa=html.escape(owner.desa))
            else:
                text += "\n" + _("It was sent on {day} by a recipient in another kecamatan.").format(day=earlier)
        text += "\n" + _("The report is kept; please check whether the business is really running.")
        markup = review_keyboard(checkin.id)
    # Sent after this transaction commits, retried from its row (services/outgoing/outbox.py).
    await enqueue(session, account=tksk, kind=REUSE_NOTICE_KIND, text=text[:1024], photo=photo.file_id,
                  reply_markup=markup, priority=Priority.ROUTINE, dedupe_key=f"{REUSE_NOTICE_KIND}:{checkin.id}")
    row.attempts += 1
    row.status, row.sent_at = ReminderStatus.SENT, now


async def _handle(session: AsyncSession, messenger: Messenger, row: Reminder, *, now: datetime,
                  settings: Settings) -> None:
    if row.kind == REUSE_NOTICE_KIND:
        row.claimed_until = None
        await _send_reuse_notice(session, messenger, row, now=now, settings=settings)
        return
    due = await session.get(CheckinDue, row.checkin_due_id) if row.checkin_due_id else None
    recipient = await session.get(Recipient, row.recipient_id) if row.recipient_id else None
    row.claimed_until = None
    if due is None or recipient is None or due.state != CheckinDueState.OPEN:
        row.status, row.error = ReminderStatus.SKIPPED, "period closed"
        return
    if recipient.restricted_at is not None or recipient.anonymised_at is not None:
        row.status, row.error = ReminderStatus.SKIPPED, "processing restricted (UU PDP)"
        return
    if row.kind == MISSED_KIND:
        due.state, due.missed_at = CheckinDueState.MISSED, now
        await set_business_status(session, recipient, BusinessStatus.UNKNOWN, now=now)
        await session.flush()
        await schedule_next_checkin(session, recipient, settings=settings, now=now)
        row.status, row.sent_at = ReminderStatus.SENT, now
        return
    # Catch-up: a later step of this period already due makes this one stale.
    later = await session.scalar(
        select(Reminder.id).where(
            Reminder.checkin_due_id == due.id, Reminder.step > row.step, Reminder.due_at <= now,
            Reminder.status == ReminderStatus.PENDING,
        ).limit(1)
    )
    if later is not None:
        row.status, row.error = ReminderStatus.SKIPPED, "superseded by a later step"
        return
    if in_quiet_hours(now, settings):
        row.due_at = outside_quiet_hours(now, settings)  # wait for the morning
        return
    account = await _recipient_account(session, recipient.id)
    if account is None or account.blocked_at is not None:
        row.status, row.error = ReminderStatus.SKIPPED, "not reachable"
        return
    with messenger.speaking_to(account):
        text = _reminder_text(row.step, recipient, due, settings)
        markup = reminder_keyboard()
    # Sent after this transaction commits, by the outbox (paced, retried from its row); checked again just
    # before it goes (_refresh_reminder).
    await enqueue(session, account=account, kind=REMINDER_KIND, text=text, reply_markup=markup,
                  priority=Priority.ROUTINE, dedupe_key=f"reminder:{row.id}",
                  payload={"reminder_id": row.id, "checkin_due_id": due.id, "step": row.step})
    row.attempts += 1
    row.status, row.sent_at = ReminderStatus.SENT, now


def _reminder_text(step: int, recipient: Recipient, due: CheckinDue, settings: Settings) -> str:
    day = long_date(due.due_at, settings.program.tz)
    if step == 0:
        text = _("📋 Hello {name}! It is time to report on your business (due {day}). It takes one minute.")
    else:
        text = _("⏰ Reminder: we have not received your business report due {day} yet. Please report now.")
    return text.format(name=html.escape(recipient.name), day=day)


@refresher(REMINDER_KIND)
async def _refresh_reminder(
    session: AsyncSession, row: OutboxMessage, account: TelegramAccount, *, now: datetime, settings: Settings,
    messenger: Messenger,
) -> Refreshed | Postponed | None:
    """Just before a queued reminder goes: None (skip) when it became pointless, Postponed in quiet hours."""
    payload = row.payload or {}
    due = await session.get(CheckinDue, payload.get("checkin_due_id", 0))
    recipient = await session.get(Recipient, due.recipient_id) if due is not None else None
    if due is None or recipient is None or due.state != CheckinDueState.OPEN:
        return None  # reported (or closed) since it was queued
    if recipient.restricted_at is not None or recipient.anonymised_at is not None:
        return None
    later = await session.scalar(
        select(Reminder.id).where(
            Reminder.checkin_due_id == due.id, Reminder.step > int(payload.get("step", 0)),
            Reminder.status == ReminderStatus.SENT,
        ).limit(1)
    )
    if later is not None:
        return None  # a later step of this period was queued too: that one goes
    if in_quiet_hours(now, settings):
        return Postponed(outside_quiet_hours(now, settings))
    return Refreshed(row.text, row.reply_markup)


@on_undeliverable(REMINDER_KIND)
async def _reminder_undeliverable(
    session: AsyncSession, row: OutboxMessage, *, now: datetime, settings: Settings, messenger: Messenger,
    blocked: bool = False,
) -> None:
    """A reminder refused because the person blocked the bot: their TKSK is told (once per time they became
    unreachable: the notice's unique key)."""
    if not blocked or row.account_id is None:
        return
    account = await session.get(TelegramAccount, row.account_id)
    recipient = account.recipient if account is not None else None
    if recipient is not None:
        await _tell_tksk_unreachable(session, messenger, recipient)


async def pending_reminders(session: AsyncSession) -> int:
    """Reminders queued in the outbox and not sent yet."""
    from sqlalchemy import func

    return await session.scalar(
        select(func.count()).select_from(OutboxMessage)
        .where(OutboxMessage.kind == REMINDER_KIND, OutboxMessage.status == PENDING)
    ) or 0


async def send_due_reminders(ctx: AppContext, messenger: Messenger, now: datetime, *, limit: int | None = None) -> int:
    """Handle due reminder rows: each due reminder becomes an outbox row (priority ROUTINE), sent after the
    commit by the outbox sender; at most ``limit`` rows (None: all), so the outbox holds about what the pacer
    sends in one scan interval and other routine messages (a digest) do not queue behind a whole cohort.

    Claimed in batches of ``scheduler.batch_size``, written ``ROWS_PER_COMMIT`` to a transaction."""
    handled = 0
    batch = ctx.settings.scheduler.batch_size
    while limit is None or handled < limit:
        size = batch if limit is None else min(batch, limit - handled)
        ids = await claim(ctx, now, size)
        await _handle_claimed(ctx, messenger, ids, now)
        handled += len(ids)
        if len(ids) < size:
            return handled
    return handled


async def _handle_claimed(ctx: AppContext, messenger: Messenger, ids: list[int], now: datetime) -> None:
    """Handle claimed rows in order (one person's steps oldest first: the catch-up rule needs the earlier step
    handled first), ``ROWS_PER_COMMIT`` to a transaction (nothing is sent here, so a transaction is short: a
    few queries and one outbox row per reminder; SQLite's write lock is never held long), each row in a
    savepoint so one row's failure leaves the others (its lease brings it back)."""
    sqlite = ctx.settings.database.is_sqlite
    for start in range(0, len(ids), ROWS_PER_COMMIT):
        chunk = ids[start:start + ROWS_PER_COMMIT]
        if sqlite and start:
            # A writer waiting for SQLite's lock polls (its busy handler sleeps up to 100 ms between tries), so
            # a loop that opens its next write transaction at once wins the lock every time: the outbox sender
            # could not record a send, nor a person's update commit, until the whole scan was done (1-2 sent
            # per second for the 20 s of queueing 2,000 reminders). A pause longer than one poll lets them in.
            await asyncio.sleep(SQLITE_WRITERS_PAUSE)
        async with ctx.session_factory.begin() as session:
            # A write first (the lease renewed): on SQLite the transaction takes the write lock now, waiting
            # its turn, instead of reading a snapshot that another writer's commit would make stale.
            await session.execute(update(Reminder).where(Reminder.id.in_(chunk)).values(claimed_until=now + LEASE)
                                  .execution_options(synchronize_session=False))
            rows = list(await session.scalars(
                select(Reminder).where(Reminder.id.in_(chunk))
                .order_by(Reminder.due_at, Reminder.step, Reminder.id)
            ))
            for row in rows:
                if row.status != ReminderStatus.PENDING:
                    continue
                try:
                    async with session.begin_nested():
                        await _handle(session, messenger, row, now=now, settings=ctx.settings)
                except Exception:
                    log.exception("reminder %s failed", row.id)


async def send_missed_digests(ctx: AppContext, messenger: Messenger, now: datetime) -> int:
    """One message per TKSK listing everyone whose check-in was missed and not yet reported to them."""
    settings = ctx.settings
    local = now.astimezone(settings.program.tz)
    if local.hour < settings.checkin.digest_hour or in_quiet_hours(now, settings):
        return 0
    async with ctx.session_factory.begin() as session:
        query = (
            select(CheckinDue, Recipient)
            .join(Recipient, Recipient.id == CheckinDue.recipient_id)
            .where(CheckinDue.state == CheckinDueState.MISSED, CheckinDue.digested_at.is_(None))
            .order_by(Recipient.kecamatan_id, Recipient.name)
        )
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=CheckinDue)
        # One digest a day: a kecamatan whose TKSK already had today's digest waits for tomorrow's.
        day_start = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
        done_today = set(await session.scalars(
            select(Recipient.kecamatan_id).distinct()
            .join(CheckinDue, CheckinDue.recipient_id == Recipient.id)
            .where(CheckinDue.digested_at >= day_start)
        ))
        by_kecamatan: dict[int, list[tuple[CheckinDue, Recipient]]] = defaultdict(list)
        for due, recipient in await session.execute(query):
            if recipient.kecamatan_id not in done_today:
                by_kecamatan[recipient.kecamatan_id].append((due, recipient))
        sent = 0
        day = local.date().isoformat()
        for kecamatan_id, rows in by_kecamatan.items():
            _worker, tksk = await tksk_account_of(session, kecamatan_id)
            if tksk is not None and tksk.blocked_at is None:
                with messenger.speaking_to(tksk):
                    parts = _digest_parts(rows, settings)
                # A long list goes in parts, never cut short; each part has its people's buttons. Sent after
                # this transaction commits (the outbox, one chat's rows in order), retried from the rows.
                for n, (part, markup) in enumerate(parts):
                    await enqueue(session, account=tksk, kind=DIGEST_KIND, text=part, reply_markup=markup,
                                  priority=Priority.ROUTINE, dedupe_key=f"{DIGEST_KIND}:{kecamatan_id}:{day}:{n}")
                sent += 1
            for due, _recipient in rows:
                due.digested_at = now  # in the same transaction as the digest's rows: told once, or not at all
        return sent


DIGEST_PEOPLE_PER_PART = 30  # three buttons each: within Telegram's 100 buttons per message


def _digest_parts(rows: list[tuple[CheckinDue, Recipient]],
                  settings: Settings) -> list[tuple[str, InlineKeyboardMarkup]]:
    """The digest in parts of at most 30 people, each person with buttons to open the card, call and plan a
    visit (``handlers/recipient_card.py``: every press re-checks the kecamatan)."""
    from services.monitoring.card import RcCb

    parts = []
    for start in range(0, len(rows), DIGEST_PEOPLE_PER_PART):
        group = rows[start:start + DIGEST_PEOPLE_PER_PART]
        lines = [_("📋 Missed business reports in your kecamatan ({n}):").format(n=len(rows))] if start == 0 else []
        keyboard = []
        for due, recipient in group:
            day = long_date(due.due_at, settings.program.tz)
            lines.append(f"• {html.escape(recipient.name)}, {html.escape(recipient.desa)} ({day})")
            keyboard.append([
                InlineKeyboardButton(text=f"📇 {recipient.name[:24]}",
                                     callback_data=RcCb(action="open", rid=recipient.id).pack()),
                InlineKeyboardButton(text=_("📞 Call"), callback_data=RcCb(action="call", rid=recipient.id).pack()),
                InlineKeyboardButton(text=_("🏠 Plan a visit"),
                                     callback_data=RcCb(action="plan", rid=recipient.id).pack()),
            ])
        if start + DIGEST_PEOPLE_PER_PART >= len(rows):
            lines.append(_("Please visit or call them and help them report."))
        parts.append(("\n".join(lines), InlineKeyboardMarkup(inline_keyboard=keyboard)))
    return parts


def _chunks(lines: list[str], limit: int = 3800) -> list[str]:
    """Join lines into messages under Telegram's 4,096-character limit."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if current and size + len(line) + 1 > limit:
            parts.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        parts.append("\n".join(current))
    return parts
