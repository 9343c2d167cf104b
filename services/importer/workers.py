"""Field worker import (TKSK and PSM): the same validation and upsert-by-NIK rules as the roster.

One TKSK per kecamatan:

* in the file, a second TKSK row for a kecamatan is rejected (the first one stands);
* in the database, when the file names a TKSK for a kecamatan whose current active TKSK is *not in the
  file at all*, that previous TKSK is deactivated (``active = False``, reported as "dinonaktifkan"). A
  previous TKSK who *is* in the file simply gets the role and kecamatan of their row (e.g. becomes PSM).

Workers missing from the file are otherwise left as they are; a row for a deactivated worker activates
them again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import WorkerRole
from db.models import FieldWorker, Kecamatan
from db.repositories.recipients import LOOKUP_CHUNK
from db.repositories.regions import RegionIndex
from services.audit import audit
from services.clock import Clock
from services.crypto import NikCipher
from services.importer import normalize as norm
from services.importer.common import ColumnSpec, ImportResult, Rejection, RowView, check_columns, chunks
from services.importer.reading import Table
from services.importer.wilayah import ensure_regions

log = logging.getLogger(__name__)

COLUMNS = ColumnSpec(required=("nik", "nama", "peran", "kabupaten", "kecamatan"), optional=("no_hp",))


@dataclass(slots=True)
class _Record:
    line: int
    nik: str
    nik_hash: str
    values: dict[str, Any]


def _validate(
    table: Table, positions: dict[str, int], index: RegionIndex, cipher: NikCipher, result: ImportResult
) -> list[_Record]:
    seen: dict[str, int] = {}
    tksk_line: dict[int, int] = {}
    records: list[_Record] = []
    for line, cells in table.rows:
        row = RowView(positions, cells)
        values: dict[str, Any] = {}
        reasons: list[str] = []
        checks: list[tuple[str, Any, tuple[Any, ...]]] = [
            ("nik", norm.nik, (row["nik"],)),
            ("name", norm.person_name, (row["nama"],)),
            ("role", norm.worker_role, (row["peran"],)),
            ("kecamatan_id", norm.kecamatan_id, (index, row["kabupaten"], row["kecamatan"])),
        ]
        if "no_hp" in positions:
            checks.append(("phone", norm.phone, (row["no_hp"],)))
        for name, parse, args in checks:
            try:
                values[name] = parse(*args)
            except norm.Invalid as exc:
                reasons.append(str(exc))
        nik_hash = ""
        if "nik" in values:
            nik_hash = cipher.blind_index(values["nik"])
            if nik_hash in seen:
                reasons.append(
                    f"NIK sama dengan baris {seen[nik_hash]} di file ini (satu orang hanya boleh satu baris)"
                )
            else:
                seen[nik_hash] = line
        if values.get("role") == WorkerRole.TKSK and "kecamatan_id" in values:
            first = tksk_line.get(values["kecamatan_id"])
            if first is not None:
                reasons.append(
                    f"kecamatan '{norm.clean(row['kecamatan'])}' sudah punya TKSK di baris {first} "
                    "(satu kecamatan hanya satu TKSK)"
                )
            elif not reasons:
                tksk_line[values["kecamatan_id"]] = line
        if reasons:
            result.rejected.append(Rejection(line, cells, reasons))
        else:
            nik = values.pop("nik")
            values["active"] = True
            records.append(_Record(line, nik, nik_hash, values))
    return records


async def import_workers(
    session: AsyncSession,
    table: Table,
    *,
    cipher: NikCipher,
    clock: Clock,
    dry_run: bool = False,
    actor: str = "cli",
) -> ImportResult:
    """Validate ``table`` and, unless ``dry_run``, upsert the valid rows (caller owns the transaction)."""
    result = ImportResult(kind="workers", dry_run=dry_run, rows=len(table.rows))
    positions, warnings = check_columns(table, COLUMNS, what="petugas (workers)")
    result.warnings.extend(warnings)
    index = await ensure_regions(session, table.path, clock=clock, dry_run=dry_run, notes=result.notes)
    records = _validate(table, positions, index, cipher, result)
    fields = tuple(records[0].values) if records else ()
    now: datetime = clock.now()

    found: dict[str, Any] = {}
    hashes = [r.nik_hash for r in records]
    for chunk in chunks(hashes, LOOKUP_CHUNK):
        stmt = select(FieldWorker.nik_hash, FieldWorker.id, *(getattr(FieldWorker, f) for f in fields)).where(
            FieldWorker.nik_hash.in_(chunk)
        )
        for row in await session.execute(stmt):
            found[row.nik_hash] = row
    new: list[_Record] = []
    updates: list[dict[str, Any]] = []
    for rec in records:
        row = found.get(rec.nik_hash)
        if row is None:
            new.append(rec)
        elif any(row._mapping[f] != v for f, v in rec.values.items()):
            updates.append({"id": row.id, **rec.values, "updated_at": now})
        else:
            result.unchanged += 1
    result.new, result.updated = len(new), len(updates)

    # Previous TKSK of a kecamatan that gets a TKSK from this file, and who is not in the file.
    in_file = set(hashes)
    tksk_kecs = [r.values["kecamatan_id"] for r in records if r.values["role"] == WorkerRole.TKSK]
    replaced: list[tuple[int, str, str]] = []
    for chunk in chunks(tksk_kecs, LOOKUP_CHUNK):
        rows = await session.execute(
            select(FieldWorker.id, FieldWorker.nik_hash, FieldWorker.name, Kecamatan.name)
            .join(Kecamatan, Kecamatan.id == FieldWorker.kecamatan_id)
            .where(
                FieldWorker.kecamatan_id.in_(chunk),
                FieldWorker.role == WorkerRole.TKSK,
                FieldWorker.active.is_(True),
            )
        )
        replaced.extend((wid, name, kec) for wid, nik_hash, name, kec in rows if nik_hash not in in_file)
    result.deactivated = len(replaced)
    for _wid, name, kec in replaced:
        result.notes.append(f"TKSK lama kecamatan {kec} ({name}) dinonaktifkan: file ini memberi TKSK baru")

    if not dry_run and (new or updates or replaced):
        for chunk in chunks(updates, 1000):
            await session.execute(update(FieldWorker), list(chunk))
        if replaced:
            await session.execute(
                update(FieldWorker),
                [{"id": wid, "active": False, "updated_at": now} for wid, _n, _k in replaced],
            )
        for chunk in chunks(new, 1000):
            params = [
                {
                    "phone": None,
                    **rec.values,
                    "nik_hash": rec.nik_hash,
                    "nik_encrypted": cipher.encrypt(rec.nik),
                    "created_at": now,
                    "updated_at": now,
                }
                for rec in chunk
            ]
            await session.execute(insert(FieldWorker.__table__), params)
        audit(
            session,
            clock,
            actor=actor,
            action="import.workers",
            target=table.path.name,
            details=result.counts(),
        )
        await session.flush()
    log.info("import workers %s: %s", table.path.name, result.counts())
    return result
