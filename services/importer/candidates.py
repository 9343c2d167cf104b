"""Candidate import (``uep import candidates FILE``): residents proposed for the aid, before the assessment.

The roster's person columns (``nik`` … ``pkh``) without the aid columns, plus an optional ``usaha_diminati``
(the business type the candidate would like). Same rules, validation report and exit codes as the roster
import: every row validated first, upsert by NIK (blind index) in one transaction, the same file twice changes
nothing, an edited file updates the candidates by NIK. A new candidate starts at stage ``candidate`` with an
``imported`` event. Refused rows: a NIK that is already a recipient (someone already in the program is not a
candidate again) and everything the roster import refuses.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import ProgramSettings
from db.enums import CandidateStage
from db.models import Candidate, CandidateEvent, Recipient
from db.repositories.recipients import LOOKUP_CHUNK
from services.audit import audit
from services.clock import Clock
from services.crypto import NikCipher
from services.importer import normalize as norm
from services.importer.common import ColumnSpec, ImportResult, Rejection, RowView, check_columns, chunks
from services.importer.reading import Table
from services.importer.roster import _Record, _Validator
from services.importer.wilayah import ensure_regions

log = logging.getLogger(__name__)

COLUMNS = ColumnSpec(
    required=("nik", "nama", "jenis_kelamin", "tanggal_lahir", "kecamatan", "kabupaten", "pkh"),
    optional=("no_hp", "alamat", "desa", "id_dtks", "usaha_diminati"),
)
FIELDS = ("name", "sex", "birth_date", "kecamatan_id", "pkh")
OPTIONAL_FIELDS = {"no_hp": "phone", "alamat": "address", "desa": "desa", "id_dtks": "dtks_id",
                   "usaha_diminati": "preferred_business_type"}
DEFAULTS: dict[str, Any] = {"phone": None, "address": "", "desa": "", "dtks_id": "", "preferred_business_type": None}
WRITE_CHUNK = 2000
ALREADY_RECIPIENT = "NIK ini sudah terdaftar sebagai penerima bantuan; calon tidak bisa didaftarkan lagi"


class _CandidateValidator(_Validator):
    columns = COLUMNS
    what = "calon"
    always_fields = FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields = FIELDS + tuple(f for col, f in OPTIONAL_FIELDS.items() if col in self.positions)

    def extra(self, row: RowView, take: Any) -> None:
        if "usaha_diminati" not in self.positions:
            return

        def preferred(value: str) -> str | None:
            return norm.business_type(value, self.bt_lookup, self.bt_choices) if norm.clean(value) else None

        take("preferred_business_type", preferred, row["usaha_diminati"])


async def _recipient_hashes(session: AsyncSession, hashes: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(hashes, LOOKUP_CHUNK):
        found.update(await session.scalars(select(Recipient.nik_hash).where(Recipient.nik_hash.in_(chunk))))
    return found


async def _existing(session: AsyncSession, hashes: list[str], fields: tuple[str, ...]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    columns = [getattr(Candidate, f) for f in fields]
    for chunk in chunks(hashes, LOOKUP_CHUNK):
        stmt = select(Candidate.nik_hash, Candidate.id, Candidate.recipient_id, *columns).where(
            Candidate.nik_hash.in_(chunk)
        )
        for row in await session.execute(stmt):
            found[row.nik_hash] = row
    return found


async def import_candidates(
    session: AsyncSession,
    table: Table,
    *,
    program: ProgramSettings,
    cipher: NikCipher,
    clock: Clock,
    dry_run: bool = False,
    actor: str = "cli",
) -> ImportResult:
    """Validate ``table`` and, unless ``dry_run``, upsert the valid rows. The caller owns the transaction
    (commit on success; roll back when ``result.exit_code == 2``)."""
    result = ImportResult(kind="calon", dry_run=dry_run, rows=len(table.rows))
    check_columns(table, COLUMNS, what="calon")
    index = await ensure_regions(session, table.path, clock=clock, dry_run=dry_run, notes=result.notes)
    now = clock.now()
    validator = _CandidateValidator(table, index, program, cipher, now.astimezone(program.tz).date())
    result.warnings.extend(validator.warnings)
    records: list[_Record] = []
    for line, cells in table.rows:
        outcome = validator.row(line, cells)
        if isinstance(outcome, Rejection):
            result.rejected.append(outcome)
        else:
            records.append(outcome)
    hashes = [r.nik_hash for r in records]
    recipients = await _recipient_hashes(session, hashes)
    existing = await _existing(session, hashes, validator.fields)
    new: list[_Record] = []
    updates: list[dict[str, Any]] = []
    kept: list[_Record] = []
    for rec in records:
        row = existing.get(rec.nik_hash)
        if rec.nik_hash in recipients and (row is None or row.recipient_id is None):
            result.rejected.append(Rejection(rec.line, table_cells(table, rec.line), [ALREADY_RECIPIENT]))
            continue
        kept.append(rec)
        if row is None:
            new.append(rec)
        elif any(row._mapping[f] != rec.values[f] for f in validator.fields):
            updates.append({"id": row.id, **{f: rec.values[f] for f in validator.fields}, "updated_at": now})
        else:
            result.unchanged += 1
    result.new, result.updated = len(new), len(updates)
    if not dry_run and kept:
        await _write(session, new, updates, cipher, now, actor)
        audit(session, clock, actor=actor, action="import.candidates", target=table.path.name,
              details=result.counts())
        await session.flush()
    log.info("import candidates %s: %s", table.path.name, result.counts())
    return result


def table_cells(table: Table, line: int) -> list[str]:
    return next((cells for n, cells in table.rows if n == line), [])


async def _write(
    session: AsyncSession, new: list[_Record], updates: list[dict[str, Any]], cipher: NikCipher, now: datetime,
    actor: str,
) -> None:
    ct = Candidate.__table__
    for chunk in chunks(updates, WRITE_CHUNK):
        await session.execute(update(Candidate), list(chunk))
    for chunk in chunks(new, WRITE_CHUNK):
        params = [
            {**DEFAULTS, **rec.values, "nik_hash": rec.nik_hash, "nik_encrypted": cipher.encrypt(rec.nik),
             "stage": CandidateStage.CANDIDATE, "stage_at": now, "created_at": now, "updated_at": now}
            for rec in chunk
        ]
        rows = await session.execute(insert(ct).returning(ct.c.id), params)
        events = [{"candidate_id": cid, "at": now, "actor": actor, "action": "imported", "from_stage": None,
                   "to_stage": CandidateStage.CANDIDATE} for (cid,) in rows]
        await session.execute(insert(CandidateEvent.__table__), events)
