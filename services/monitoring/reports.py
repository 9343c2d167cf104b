"""Monitoring figures for Dinas Sosial (``/pemantauan`` in the bot, ``uep monitoring report``):

* visit coverage: the share of recipients in business (aid handed over, not stopped) visited in the last 30 and
  90 days, per TKSK (their kecamatan), kecamatan and kabupaten, and overall;
* assisted check-ins (a visit counted as the period's report), overall and in the last 30 days, beside all
  check-ins of those 30 days;
* the distribution of the risk score (bands 0, 1–3, 4–6, 7+) and how many are high;
* the time from "visit planned" on a case to the visit that moved it on (median and count).
"""

from __future__ import annotations

import html
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiogram.utils.i18n import gettext as _
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.enums import BusinessStatus, WorkerRole
from db.models import CaseEvent, Checkin, FieldWorker, Kabupaten, Kecamatan, Recipient, Visit
from services.cases.transitions import Action
from services.monitoring.risk import risk_scores

RISK_BANDS = ((0, 0), (1, 3), (4, 6), (7, 10**6))


@dataclass(slots=True)
class Coverage:
    label: str
    recipients: int = 0
    visited_30: int = 0
    visited_90: int = 0

    def share(self, n: int) -> float:
        return n / self.recipients if self.recipients else 0.0


@dataclass(slots=True)
class MonitoringReport:
    total: Coverage
    by_kabupaten: list[Coverage]
    by_kecamatan: list[Coverage]
    by_tksk: list[Coverage]
    assisted_total: int
    assisted_30: int
    checkins_30: int
    risk_bands: dict[str, int] = field(default_factory=dict)
    risk_high: int = 0
    planned_to_visit_days: list[float] = field(default_factory=list)

    @property
    def median_planned_to_visit(self) -> float | None:
        return statistics.median(self.planned_to_visit_days) if self.planned_to_visit_days else None


async def monitoring_report(session: AsyncSession, *, now: datetime, settings: Settings,
                            kecamatan_id: int | None = None) -> MonitoringReport:
    where = [Recipient.aid_date.is_not(None), Recipient.business_status != BusinessStatus.STOPPED]
    if kecamatan_id is not None:
        where.append(Recipient.kecamatan_id == kecamatan_id)
    people = list((await session.execute(
        select(Recipient.id, Recipient.kecamatan_id, Kecamatan.name, Kabupaten.name)
        .join(Kecamatan, Kecamatan.id == Recipient.kecamatan_id).join(Kabupaten, Kabupaten.id == Kecamatan.kabupaten_id)
        .where(*where)
    )).all())
    ids = [p[0] for p in people]
    last_visit = dict((await session.execute(
        select(Visit.recipient_id, func.max(Visit.visited_at)).group_by(Visit.recipient_id))).all())
    tksk = dict((await session.execute(
        select(FieldWorker.kecamatan_id, FieldWorker.name)
        .where(FieldWorker.role == WorkerRole.TKSK, FieldWorker.active.is_(True)))).all())

    total = Coverage("")  # labelled "All" when shown (no language here)
    groups: dict[str, dict[str, Coverage]] = {"kab": {}, "kec": {}, "tksk": {}}
    for rid, kec_id, kec, kab in people:
        at = last_visit.get(rid)
        keys = {"kab": kab, "kec": f"{kec} ({kab})", "tksk": f"{tksk.get(kec_id, '—')} · {kec}"}
        for rows in (total, *(groups[g].setdefault(k, Coverage(k)) for g, k in keys.items())):
            rows.recipients += 1
            if at is not None and at >= now - timedelta(days=30):
                rows.visited_30 += 1
            if at is not None and at >= now - timedelta(days=90):
                rows.visited_90 += 1

    assisted = select(func.count()).select_from(Visit).join(Recipient, Recipient.id == Visit.recipient_id).where(
        Visit.checkin_id.is_not(None))
    if kecamatan_id is not None:
        assisted = assisted.where(Recipient.kecamatan_id == kecamatan_id)
    assisted_total = await session.scalar(assisted) or 0
    assisted_30 = await session.scalar(assisted.where(Visit.visited_at >= now - timedelta(days=30))) or 0
    checkins = select(func.count()).select_from(Checkin).join(Recipient, Recipient.id == Checkin.recipient_id).where(
        Checkin.submitted_at >= now - timedelta(days=30))
    if kecamatan_id is not None:
        checkins = checkins.where(Recipient.kecamatan_id == kecamatan_id)
    checkins_30 = await session.scalar(checkins) or 0

    scores = await risk_scores(session, ids, now=now, settings=settings)
    bands: dict[str, int] = {}
    for low, high in RISK_BANDS:
        label = str(low) if low == high else (f"{low}+" if high > 1000 else f"{low}–{high}")
        bands[label] = sum(1 for r in scores.values() if low <= r.score <= high)
    high_count = sum(1 for r in scores.values() if r.score >= settings.monitoring.risk_high)

    # "Visit planned" on a case, then the visit that moved it on: the last plan before the visit counts.
    plans: dict[int, list[datetime]] = defaultdict(list)
    for case_id, at in await session.execute(
        select(CaseEvent.case_id, CaseEvent.at).where(CaseEvent.action == Action.PLAN_VISIT.value)
    ):
        plans[case_id].append(at)
    waits: list[float] = []
    visits = select(Visit.case_id, Visit.visited_at).where(Visit.case_id.is_not(None))
    if kecamatan_id is not None:
        visits = visits.where(Visit.kecamatan_id == kecamatan_id)
    for case_id, visited_at in await session.execute(visits):
        before = [at for at in plans.get(case_id, []) if at <= visited_at]
        if before:
            waits.append((visited_at - max(before)).total_seconds() / 86400)

    def ordered(group: str) -> list[Coverage]:
        return sorted(groups[group].values(), key=lambda c: (c.share(c.visited_30), c.label))

    return MonitoringReport(total, ordered("kab"), ordered("kec"), ordered("tksk"), assisted_total, assisted_30,
                            checkins_30, bands, high_count, waits)


