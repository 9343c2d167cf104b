"""Operational figures: onboarding progress, check-in compliance, cases, photo reuse.

Check-in compliance classifies every check-in period (``CheckinDue``) that has fallen due:

* **on time**: done, and completed by the end of the due day, local time (WITA), i.e. on or before the due
  date; a done period without a completion time counts as on time (nothing shows it was late);
* **late**: done, completed on a later local day;
* **missed**: marked missed;
* **open**: fallen due but neither done nor missed yet (still inside its reminder window); not in the rates.

Periods are grouped by the calendar month (WITA) of their due date. The SQL works on SQLite and PostgreSQL; on
SQLite local dates use the zone's fixed UTC offset (Indonesian zones have no daylight saving time).

Case times: "to take" = ``taken_at - created_at``, "to resolve" = ``resolved_at - created_at``, medians in
hours over every case that has the timestamp. Open = not resolved or closed; overdue = open with the
``overdue`` flag."""

from __future__ import annotations

import statistics
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from db.enums import CaseState, CheckinDueState, OnboardingState
from db.models import Case, Checkin, CheckinDue, Kecamatan, Photo, Recipient

ON_TIME, LATE, MISSED, OPEN = "on_time", "late", "missed", "open"
CLOSED_CASE_STATES = (CaseState.RESOLVED.value, CaseState.CLOSED.value)


def classify_due(state: str, due_at: datetime, completed_at: datetime | None, tz: tzinfo) -> str:
    """The compliance class of one period (the reference the SQL below must agree with)."""
    if state == CheckinDueState.MISSED:
        return MISSED
    if state == CheckinDueState.DONE:
        if completed_at is None or completed_at.astimezone(tz).date() <= due_at.astimezone(tz).date():
            return ON_TIME
        return LATE
    return OPEN


@dataclass(frozen=True, slots=True)
class Compliance:
    period: str  # "YYYY-MM" (WITA month of the due date), or "all"
    on_time: int = 0
    late: int = 0
    missed: int = 0
    open: int = 0

    @property
    def closed(self) -> int:
        """Periods with a final outcome (the denominator of the rates)."""
        return self.on_time + self.late + self.missed

    def share(self, what: str) -> float | None:
        return getattr(self, what) / self.closed if self.closed else None


@dataclass(frozen=True, slots=True)
class CaseCounts:
    open: int = 0
    overdue: int = 0


@dataclass(frozen=True, slots=True)
class CaseStats:
    open: int
    overdue: int
    by_kind: dict[str, CaseCounts]  # kind → open/overdue (only kinds with open cases)
    by_kabupaten: dict[int, CaseCounts]  # kabupaten id → open/overdue
    median_take_hours: float | None
    median_resolve_hours: float | None
    taken: int  # cases behind the take median
    resolved: int  # cases behind the resolve median


@dataclass(frozen=True, slots=True)
class Operations:
    onboarding: dict[str, int]  # every OnboardingState → recipients
    compliance: list[Compliance]  # per month, oldest first
    compliance_total: Compliance
    cases: CaseStats
    reuse_flagged_photos: int
    reuse_flagged_checkins: int
    compliance_months: int = 6  # months covered by ``compliance``


def _offset(tz: tzinfo, at: datetime) -> timedelta:
    return tz.utcoffset(at) or timedelta(0)


def _local_date(col: Any, dialect: str, tz: tzinfo, tzname: str, at: datetime) -> ColumnElement[Any]:
    # The zone's fixed offset at ``at`` (Indonesian zones have no daylight saving time): on PostgreSQL twice as
    # fast as converting every row through the named zone.
    if dialect == "sqlite":
        return func.date(col, f"{int(_offset(tz, at).total_seconds() // 60):+d} minutes")
    return cast(func.timezone(_offset(tz, at), col), Date)


def _local_month(col: Any, dialect: str, tz: tzinfo, tzname: str, at: datetime) -> ColumnElement[Any]:
    """The local calendar month: "YYYY-MM" on SQLite, the month's first moment on PostgreSQL
    (:func:`_month_key` reads both)."""
    if dialect == "sqlite":
        return func.strftime("%Y-%m", col, f"{int(_offset(tz, at).total_seconds() // 60):+d} minutes")
    return func.date_trunc("month", func.timezone(_offset(tz, at), col))


def _month_key(value: str | datetime) -> str:
    return value if isinstance(value, str) else value.strftime("%Y-%m")


def _month_start(day: date, months_back: int) -> date:
    y, m = day.year, day.month - months_back
    while m <= 0:
        y, m = y - 1, m + 12
    return date(y, m, 1)


def due_class(dialect: str, tz: tzinfo, tzname: str, now: datetime) -> ColumnElement[str]:
    """The compliance class of a check-in period in SQL (on time, late, missed, open), as :func:`classify_due`."""
    due_day = _local_date(CheckinDue.due_at, dialect, tz, tzname, now)
    done_day = _local_date(CheckinDue.completed_at, dialect, tz, tzname, now)
    return case(
        (CheckinDue.state == CheckinDueState.MISSED.value, MISSED),
        (
            CheckinDue.state == CheckinDueState.DONE.value,
            case((CheckinDue.completed_at.is_(None), ON_TIME), (done_day <= due_day, ON_TIME), else_=LATE),
        ),
        else_=OPEN,
    )


