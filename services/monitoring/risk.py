"""The early-warning risk score: who to visit first. Transparent by design: points per signal come from
``monitoring.risk_points`` and every score carries the signals that made it, so staff read *why* ("2 lapor
terlewat, penjualan turun"), never a black box.

Signals, each from facts the program already records, all read *as of* ``now`` (only rows dated at or before
it), so the same function scores today's recipients and back-tests a past date (``bench/risk_score.py``):

* missed check-ins among the last three settled periods (points per miss);
* the business status is paused (an unknown status follows from missed check-ins, already counted);
* the sales bracket fell between the last two reports; days open fell between them;
* an open case; an open case past its deadline;
* a photo flagged as reused in the last 90 days;
* the visit is overdue (no visit within ``monitoring.visit_interval_days`` of the aid or the last visit);
* unreachable on Telegram: blocked the bot, or never joined it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from aiogram.utils.i18n import gettext as _
from sqlalchemy import Integer, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import N_
from db.enums import BusinessStatus, CheckinDueState, OnboardingState
from db.models import BusinessStatusChange, Case, Checkin, CheckinDue, Recipient, Visit
from services.checkins import SALES_BRACKETS

SIGNALS = ("missed_checkin", "paused", "sales_falling", "days_falling", "open_case", "overdue_case",
           "photo_reused", "no_visit", "unreachable")
SIGNAL_LABELS = {
    "paused": N_("business paused"),
    "sales_falling": N_("sales falling"),
    "days_falling": N_("fewer days open"),
    "open_case": N_("open case"),
    "overdue_case": N_("case past its deadline"),
    "photo_reused": N_("photo reused"),
    "no_visit": N_("visit overdue"),
    "unreachable": N_("not reachable on Telegram"),
}
LAST_PERIODS = 3
REUSE_WINDOW = timedelta(days=90)
# Chunks of ids per IN (...) list: well under SQLite's and asyncpg's parameter limits.
_CHUNK = 900


@dataclass(slots=True)
class Risk:
    score: int = 0
    # signal -> how many times it counted (missed check-ins count each; the others are 1)
    signals: dict[str, int] = field(default_factory=dict)

    def add(self, signal: str, points: int, times: int = 1) -> None:
        if points <= 0 or times <= 0:
            return
        self.signals[signal] = self.signals.get(signal, 0) + times
        self.score += points * times


def visit_interval(aid_date: date | None, on: date, settings: Settings) -> int:
    """Days between visits for a recipient on day ``on``: shorter in the first months after the aid."""
    m = settings.monitoring
    if aid_date is not None and (on - aid_date).days < m.visit_early_period_days:
        return m.visit_interval_days
    return m.visit_late_interval_days


def next_visit_day(aid_date: date | None, last_visit: date | None, settings: Settings) -> date | None:
    """When the next visit falls due: the interval after the last visit, or after the aid when none yet."""
    start = last_visit or aid_date
    if start is None:
        return None
    return start + timedelta(days=visit_interval(aid_date, start, settings))


def _bracket_rank(code: str | None) -> int | None:
    return SALES_BRACKETS.index(code) if code in SALES_BRACKETS else None


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


async def risk_scores(
    session: AsyncSession, recipient_ids: Sequence[int], *, now: datetime, settings: Settings
) -> dict[int, Risk]:
    """The risk of each recipient as of ``now`` (a handful of queries, whatever the number of people)."""
    pts = settings.monitoring.risk_points
    tz = settings.program.tz
    today = now.astimezone(tz).date()
    result: dict[int, Risk] = {rid: Risk() for rid in recipient_ids}
    if not recipient_ids:
        return result
    ids = list(recipient_ids)
    people: dict[int, tuple[date | None, str, datetime | None]] = {}
    settled: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    reports: dict[int, list[tuple[int | None, int | None]]] = defaultdict(list)
    status_at: dict[int, str] = {}
    open_cases: dict[int, tuple[int, int]] = {}
    reused: set[int] = set()
    last_visit: dict[int, datetime] = {}
    for chunk in _chunks(ids):
        for rid, aid, onboarding, unreachable in await session.execute(
            select(Recipient.id, Recipient.aid_date, Recipient.onboarding_state, Recipient.unreachable_since)
            .where(Recipient.id.in_(chunk))
        ):
            people[rid] = (aid, onboarding, unreachable)
        # Periods whose outcome was known by now, newest first.
        for rid, period, state in await session.execute(
            select(CheckinDue.recipient_id, CheckinDue.period_no, CheckinDue.state)
            .where(CheckinDue.recipient_id.in_(chunk),
                   or_(and_(CheckinDue.state == CheckinDueState.DONE, CheckinDue.completed_at <= now),
                       and_(CheckinDue.state == CheckinDueState.MISSED, CheckinDue.missed_at <= now)))
            .order_by(CheckinDue.recipient_id, CheckinDue.period_no.desc())
        ):
            if len(settled[rid]) < LAST_PERIODS:
                settled[rid].append((period, state == CheckinDueState.MISSED))
        for rid, days, bracket in await session.execute(
            select(Checkin.recipient_id, Checkin.days_open, Checkin.sales_bracket)
            .where(Checkin.recipient_id.in_(chunk), Checkin.submitted_at <= now)
            .order_by(Checkin.recipient_id, Checkin.submitted_at.desc(), Checkin.id.desc())
        ):
            if len(reports[rid]) < 2:
                reports[rid].append((days, _bracket_rank(bracket)))
        latest = (
            select(BusinessStatusChange.recipient_id, func.max(BusinessStatusChange.id).label("last_id"))
            .where(BusinessStatusChange.recipient_id.in_(chunk), BusinessStatusChange.changed_at <= now)
            .group_by(BusinessStatusChange.recipient_id).subquery()
        )
        for rid, status in await session.execute(
            select(BusinessStatusChange.recipient_id, BusinessStatusChange.status)
            .join(latest, latest.c.last_id == BusinessStatusChange.id)
        ):
            status_at[rid] = status
        open_now = and_(
            Case.created_at <= now,
            or_(Case.resolved_at.is_(None), Case.resolved_at > now),
            or_(Case.closed_at.is_(None), Case.closed_at > now),
        )
        late = or_(Case.overdue.is_(True), Case.next_due_at < now)
        for rid, n_open, n_late in await session.execute(
            select(Case.recipient_id, func.count(), func.sum(late.cast(Integer)))
            .where(Case.recipient_id.in_(chunk), open_now).group_by(Case.recipient_id)
        ):
            open_cases[rid] = (int(n_open or 0), int(n_late or 0))
        reused.update(await session.scalars(
            select(Checkin.recipient_id).distinct()
            .where(Checkin.recipient_id.in_(chunk), Checkin.reuse_flagged.is_(True),
                   Checkin.submitted_at <= now, Checkin.submitted_at > now - REUSE_WINDOW)
        ))
        for rid, at in await session.execute(
            select(Visit.recipient_id, func.max(Visit.visited_at))
            .where(Visit.recipient_id.in_(chunk), Visit.visited_at <= now).group_by(Visit.recipient_id)
        ):
            last_visit[rid] = at

    for rid, risk in result.items():
        aid, onboarding, unreachable = people.get(rid, (None, "", None))
        risk.add("missed_checkin", pts.missed_checkin, sum(1 for _p, missed in settled.get(rid, []) if missed))
        status = status_at.get(rid)
        # Paused only: an "unknown" status comes from missed check-ins (services/reports/unknown.py), which
        # the missed signal already counts.
        if status == BusinessStatus.PAUSED:
            risk.add("paused", pts.paused)
        two = reports.get(rid, [])
        if len(two) == 2:
            (days_new, sales_new), (days_old, sales_old) = two
            if sales_new is not None and sales_old is not None and sales_new < sales_old:
                risk.add("sales_falling", pts.sales_falling)
            if days_new is not None and days_old is not None and days_new < days_old:
                risk.add("days_falling", pts.days_falling)
        n_open, n_late = open_cases.get(rid, (0, 0))
        if n_open:
            risk.add("open_case", pts.open_case)
        if n_late:
            risk.add("overdue_case", pts.overdue_case)
        if rid in reused:
            risk.add("photo_reused", pts.photo_reused)
        visited = last_visit.get(rid)
        due = next_visit_day(aid, visited.astimezone(tz).date() if visited else None, settings)
        if due is not None and status != BusinessStatus.STOPPED and today > due:
            risk.add("no_visit", pts.no_visit)
        if (unreachable is not None and unreachable <= now) or onboarding == OnboardingState.NOT_JOINED:
            risk.add("unreachable", pts.unreachable)
    return result


def is_high(risk: Risk, settings: Settings) -> bool:
    return risk.score >= settings.monitoring.risk_high


def risk_icon(risk: Risk, settings: Settings) -> str:
    if risk.score >= settings.monitoring.risk_high:
        return "🔴"
    return "🟡" if risk.score > 0 else "🟢"


def why(risk: Risk) -> str:
    """The signals behind a score in a few words, in the current locale: "2 lapor terlewat, penjualan turun"."""
    parts = []
    for signal in SIGNALS:
        times = risk.signals.get(signal)
        if not times:
            continue
        if signal == "missed_checkin":
            parts.append(_("{n}× missed report").format(n=times))
        else:
            parts.append(_(SIGNAL_LABELS[signal]))
    return ", ".join(parts) if parts else _("no warning signs")


def risk_line(risk: Risk, settings: Settings) -> str:
    """"🔴 Risk 5: 2 missed reports, sales falling"."""
    return _("{icon} Risk {score}: {why}").format(icon=risk_icon(risk, settings), score=risk.score, why=why(risk))


async def risk_lines(session: AsyncSession, recipient_ids: Iterable[int | None], *, now: datetime,
                     settings: Settings) -> dict[int, str]:
    """Recipient id → the readable risk line, for lists (/antrian, /kasus)."""
    ids = sorted({rid for rid in recipient_ids if rid is not None})
    scores = await risk_scores(session, ids, now=now, settings=settings)
    return {rid: risk_line(risk, settings) for rid, risk in scores.items()}
