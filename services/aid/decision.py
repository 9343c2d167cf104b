"""Dinas Sosial's decision on an assessed candidate: approve with a business type and a package, or reject
with a reason. The same rules for the bot (/asesmen for staff) and ``uep assessments approve FILE``.

Approval makes the candidate a :class:`Recipient` waiting for the aid (``aid_date`` empty, so onboarding says
"not handed over yet"), with the catalog's default package of the business type; the candidate moves
approved → package set in one transaction. Refused, with nothing written: a candidate never assessed (unless
an admin overrides with a reason, recorded), a candidate already decided, a NIK already a recipient, a package
outside ``program.aid_min``..``aid_max``, a rejection without a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.enums import CandidateStage, OnboardingState
from db.models import AidPackage, Assessment, Candidate, Recipient
from services.aid.catalog import PackageLine, check_range
from services.aid.lifecycle import Actor, move
from services.aid.packages import default_lines
from services.clock import Clock


class DecisionRefused(Exception):
    def __init__(self, code: str, **details: object) -> None:
        super().__init__(code)
        self.code, self.details = code, details


@dataclass(frozen=True)
class Decision:
    candidate: Candidate
    approved: bool
    recipient: Recipient | None = None
    package: AidPackage | None = None
    assessment: Assessment | None = None


async def _assessment(session: AsyncSession, candidate: Candidate) -> Assessment | None:
    return await session.scalar(select(Assessment).where(Assessment.candidate_id == candidate.id))


async def approve(
    session: AsyncSession, clock: Clock, settings: Settings, candidate: Candidate, *, business_type: str | None,
    actor: Actor, is_admin: bool = False, override_reason: str | None = None,
    lines: list[PackageLine] | None = None,
) -> Decision:
    assessment = await _assessment(session, candidate)
    if candidate.stage == CandidateStage.CANDIDATE:
        if not (is_admin and override_reason and override_reason.strip()):
            raise DecisionRefused("not_assessed")
    elif candidate.stage != CandidateStage.ASSESSED:
        raise DecisionRefused("already_decided", stage=candidate.stage)
    business_type = business_type or (assessment.recommended_business_type if assessment else None)
    if business_type not in settings.program.business_types:
        raise DecisionRefused("no_business_type")
    if await session.scalar(select(Recipient.id).where(Recipient.nik_hash == candidate.nik_hash)) is not None:
        raise DecisionRefused("already_recipient")
    lines = list(lines) if lines is not None else list(default_lines(settings.program, business_type))
    total = check_range(lines, settings.program)  # PackageOutOfRange: refused with its sum, nothing written
    now = clock.now()
    recipient = Recipient(
        nik_hash=candidate.nik_hash, nik_encrypted=candidate.nik_encrypted, name=candidate.name, sex=candidate.sex,
        birth_date=candidate.birth_date, phone=candidate.phone, address=candidate.address, desa=candidate.desa,
        kecamatan_id=candidate.kecamatan_id, dtks_id=candidate.dtks_id, pkh=candidate.pkh,
        business_type=business_type, aid_value=total, aid_date=None, onboarding_state=OnboardingState.NOT_JOINED,
        created_at=now, updated_at=now,
    )
    session.add(recipient)
    await session.flush()
    from services.aid.packages import _item

    package = AidPackage(recipient_id=recipient.id, business_type=business_type, value=total, delivered_on=None)
    package.items = [_item(i, line) for i, line in enumerate(lines, start=1)]
    session.add(package)
    candidate.recipient_id = recipient.id
    candidate.approved_business_type = business_type
    candidate.decision_reason = override_reason.strip() if override_reason else None
    action = "approved_override" if candidate.stage == CandidateStage.CANDIDATE else "approved"
    move(session, clock, candidate, CandidateStage.APPROVED, actor=actor, action=action,
         note=(f"override: {override_reason.strip()}" if action == "approved_override" else None)
         or business_type)
    move(session, clock, candidate, CandidateStage.PACKAGE_SET, actor=actor, action="package_set",
         note=f"{business_type} {total}")
    await session.flush()
    await session.refresh(recipient, ["kecamatan"])
    return Decision(candidate, True, recipient, package, assessment)


async def reject(
    session: AsyncSession, clock: Clock, candidate: Candidate, *, reason: str, actor: Actor
) -> Decision:
    reason = " ".join((reason or "").split())
    if not reason:
        raise DecisionRefused("no_reason")
    if candidate.stage == CandidateStage.CANDIDATE:
        raise DecisionRefused("not_assessed")
    if candidate.stage != CandidateStage.ASSESSED:
        raise DecisionRefused("already_decided", stage=candidate.stage)
    candidate.decision_reason = reason[:1000]
    move(session, clock, candidate, CandidateStage.NOT_APPROVED, actor=actor, action="not_approved", note=reason)
    await session.flush()
    return Decision(candidate, False, assessment=await _assessment(session, candidate))
