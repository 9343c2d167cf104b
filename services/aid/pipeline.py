"""Figures of the lifecycle before the aid: the pipeline per kabupaten and the procurement list.

Pipeline columns: candidates (everyone imported), assessed (an assessment submitted), layak / meragukan /
tidak layak (its verdict), not approved, approved (approved, package set or handed over), package set (a
package within the range; also after the hand-over), handed over.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import AssessmentStatus, CandidateStage, Verdict
from db.models import AidItem, AidPackage, Assessment, Candidate, Kabupaten, Kecamatan, Recipient

PIPELINE_COLUMNS = ("calon", "diasesmen", "layak", "meragukan", "tidak_layak", "tidak_disetujui", "disetujui",
                    "paket_ditetapkan", "diserahkan")
APPROVED = (CandidateStage.APPROVED, CandidateStage.PACKAGE_SET, CandidateStage.HANDED_OVER)
PACKAGED = (CandidateStage.PACKAGE_SET, CandidateStage.HANDED_OVER)


async def pipeline_by_kabupaten(session: AsyncSession) -> dict[str, dict[str, int]]:
    rows = await session.execute(
        select(Kabupaten.name, Candidate.stage, Assessment.status, Assessment.verdict, func.count())
        .select_from(Candidate)
        .join(Kecamatan, Kecamatan.id == Candidate.kecamatan_id).join(Kabupaten, Kabupaten.id == Kecamatan.kabupaten_id)
        .outerjoin(Assessment, Assessment.candidate_id == Candidate.id)
        .group_by(Kabupaten.name, Candidate.stage, Assessment.status, Assessment.verdict)
    )
    table: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(PIPELINE_COLUMNS, 0))
    for kab, stage, status, verdict, n in rows:
        row = table[kab]
        row["calon"] += n
        if status == AssessmentStatus.SUBMITTED:
            row["diasesmen"] += n
            key = {Verdict.LAYAK: "layak", Verdict.MERAGUKAN: "meragukan", Verdict.TIDAK_LAYAK: "tidak_layak"}
            if verdict in key:
                row[key[verdict]] += n
        if stage == CandidateStage.NOT_APPROVED:
            row["tidak_disetujui"] += n
        if stage in APPROVED:
            row["disetujui"] += n
        if stage in PACKAGED:
            row["paket_ditetapkan"] += n
        if stage == CandidateStage.HANDED_OVER:
            row["diserahkan"] += n
    out = dict(sorted(table.items()))
    if out:
        out["JUMLAH"] = {c: sum(r[c] for r in table.values()) for c in PIPELINE_COLUMNS}
    return out


@dataclass
class ProcurementLine:
    kabupaten: str
    business_type: str
    item: str
    unit: str
    unit_price: int
    quantity: int

    @property
    def value(self) -> int:
        return self.unit_price * self.quantity


@dataclass
class Procurement:
    lines: list[ProcurementLine] = field(default_factory=list)

    def total(self, kabupaten: str | None = None) -> int:
        return sum(x.value for x in self.lines if kabupaten is None or x.kabupaten == kabupaten)


async def procurement_by_kabupaten(session: AsyncSession, *, include_delivered: bool = False) -> Procurement:
    """Items × quantities × standard prices of the packages still to hand over (or all), per kabupaten."""
    query = (
        select(Kabupaten.name, AidPackage.business_type, AidItem.name, AidItem.unit, AidItem.unit_price,
               func.sum(func.coalesce(AidItem.quantity, 1)))
        .select_from(AidItem).join(AidPackage, AidPackage.id == AidItem.package_id)
        .join(Recipient, Recipient.id == AidPackage.recipient_id)
        .join(Kecamatan, Kecamatan.id == Recipient.kecamatan_id).join(Kabupaten, Kabupaten.id == Kecamatan.kabupaten_id)
        .group_by(Kabupaten.name, AidPackage.business_type, AidItem.name, AidItem.unit, AidItem.unit_price)
        .order_by(Kabupaten.name, AidPackage.business_type, AidItem.name)
    )
    if not include_delivered:
        query = query.where(AidPackage.delivered_on.is_(None))
    result = Procurement()
    for kab, bt, item, unit, price, qty in await session.execute(query):
        result.lines.append(ProcurementLine(kab, bt, item, unit or "", int(price or 0), int(qty)))
    return result
