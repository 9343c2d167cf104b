"""The report behind ``uep report`` and the bot's /laporan and /ringkasan: survival and operations."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.config import Settings
from db.enums import WorkerRole
from db.models import FieldWorker, Kabupaten, Kecamatan, Recipient
from services.clock import Clock
from services.reports import unknown
from services.reports.breakdowns import BREAKDOWNS, Breakdown, Names, UnknownBreakdown, get
from services.reports.logrank import LogRank, logrank
from services.reports.operations import Operations, load_operations
from services.reports.survival import (
    GroupSurvival,
    Rules,
    Subject,
    fixed_zone,
    group_survival,
    load_subjects,
    observe,
    sort_by_survival,
    survival_by,
)

ZONE_ABBREVIATIONS = {
    "Asia/Makassar": "WITA",
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Jayapura": "WIT",
}


@dataclass(frozen=True, slots=True)
class ReportScope:
    """Which recipients a report covers: everybody (``kecamatan_ids=None``, Dissos staff) or some kecamatan
    (a TKSK sees their own)."""

    kecamatan_ids: frozenset[int] | None = None

    @classmethod
    def of(cls, kecamatan_ids: object = None) -> ReportScope:
        return cls(None if kecamatan_ids is None else frozenset(kecamatan_ids))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Report:
    generated_at: datetime  # aware UTC
    timezone: str  # IANA name, e.g. Asia/Makassar
    scope: ReportScope
    baseline: float  # survival of the old group model (0.46)
    overall: GroupSurvival
    breakdown: str | None  # one of BREAKDOWNS, or None
    groups: list[GroupSurvival]  # the breakdown's groups, sorted by survival (see sort_by_survival)
    recipients: int  # everybody in scope, with or without aid
    awaiting_aid: int  # no aid_date yet (or a future one): not in the survival figures
    operations: Operations
    # code → (Indonesian label, English label); business_type/sex/pkh group keys are translated at render.
    business_type_labels: dict[str, tuple[str, str]] = field(default_factory=dict)
    kabupaten_names: dict[int, str] = field(default_factory=dict)
    rules: Rules = field(default_factory=Rules)
    logrank: LogRank | None = None  # between the breakdown's groups (those with enough people followed)
    group_months: int | None = None  # the horizon the breakdown's groups are shown and sorted at
    first_aid: date | None = None  # the data cover aid from this day …
    last_report_at: datetime | None = None  # … and the latest check-in or status report (freshness)

    @property
    def zone_abbreviation(self) -> str:
        return ZONE_ABBREVIATIONS.get(self.timezone, self.timezone)

    @property
    def sort_months(self) -> int:
        """The horizon the groups are shown and sorted at (see :func:`group_horizon`)."""
        if self.group_months is not None:
            return self.group_months
        best = self.overall.headline()
        return best.months if best is not None else max(self.rules.horizons)

    def breakdown_spec(self) -> Breakdown | None:
        return BREAKDOWNS.get(self.breakdown) if self.breakdown else None


async def build_report(
    session: AsyncSession,
    *,
    settings: Settings,
    clock: Clock,
    scope: ReportScope | None = None,
    breakdown: str | None = None,
    compliance_months: int = 6,
) -> Report:
    """Everything /laporan shows. ``breakdown`` is one of ``BREAKDOWNS`` (business_type, kabupaten, kecamatan,
    sex, pkh, tksk) or None. Read-only; a few queries whatever the number of recipients."""
    (report,) = await build_reports(
        session,
        settings=settings,
        clock=clock,
        scope=scope,
        breakdowns=[breakdown],
        compliance_months=compliance_months,
    )
    return report


async def build_reports(
    session: AsyncSession,
    *,
    settings: Settings,
    clock: Clock,
    scope: ReportScope | None = None,
    breakdowns: Sequence[str | None],
    compliance_months: int = 6,
) -> list[Report]:
    """One :func:`build_report` per breakdown (None: none), from one reading of the database: the recipients,
    the overall curve and the operations are loaded and computed once (the survival export's every breakdown)."""
    specs = [get(b) if b is not None else None for b in breakdowns]
    scope = scope or ReportScope()
    rules = Rules.from_settings(settings)
    tz = settings.program.tz
    now = clock.now()
    today = now.astimezone(tz).date()
    operations_read = dict(now=now, tz=tz, tzname=settings.program.timezone, kecamatan_ids=scope.kecamatan_ids,
                           months=compliance_months)
    # The operations' GROUP BYs (the check-in compliance reads the last months' periods) do not depend on the
    # recipients' rows: on a connection of their own they run while the recipients are read and observed here
    # (SQLite's driver and PostgreSQL's server work beside this thread's Python), about 0.6 s off /laporan at
    # 100,000 recipients. A session bound to one connection (a test's) reads them in turn.
    apart = (
        asyncio.ensure_future(_operations_apart(session.bind, operations_read))
        if isinstance(session.bind, AsyncEngine) and ":memory:" not in str(session.bind.url) else None
    )
    if apart is not None:  # should this report fail first, the read still ends (and closes) by itself
        apart.add_done_callback(lambda task: task.cancelled() or task.exception())

    kabupaten = dict((await session.execute(select(Kabupaten.id, Kabupaten.name))).all())
    kec_rows = (await session.execute(select(Kecamatan.id, Kecamatan.name, Kecamatan.kabupaten_id))).all()
    kabupaten_of = {k: kab for k, _, kab in kec_rows}
    kec_names = {k: name for k, name, _ in kec_rows}
    tksk_rows = (
        await session.execute(
            select(FieldWorker.id, FieldWorker.name, FieldWorker.kecamatan_id)
            .where(FieldWorker.role == WorkerRole.TKSK.value, FieldWorker.active.is_(True))
            .order_by(FieldWorker.id)
        )
    ).all()
    tksk_of: dict[int, int] = {}
    tksk_names: dict[str, str] = {}
    for wid, name, kec in tksk_rows:
        if kec not in tksk_of:
            tksk_of[kec] = wid
            tksk_names[str(wid)] = f"{name} ({kec_names.get(kec, '?')})"

    extra = {spec.name: spec.column for spec in specs if spec is not None and spec.column is not None}
    subjects = await load_subjects(
        session,
        today=today,
        kecamatan_ids=scope.kecamatan_ids,
        kabupaten_of=kabupaten_of,
        tksk_of=tksk_of,
        extra_columns=extra or None,
    )
    zone = fixed_zone(tz, now)
    pairs = [(s, observe(s, today=today, tz=zone)) for s in subjects]
    reason_of = unknown.classifier(settings, now)
    overall = group_survival(
        "all", "all", [o for _, o in pairs], rules, unknown.count_reasons(subjects, reason_of)
    )

    q = select(func.count()).select_from(Recipient)
    if scope.kecamatan_ids is not None:
        q = q.where(Recipient.kecamatan_id.in_(list(scope.kecamatan_ids)))
    total = (await session.execute(q)).scalar_one()

    operations = await apart if apart is not None else await load_operations(session, **operations_read)
    names = Names(
        kabupaten={str(k): v for k, v in kabupaten.items()},
        kecamatan={str(k): v for k, v in kec_names.items()},
        tksk=tksk_names,
    )
    first_aid = min((s.aid_date for s in subjects), default=None)
    last_report_at = _latest_report(subjects)
    business_type_labels = {
        code: (bt.label_id, bt.label_en) for code, bt in settings.program.business_types.items()
    }

    reports = []
    for breakdown, spec in zip(breakdowns, specs, strict=True):
        groups: list[GroupSurvival] = []
        group_months: int | None = None
        test: LogRank | None = None
        if spec is not None:
            labels = dict(spec.names(names)) if spec.names is not None else {}
            groups = survival_by(pairs, spec.group_key, labels, rules, reason_of)
            group_months = group_horizon(overall, groups, rules)
            groups = sort_by_survival(groups, group_months)
            test = logrank(
                [g.observations for g in groups if sum(o.days > 0 for o in g.observations) >= rules.min_at_risk]
            )
        reports.append(
            Report(
                generated_at=now,
                timezone=settings.program.timezone,
                scope=scope,
                baseline=settings.program.group_baseline_survival,
                overall=overall,
                breakdown=breakdown,
                groups=groups,
                recipients=total,
                awaiting_aid=total - len(subjects),
                operations=operations,
                business_type_labels=business_type_labels,
                kabupaten_names=kabupaten,
                rules=rules,
                logrank=test,
                group_months=group_months,
                first_aid=first_aid,
                last_report_at=last_report_at,
            )
        )
    return reports


def group_horizon(overall: GroupSurvival, groups: list[GroupSurvival], rules: Rules) -> int:
    """The longest horizon at which at least half of the groups have a figure (so a breakdown compares
    groups where it can), else the longest where the whole program has one, else the longest horizon."""
    for months in sorted(rules.horizons, reverse=True):
        shown = sum(1 for g in groups if g.estimates[months].enough)
        if groups and shown * 2 >= len(groups):
            return months
    best = overall.headline()
    return best.months if best is not None else max(rules.horizons)


def _latest_report(subjects: list[Subject]) -> datetime | None:
    found = [t for s in subjects for t in (s.first_stopped_at, s.last_known_at) if t is not None]
    return max(found) if found else None


async def _operations_apart(engine: AsyncEngine, read: dict[str, object]) -> Operations:
    async with AsyncSession(engine) as own:  # read only; closed (its transaction ended) before we return
        return await load_operations(own, **read)  # type: ignore[arg-type]


__all__ = ["BREAKDOWNS", "Report", "ReportScope", "UnknownBreakdown", "build_report", "build_reports"]
