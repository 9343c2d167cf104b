"""When check-ins fall due, and the reminder rows that chase them.

Cadence (settings.checkin): every ``early_interval_days`` during the first ``early_period_days`` after the
aid was handed over, then every ``late_interval_days``. A check-in is due at ``due_hour`` (08:00) WITA on its
day. Each due check-in gets one reminder row per step of ``reminder_offsets_days`` (on the due day, after 2
days, after 5 days) plus one ``checkin_missed`` row the day after the last reminder; the scan job sends what
is due. Reminders never fall in quiet hours: a time inside them moves to ``quiet_end_hour``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.enums import CheckinDueState, ReminderStatus
from db.models import CheckinDue, Recipient, Reminder

REMINDER_KIND = "checkin_reminder"
MISSED_KIND = "checkin_missed"


def cadence(aid_date: date, settings: Settings) -> Iterator[tuple[int, date]]:
    """(period number, local due date) for every period, forever, starting at period 1."""
    c = settings.checkin
    day, period = 0, 0
    while True:
        step = c.early_interval_days if day + c.early_interval_days <= c.early_period_days else c.late_interval_days
        day += step
        period += 1
        yield period, aid_date + timedelta(days=day)


def local_at(day: date, hour: int, settings: Settings) -> datetime:
    """``hour``:00 WITA on ``day``, as aware UTC."""
    from datetime import UTC

    return datetime.combine(day, time(hour), tzinfo=settings.program.tz).astimezone(UTC)


def recently_active(last_seen_at: datetime | None, now: datetime, settings: Settings) -> bool:
    """The person wrote to the bot within ``checkin.quiet_hours_grace_minutes``: a notice about what they are
    waiting for is an answer, not an unsolicited message, so quiet hours do not hold it back. ``last_seen_at``
    is refreshed every few minutes (services/identity.py), so the window is that much wider."""
    grace = settings.checkin.quiet_hours_grace_minutes
    return grace > 0 and last_seen_at is not None and now - last_seen_at <= timedelta(minutes=grace + 5)


def outside_quiet_hours(moment: datetime, settings: Settings) -> datetime:
    """The same moment, or the end of the quiet hours it falls in (local time)."""
    c = settings.checkin
    local = moment.astimezone(settings.program.tz)
    start, end = c.quiet_start_hour, c.quiet_end_hour
    hour = local.hour
    in_quiet = (hour >= start or hour < end) if start > end else (start <= hour < end)
    if not in_quiet:
        return moment
    wake_day = local.date() + timedelta(days=1) if (start > end and hour >= start) else local.date()
    return local_at(wake_day, end, settings)


def reminder_plan(due_day: date, settings: Settings) -> list[tuple[int, str, datetime]]:
    """(step, kind, due time) of every reminder row of one check-in period."""
    c = settings.checkin
    plan = [
        (step, REMINDER_KIND,
         outside_quiet_hours(local_at(due_day + timedelta(days=offset), c.due_hour, settings), settings))
        for step, offset in enumerate(c.reminder_offsets_days)
    ]
    last = c.reminder_offsets_days[-1]
    missed_at = local_at(due_day + timedelta(days=last + 1), c.due_hour, settings)
    plan.append((len(c.reminder_offsets_days), MISSED_KIND, missed_at))
    return plan


def dedupe_key(recipient_id: int, period_no: int, step: int) -> str:
    return f"checkin:{recipient_id}:{period_no}:{step}"


async def open_due(session: AsyncSession, recipient_id: int) -> CheckinDue | None:
    return await session.scalar(
        select(CheckinDue)
        .where(CheckinDue.recipient_id == recipient_id, CheckinDue.state == CheckinDueState.OPEN)
        .order_by(CheckinDue.period_no)
        .limit(1)
    )


async def schedule_next_checkin(
    session: AsyncSession, recipient: Recipient, *, settings: Settings, now: datetime
) -> CheckinDue | None:
    """Make sure the recipient has one open check-in period with its reminders; return it.

    The next period is the first after the last one scheduled whose due day is today or later (WITA), so a
    late joiner or a restart after downtime never gets a backlog of stale periods. None while the aid has
    not been handed over.
    """
    existing = await open_due(session, recipient.id)
    if existing is not None:
        return existing
    if recipient.aid_date is None:
        return None
    last_period = await session.scalar(
        select(CheckinDue.period_no)
        .where(CheckinDue.recipient_id == recipient.id)
        .order_by(CheckinDue.period_no.desc())
        .limit(1)
    ) or 0
    today = now.astimezone(settings.program.tz).date()
    for period_no, due_day in cadence(recipient.aid_date, settings):
        if period_no > last_period and due_day >= today:
            break
    due = CheckinDue(
        recipient_id=recipient.id, period_no=period_no, due_at=local_at(due_day, settings.checkin.due_hour, settings),
        state=CheckinDueState.OPEN,
    )
    session.add(due)
    await session.flush()
    for step, kind, at in reminder_plan(due_day, settings):
        session.add(
            Reminder(
                dedupe_key=dedupe_key(recipient.id, period_no, step), kind=kind, recipient_id=recipient.id,
                checkin_due_id=due.id, step=step, due_at=at, status=ReminderStatus.PENDING,
            )
        )
    await session.flush()
    return due
