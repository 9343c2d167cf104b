"""Decisions in bulk from a CSV or XLSX (``uep assessments approve FILE``): one row per candidate.

Columns: ``nik``, ``keputusan`` (``setuju``/``tolak``, also ``Y``/``T``), optional ``jenis_usaha`` (default: the
worker's recommendation) and ``alasan`` (required to reject, and for an admin's override of a candidate never
assessed). Each row is decided alone: a refused row is reported with its line and reason and
changes nothing, the others go through. A dry run checks every row the same way and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.models import Candidate
from services.aid.catalog import PackageOutOfRange, rupiah
from services.aid.decision import DecisionRefused, approve, reject
from services.aid.lifecycle import Actor
from services.clock import Clock
from services.crypto import NikCipher
from services.importer import normalize as norm
from services.importer.common import ColumnSpec, ImportResult, Rejection, RowView, check_columns
from services.importer.reading import Table

COLUMNS = ColumnSpec(required=("nik", "keputusan"), optional=("jenis_usaha", "alasan"))
YES = {"setuju", "y", "ya", "approve", "approved"}
NO = {"tolak", "t", "tidak", "reject", "rejected"}
REASONS = {
    "not_assessed": "calon belum diasesmen (hanya admin yang bisa menyetujui dengan alasan: --admin NAMA)",
    "already_decided": "calon sudah diputuskan sebelumnya",
    "already_recipient": "NIK ini sudah terdaftar sebagai penerima bantuan",
    "no_business_type": "jenis usaha belum ada (isi kolom jenis_usaha)",
    "no_reason": "alasan wajib diisi untuk penolakan",
}


@dataclass
class BulkResult(ImportResult):
    approved: int = 0
    rejected_candidates: int = 0
    decided: list[tuple[Candidate, bool]] = field(default_factory=list)

    def summary(self) -> str:
        prefix = "UJI COBA (--dry-run, tidak ada yang disimpan): " if self.dry_run else ""
        return (f"{prefix}keputusan: {self.rows} baris dibaca — {self.approved} disetujui, "
                f"{self.rejected_candidates} tidak disetujui, {len(self.rejected)} ditolak")

    @property
    def accepted(self) -> int:
        return self.approved + self.rejected_candidates


async def decide_from_table(
    session: AsyncSession, table: Table, *, settings: Settings, cipher: NikCipher, clock: Clock,
    dry_run: bool = False, actor: Actor = Actor("cli"), admin: bool = False,
) -> BulkResult:
    positions, warnings = check_columns(table, COLUMNS, what="keputusan")
    result = BulkResult(kind="keputusan", rows=len(table.rows), dry_run=dry_run, warnings=warnings)
    lookup = norm.business_type_lookup(settings.program.business_types)
    choices = ", ".join(bt.label_id.casefold() for bt in settings.program.business_types.values())
    seen: dict[str, int] = {}
    for line, cells in table.rows:
        row = RowView(positions, cells)

        def refuse(reason: str, line: int = line, cells: list[str] = cells) -> None:
            result.rejected.append(Rejection(line, cells, [reason]))

        try:
            nik = norm.nik(row["nik"])
        except norm.Invalid as exc:
            refuse(str(exc))
            continue
        decision = norm.clean(row["keputusan"]).casefold()
        if decision not in YES | NO:
            refuse(f"keputusan '{row['keputusan']}' tidak dikenal (pilihan: setuju, tolak)")
            continue
        bt = None
        if norm.clean(row["jenis_usaha"]):
            try:
                bt = norm.business_type(row["jenis_usaha"], lookup, choices)
            except norm.Invalid as exc:
                refuse(str(exc))
                continue
        nik_hash = cipher.blind_index(nik)
        if nik_hash in seen:
            refuse(f"NIK sama dengan baris {seen[nik_hash]} di file ini")
            continue
        seen[nik_hash] = line
        candidate = await session.scalar(select(Candidate).where(Candidate.nik_hash == nik_hash))
        if candidate is None:
            refuse("NIK tidak ada di daftar calon")
            continue
        reason = norm.clean(row["alasan"])
        try:  # approve/reject check everything before they write, so a refusal leaves nothing behind
            if decision in YES:
                await approve(session, clock, settings, candidate, business_type=bt, actor=actor,
                              is_admin=admin, override_reason=reason or None)
                result.approved += 1
            else:
                await reject(session, clock, candidate, reason=reason, actor=actor)
                result.rejected_candidates += 1
        except DecisionRefused as exc:
            refuse(REASONS[exc.code])
            continue
        except PackageOutOfRange as exc:
            refuse(f"nilai paket {rupiah(exc.total)} di luar {rupiah(exc.aid_min)}–{rupiah(exc.aid_max)}")
            continue
        result.decided.append((candidate, decision in YES))
    return result
