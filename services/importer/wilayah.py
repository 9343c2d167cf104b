"""Kabupaten/kota and kecamatan from ``wilayah-kaltim.csv`` (kode_kabupaten, kabupaten, kode_kecamatan,
kecamatan). Upserts by code; regions missing from the file are left alone (recipients may point at them)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Kabupaten, Kecamatan
from db.repositories import regions
from db.repositories.regions import RegionIndex, kabupaten_keys, kecamatan_key
from services.audit import audit
from services.clock import Clock
from services.importer import normalize as norm
from services.importer.common import ColumnSpec, ImportResult, Rejection, RowView, check_columns
from services.importer.errors import WilayahMissing
from services.importer.reading import Table, read_table

log = logging.getLogger(__name__)

WILAYAH_FILE = "wilayah-kaltim.csv"
COLUMNS = ColumnSpec(required=("kode_kabupaten", "kabupaten", "kode_kecamatan", "kecamatan"))


@dataclass(frozen=True, slots=True)
class WilayahRow:
    line: int
    kab_code: str
    kab_name: str
    kec_code: str
    kec_name: str


def _code(value: str, label: str, max_len: int) -> str:
    code = norm.clean(value).replace(".", "")
    if not code:
        raise norm.Invalid(f"{label} kosong")
    if not code.isdigit() or len(code) > max_len:
        raise norm.Invalid(f"{label} '{norm.clean(value)}' harus angka (paling banyak {max_len} digit)")
    return code


_FIELDS = (
    ("kab_code", "kode_kabupaten", lambda v: _code(v, "kode kabupaten", 8)),
    ("kab_name", "kabupaten", lambda v: norm.text(v, "kabupaten", max_len=100, required=True)),
    ("kec_code", "kode_kecamatan", lambda v: _code(v, "kode kecamatan", 10)),
    ("kec_name", "kecamatan", lambda v: norm.text(v, "kecamatan", max_len=100, required=True)),
)


def validate(table: Table, result: ImportResult) -> list[WilayahRow]:
    """Check every row; consistent codes and names across rows. Rejections go into ``result``."""
    index, warnings = check_columns(table, COLUMNS, what="wilayah")
    result.warnings.extend(warnings)
    result.rows = len(table.rows)
    kab_name_of: dict[str, tuple[str, int]] = {}  # kab code → (name key, line)
    kab_code_of: dict[str, tuple[str, int]] = {}  # kab name key → (code, line)
    kec_codes: dict[str, int] = {}
    kec_names: dict[tuple[str, str], int] = {}
    good: list[WilayahRow] = []
    for line, cells in table.rows:
        row = RowView(index, cells)
        reasons: list[str] = []
        values: dict[str, str] = {}
        for key, column, parse in _FIELDS:
            try:
                values[key] = parse(row[column])
            except norm.Invalid as exc:
                reasons.append(str(exc))
        if not reasons:
            kab_key = kabupaten_keys(values["kab_name"])[0]
            seen_name = kab_name_of.get(values["kab_code"])
            if seen_name and seen_name[0] != kab_key:
                reasons.append(
                    f"kode kabupaten {values['kab_code']} sudah dipakai untuk nama lain "
                    f"di baris {seen_name[1]}"
                )
            seen_code = kab_code_of.get(kab_key)
            if seen_code and seen_code[0] != values["kab_code"]:
                reasons.append(
                    f"kabupaten '{values['kab_name']}' sudah punya kode {seen_code[0]} "
                    f"di baris {seen_code[1]}"
                )
            if values["kec_code"] in kec_codes:
                reasons.append(
                    f"kode kecamatan {values['kec_code']} sudah ada di baris {kec_codes[values['kec_code']]}"
                )
            kec_k = (values["kab_code"], kecamatan_key(values["kec_name"]))
            if kec_k in kec_names:
                reasons.append(f"kecamatan '{values['kec_name']}' sudah ada di baris {kec_names[kec_k]}")
            if not reasons:
                kab_name_of.setdefault(values["kab_code"], (kab_key, line))
                kab_code_of.setdefault(kab_key, (values["kab_code"], line))
                kec_codes[values["kec_code"]] = line
                kec_names[kec_k] = line
        if reasons:
            result.rejected.append(Rejection(line, cells, reasons))
        else:
            good.append(WilayahRow(line, **values))
    return good


async def apply(
    session: AsyncSession, rows: list[WilayahRow], result: ImportResult, *, dry_run: bool
) -> None:
    """Upsert by code (a kecamatan is also matched by name inside its kabupaten, and gets the new code)."""
    kabs = {k.code: k for k in (await session.scalars(select(Kabupaten))).all()}
    kecs = {k.code: k for k in (await session.scalars(select(Kecamatan))).all()}
    kec_by_name = {(k.kabupaten_id, kecamatan_key(k.name)): k for k in kecs.values()}
    for row in rows:
        kab = kabs.get(row.kab_code)
        if kab is None:
            kab = Kabupaten(code=row.kab_code, name=row.kab_name)
            kabs[row.kab_code] = kab
            if not dry_run:
                session.add(kab)
                await session.flush()
        elif kab.name != row.kab_name and not dry_run:
            kab.name = row.kab_name
        kec = kecs.get(row.kec_code)
        if kec is None and kab.id is not None:
            kec = kec_by_name.get((kab.id, kecamatan_key(row.kec_name)))
        if kec is None:
            result.new += 1
            if not dry_run:
                session.add(Kecamatan(code=row.kec_code, name=row.kec_name, kabupaten_id=kab.id))
        elif (kec.code, kec.name, kec.kabupaten_id) != (row.kec_code, row.kec_name, kab.id):
            result.updated += 1
            if not dry_run:
                kec.code, kec.name, kec.kabupaten_id = row.kec_code, row.kec_name, kab.id
        else:
            result.unchanged += 1
    if not dry_run:
        await session.flush()


async def import_wilayah(
    session: AsyncSession, table: Table, *, clock: Clock, dry_run: bool = False, actor: str = "cli"
) -> ImportResult:
    result = ImportResult(kind="wilayah", dry_run=dry_run)
    rows = validate(table, result)
    await apply(session, rows, result, dry_run=dry_run)
    if not dry_run and result.accepted:
        audit(
            session,
            clock,
            actor=actor,
            action="import.wilayah",
            target=table.path.name,
            details=result.counts(),
        )
    log.info("import wilayah %s: %s", table.path.name, result.counts())
    return result


def index_from_rows(rows: list[WilayahRow]) -> RegionIndex:
    """An in-memory index with stand-in ids, for a dry run that has no wilayah in the database."""
    index = RegionIndex()
    kab_ids: dict[str, int] = {}
    for row in rows:
        if row.kab_code not in kab_ids:
            kab_ids[row.kab_code] = -(len(kab_ids) + 1)
            index.add_kabupaten(kab_ids[row.kab_code], row.kab_name)
    for n, row in enumerate(rows, start=1):
        index.add_kecamatan(-n, row.kec_name, kab_ids[row.kab_code])
    return index


def _beside(path: Path) -> tuple[Path, bool]:
    candidate = path.resolve().parent / WILAYAH_FILE
    return candidate, candidate.is_file()


async def ensure_regions(
    session: AsyncSession, beside: Path, *, clock: Clock, dry_run: bool, notes: list[str]
) -> RegionIndex:
    """The region index; when the database has none, load ``wilayah-kaltim.csv`` from the imported file's
    folder first (and say so in ``notes``), or raise :class:`WilayahMissing`."""
    index = await regions.load_index(session)
    if not index.empty:
        return index
    candidate, exists = await asyncio.to_thread(_beside, beside)
    if not exists:
        raise WilayahMissing(
            "database belum berisi wilayah (kabupaten/kecamatan) dan tidak ada "
            f"{WILAYAH_FILE} di folder {candidate.parent}; "
            f"jalankan dulu: uep import wilayah PATH/{WILAYAH_FILE}"
        )
    table = await asyncio.to_thread(read_table, candidate)
    sub = await import_wilayah(session, table, clock=clock, dry_run=dry_run)
    notes.append(
        f"wilayah belum ada di database: {candidate} dimuat dulu "
        f"({sub.new} kecamatan baru, {len(sub.rejected)} baris wilayah ditolak)"
    )
    if sub.accepted == 0:
        raise WilayahMissing(f"{candidate} tidak berisi satu pun wilayah yang sah; periksa file itu")
    if dry_run:
        return index_from_rows(validate(table, ImportResult(kind="wilayah")))
    return await regions.load_index(session)