async def load_operations(
    session: AsyncSession,
    *,
    now: datetime,
    tz: tzinfo,
    tzname: str,
    kecamatan_ids: Collection[int] | None = None,
    months: int = 6,
) -> Operations:
    """All operational figures with a handful of GROUP BY queries; ``months`` = compliance months shown."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    scoped = kecamatan_ids is not None
    kec_list = list(kecamatan_ids or ())
    in_scope = select(Recipient.id).where(Recipient.kecamatan_id.in_(kec_list)).scalar_subquery()

    # Onboarding progress.
    q = select(Recipient.onboarding_state, func.count()).group_by(Recipient.onboarding_state)
    if scoped:
        q = q.where(Recipient.kecamatan_id.in_(kec_list))
    onboarding = {s.value: 0 for s in OnboardingState}
    for state, n in await session.execute(q):
        onboarding[state] = onboarding.get(state, 0) + n

    # Check-in compliance per WITA month of the due date.
    first_month = _month_start(now.astimezone(tz).date(), months - 1)
    since_utc = datetime.combine(first_month, datetime.min.time(), tz)
    klass = due_class(dialect, tz, tzname, now)
    month = _local_month(CheckinDue.due_at, dialect, tz, tzname, now)
    # A range of ix_checkin_dues_compliance (due_at, state, completed_at): no table lookups.
    q = (
        select(month.label("month"), klass.label("klass"), func.count())
        .where(CheckinDue.due_at <= now, CheckinDue.due_at >= since_utc)
        .group_by(month, klass)
    )
    if scoped:
        q = q.where(CheckinDue.recipient_id.in_(in_scope))
    per_month: dict[str, dict[str, int]] = {}
    for m, k, n in await session.execute(q):
        m = _month_key(m)
        per_month.setdefault(m, {})[k] = per_month.get(m, {}).get(k, 0) + n
    compliance = [Compliance(m, **per_month[m]) for m in sorted(per_month)]
    total = Compliance(
        "all", **{k: sum(getattr(c, k) for c in compliance) for k in (ON_TIME, LATE, MISSED, OPEN)}
    )

    # Open and overdue cases by kind and kabupaten.
    is_open = Case.state.not_in(CLOSED_CASE_STATES)
    q = (
        select(Case.kind, Kecamatan.kabupaten_id, Case.overdue, func.count())
        .join(Kecamatan, Kecamatan.id == Case.kecamatan_id)
        .where(is_open)
        .group_by(Case.kind, Kecamatan.kabupaten_id, Case.overdue)
    )
    if scoped:
        q = q.where(Case.kecamatan_id.in_(kec_list))
    by_kind: dict[str, list[int]] = {}
    by_kab: dict[int, list[int]] = {}
    for kind, kab, overdue, n in await session.execute(q):
        for bucket, key in ((by_kind, kind), (by_kab, kab)):
            slot = bucket.setdefault(key, [0, 0])
            slot[0] += n
            if overdue:
                slot[1] += n

    # Median time to take and to resolve.
    q = select(Case.created_at, Case.taken_at, Case.resolved_at).where(
        (Case.taken_at.is_not(None)) | (Case.resolved_at.is_not(None))
    )
    if scoped:
        q = q.where(Case.kecamatan_id.in_(kec_list))
    take, resolve = [], []
    for created, taken, resolved in await session.execute(q):
        if taken is not None:
            take.append((taken - created).total_seconds() / 3600)
        if resolved is not None:
            resolve.append((resolved - created).total_seconds() / 3600)
    cases = CaseStats(
        open=sum(v[0] for v in by_kind.values()),
        overdue=sum(v[1] for v in by_kind.values()),
        by_kind={k: CaseCounts(*v) for k, v in sorted(by_kind.items(), key=lambda kv: (-kv[1][0], kv[0]))},
        by_kabupaten={
            k: CaseCounts(*v) for k, v in sorted(by_kab.items(), key=lambda kv: (-kv[1][0], kv[0]))
        },
        median_take_hours=statistics.median(take) if take else None,
        median_resolve_hours=statistics.median(resolve) if resolve else None,
        taken=len(take),
        resolved=len(resolve),
    )

    # Photos / check-ins flagged for reuse of an earlier picture.
    q = select(func.count()).select_from(Photo).where(Photo.reuse_of_photo_id.is_not(None))
    if scoped:
        q = q.where(Photo.recipient_id.in_(in_scope))
    photos = (await session.execute(q)).scalar_one()
    q = select(func.count()).select_from(Checkin).where(Checkin.reuse_flagged.is_(True))
    if scoped:
        q = q.where(Checkin.recipient_id.in_(in_scope))
    flagged = (await session.execute(q)).scalar_one()

    return Operations(onboarding, compliance, total, cases, photos, flagged, months)


__all__ = [
    "LATE",
    "MISSED",
    "ON_TIME",
    "OPEN",
    "CaseCounts",
    "CaseStats",
    "Compliance",
    "Operations",
    "classify_due",
    "due_class",
    "load_operations",
]
