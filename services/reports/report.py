"""The report behind ``uep report`` and the bot's /laporan and /ringkasan: survival and operations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.enums import WorkerRole
from db.models import FieldWorker, Kabupaten, Kecamatan, Recipient
from services.clock import Clock
from services.reports.operations import Operations, load_operations
from services.reports.survival import (
    BREAKDOWNS,
    GroupSurvival,
    group_survival,
    load_subjects,
    observe,
    survival_by,
)

ZONE_ABBREVIATIONS = {
    "Asia/Makassar": "WITA",
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Jayapura": "WIT",
}


class UnknownBreakdown(ValueError):
    pass


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
    groups: list[GroupSurvival]  # the breakdown's groups, largest first
    recipients: int  # everybody in scope, with or without aid
    awaiting_aid: int  # no aid_date yet (or a future one): not in the survival figures
    operations: Operations
    # code → (Indonesian label, English label); business_type/sex/pkh group keys are translated at render.
    business_type_labels: dict[str, tuple[str, str]] = field(default_factory=dict)
    kabupaten_names: dict[int, str] = field(default_factory=dict)

    @property
    def zone_abbreviation(self) -> str:
        return ZONE_ABBREVIATIONS.get(self.timezone, self.timezone)


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
    sex, pkh, tksk) or None. Read-only; a few aggregate queries whatever the number of recipients."""
    if breakdown is not None and breakdown not in BREAKDOWNS:
        raise UnknownBreakdown(f"unknown breakdown {breakdown!r}; choose one of {', '.join(BREAKDOWNS)}")
    scope = scope or ReportScope()
    tz = settings.program.tz
    now = clock.now()
    today = now.astimezone(tz).date()

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

    subjects = await load_subjects(
        session, today=today, kecamatan_ids=scope.kecamatan_ids, kabupaten_of=kabupaten_of, tksk_of=tksk_of
    )
    pairs = [(s, observe(s, today=today, tz=tz)) for s in subjects]
    overall = group_survival("all", "all", [o for _, o in pairs])

    groups: list[GroupSurvival] = []
    if breakdown is not None:
        labels: dict[str, str] = {}
        if breakdown == "kabupaten":
            labels = {str(k): v for k, v in kabupaten.items()}
        elif breakdown == "kecamatan":
            labels = {str(k): v for k, v in kec_names.items()}
        elif breakdown == "tksk":
            labels = tksk_names
        groups = survival_by(pairs, BREAKDOWNS[breakdown], labels)

    from sqlalchemy import func

    q = select(func.count()).select_from(Recipient)
    if scope.kecamatan_ids is not None:
        q = q.where(Recipient.kecamatan_id.in_(list(scope.kecamatan_ids)))
    total = (await session.execute(q)).scalar_one()

    operations = await load_operations(
        session,
        now=now,
        tz=tz,
        tzname=settings.program.timezone,
        kecamatan_ids=scope.kecamatan_ids,
        months=compliance_months,
    )
    return Report(
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
        business_type_labels={
            code: (bt.label_id, bt.label_en) for code, bt in settings.program.business_types.items()
        },
        kabupaten_names=kabupaten,
    )


__all__ = ["BREAKDOWNS", "Report", "ReportScope", "UnknownBreakdown", "build_report"]