def _pct(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "-"


def _row(c: Coverage) -> str:
    return _("{label}: {v30} in 30 days, {v90} in 90 days (of {n})").format(
        label=html.escape(c.label) if c.label else _("All"), v30=_pct(c.visited_30, c.recipients),
        v90=_pct(c.visited_90, c.recipients), n=c.recipients)


def report_text(report: MonitoringReport, *, settings: Settings, max_rows: int = 10) -> str:
    """The figures in a few short lines (lowest coverage first, so who needs help reads first)."""
    lines = ["<b>" + _("🏠 Monitoring in the field") + "</b>", _row(report.total), ""]
    for title, rows in ((_("Per kabupaten"), report.by_kabupaten), (_("Per kecamatan"), report.by_kecamatan),
                        (_("Per TKSK"), report.by_tksk)):
        lines.append("<b>" + title + "</b>")
        lines.extend("• " + _row(c) for c in rows[:max_rows])
        if len(rows) > max_rows:
            lines.append("• " + _("…and {n} more").format(n=len(rows) - max_rows))
    lines.append("")
    lines.append(_("🤝 Assisted check-ins: {total} in all, {n30} in the last 30 days ({share} of that period's "
                   "{checkins} reports)").format(total=report.assisted_total, n30=report.assisted_30,
                                                 share=_pct(report.assisted_30, report.checkins_30),
                                                 checkins=report.checkins_30))
    bands = ", ".join(f"{label}: {n}" for label, n in report.risk_bands.items())
    lines.append(_("Risk score: {bands}; high (≥ {high}): {n}").format(
        bands=bands, high=settings.monitoring.risk_high, n=report.risk_high))
    median = report.median_planned_to_visit
    lines.append(_("From “visit planned” to the visit: median {days} days ({n} visits)").format(
        days=f"{median:.1f}" if median is not None else "-", n=len(report.planned_to_visit_days)))
    return "\n".join(lines)
