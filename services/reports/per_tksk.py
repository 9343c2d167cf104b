"""How each TKSK's kecamatan is doing, one row per kecamatan: time to take and to resolve a case (medians),
check-in compliance over the last months (the same classes as the report's), and visit coverage where visits
exist. For the web desk's reports and anyone comparing kecamatan."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import BusinessStatus, WorkerRole
from db.models import Case, CheckinDue, FieldWorker, Kabupaten, Kecamatan, Recipient, Visit
from services.reports.operations import LATE, MISSED, ON_TIME, _month_start, due_class


@dataclass(slots=True)
class TkskRow:
    kecamatan_id: int
    kecamatan: str
    kabupaten: str
    tksk: str | None
    cases: int = 0
    median_take_hours: float | None = None
    median_resolve_hours: float | None = None
    on_time: int = 0
    late: int = 0
    missed: int = 0
    in_business: int = 0  # recipients with aid, not stopped: the base of visit coverage
    visited_30: int = 0

    @property
    def compliance(self) -> float | None:
        closed = self.on_time + self.late + self.missed
        return self.on_time / closed if closed else None

    @property
    def coverage_30(self) -> float | None:
        return self.visited_30 / self.in_business if self.in_business else None


async def per_tksk(session: AsyncSession, *, now: datetime, tz: tzinfo, tzname: str, months: int = 6,
                   kecamatan_ids: list[int] | None = None) -> list[TkskRow]:
    """One row per kecamatan that has recipients, slowest to take a case first."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    places = select(Kecamatan.id, Kecamatan.name, Kabupaten.name).join(Kabupaten)
    if kecamatan_ids is not None:
        places = places.where(Kecamatan.id.in_(kecamatan_ids))
    rows = {k: TkskRow(k, kec, kab, None) for k, kec, kab in await session.execute(places)}
    for kec, name in await session.execute(
        select(FieldWorker.kecamatan_id, FieldWorker.name)
        .where(FieldWorker.role == WorkerRole.TKSK.value, FieldWorker.active.is_(True)).order_by(FieldWorker.id)
    ):
        if kec in rows and rows[kec].tksk is None:
            rows[kec].tksk = name

    take: dict[int, list[float]] = defaultdict(list)
    resolve: dict[int, list[float]] = defaultdict(list)
    counted: dict[int, int] = defaultdict(int)
    for kec, created, taken, resolved in await session.execute(
        select(Case.kecamatan_id, Case.created_at, Case.taken_at, Case.resolved_at)
    ):
        counted[kec] += 1
        if taken is not None:
            take[kec].append((taken - created).total_seconds() / 3600)
        if resolved is not None:
            resolve[kec].append((resolved - created).total_seconds() / 3600)

    since = datetime.combine(_month_start(now.astimezone(tz).date(), months - 1), datetime.min.time(), tz)
    klass = due_class(dialect, tz, tzname, now)
    compliance = await session.execute(
        select(Recipient.kecamatan_id, klass, func.count())
        .join(Recipient, Recipient.id == CheckinDue.recipient_id)
        .where(CheckinDue.due_at <= now, CheckinDue.due_at >= since)
        .group_by(Recipient.kecamatan_id, klass)
    )
    in_business = dict((await session.execute(
        select(Recipient.kecamatan_id, func.count())
        .where(Recipient.aid_date.is_not(None), Recipient.business_status != BusinessStatus.STOPPED.value)
        .group_by(Recipient.kecamatan_id)
    )).all())
    visited = dict((await session.execute(
        select(Visit.kecamatan_id, func.count(func.distinct(Visit.recipient_id)))
        .where(Visit.visited_at >= now - timedelta(days=30)).group_by(Visit.kecamatan_id)
    )).all())

    for kec, cls, n in compliance:
        row = rows.get(kec)
        if row is None:
            continue
        if cls == ON_TIME:
            row.on_time += n
        elif cls == LATE:
            row.late += n
        elif cls == MISSED:
            row.missed += n
    for kec, row in rows.items():
        row.cases = counted.get(kec, 0)
        row.median_take_hours = statistics.median(take[kec]) if take.get(kec) else None
        row.median_resolve_hours = statistics.median(resolve[kec]) if resolve.get(kec) else None
        row.in_business = int(in_business.get(kec, 0))
        row.visited_30 = int(visited.get(kec, 0))
    found = [r for r in rows.values() if r.in_business or r.cases]
    return sorted(found, key=lambda r: (-(r.median_take_hours or -1), r.kabupaten, r.kecamatan))
