"""Exports for Dissos staff: recipients, check-ins and cases as CSV or XLSX, and check-in photos as a ZIP.

* Rows are streamed from the database in chunks and written as they come (CSV directly, XLSX with openpyxl's
  write-only mode), so 100,000 rows never sit in memory at once.
* NIKs are decrypted and masked (first four and last four digits, :func:`services.crypto.mask_nik`). The
  full NIK is written only with ``full_nik=True``, which requires an active admin as ``actor`` and is recorded
  in the audit log before the first row is written. Every export is audited (personal data leaves the system).
* Times are local (WITA): CSV ``YYYY-MM-DD HH:MM:SS``, XLSX real (naive, local) date-times; columns holding
  them end in ``_wita``. Booleans are ``Y``/``T`` (ya/tidak, as in the DTKS roster). Phone numbers are
  included (staff need them).
* CSV is UTF-8 with a byte-order mark so spreadsheet programs read names correctly.
* Language (``lang``, default Indonesian): column headers (``nama``, ``tanggal_lahir`` … as in the roster
  file) and coded values (case kind, state, urgency, business type and status, sex, booleans ``Ya``/``Tidak``)
  are written as words in that language, never as internal codes; ``lang="en"`` gives English. The CSV
  separator follows the language: ``;`` for Indonesian (Excel set to Indonesian uses the comma as the decimal
  mark and the semicolon as the list separator, so it splits a ``;`` file into columns on opening), ``,`` for
  English.
* Every export names the people responsible: the kecamatan's TKSK, the desa and, for cases, who handles it.
* Safe for spreadsheets (OWASP "CSV injection"): a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or
  a carriage return gets a leading apostrophe in CSV, so Excel and LibreOffice read it as text, never as a
  formula; in XLSX every text value is written as a string cell (never a formula). NIK- and phone-like values
  (``+62…``, long digit strings) stay text the same way, so no digit is lost to a number format.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import zipfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, tzinfo
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from bot.config import Settings
from db.enums import PhotoStatus, StaffRole, WorkerRole
from db.models import Case, Checkin, CheckinDue, FieldWorker, Kabupaten, Kecamatan, Photo, Recipient, Staff, Visit
from services.audit import audit
from services.clock import Clock
from services.crypto import NikCipher, mask_nik
from services.export_labels import HEADER_LABELS, value_labeller, yes_no

ExportFormat = Literal["csv", "xlsx"]
CSV_DELIMITERS = {"id": ";", "en": ","}
EXPORT_KINDS = ("recipients", "checkins", "cases")
CHUNK_ROWS = 2_000


class ExportNotAllowed(PermissionError):
    """Full NIKs were asked for by someone who is not an active admin."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    kind: str
    format: str
    rows: int
    full_nik: bool
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PhotoExportResult:
    files: int
    recipients: int
    missing: list[str] = field(default_factory=list)  # stored paths whose file is not on disk


@dataclass(frozen=True, slots=True)
class _Column:
    header: str  # the English header; HEADER_LABELS translates it
    expr: Any  # a selectable column
    kind: str = "text"  # text | nik | datetime | date | bool | number | a label family (services/export_labels.py)


def _tksk_name() -> Any:
    """The name of the kecamatan's active TKSK (one per kecamatan), as a correlated subquery."""
    return (
        select(FieldWorker.name)
        .where(FieldWorker.kecamatan_id == Kecamatan.id, FieldWorker.role == WorkerRole.TKSK.value,
               FieldWorker.active.is_(True))
        .order_by(FieldWorker.id)
        .limit(1)
        .correlate(Kecamatan)
        .scalar_subquery()
    )


def _case_handler() -> Any:
    """Who handles the case: the field worker who took it, else the Dinas Sosial staff member."""
    from sqlalchemy import func

    worker = select(FieldWorker.name).where(FieldWorker.id == Case.owner_worker_id).correlate(Case).scalar_subquery()
    staff = select(Staff.name).where(Staff.id == Case.owner_staff_id).correlate(Case).scalar_subquery()
    return func.coalesce(worker, staff)


def _columns(kind: str) -> tuple[list[_Column], Select[Any]]:
    R, K, B = Recipient, Kecamatan, Kabupaten
    if kind == "recipients":
        cols = [
            _Column("id", R.id, "number"),
            _Column("nik", R.nik_encrypted, "nik"),
            _Column("name", R.name),
            _Column("sex", R.sex, "sex"),
            _Column("birth_date", R.birth_date, "date"),
            _Column("phone", R.phone),
            _Column("address", R.address),
            _Column("desa", R.desa),
            _Column("kecamatan", K.name),
            _Column("kabupaten", B.name),
            _Column("dtks_id", R.dtks_id),
            _Column("pkh", R.pkh, "bool"),
            _Column("business_type", R.business_type, "business_type"),
            _Column("aid_value", R.aid_value, "number"),
            _Column("aid_date", R.aid_date, "date"),
            _Column("onboarding_state", R.onboarding_state, "onboarding_state"),
            _Column("business_status", R.business_status, "business_status"),
            _Column("business_status_since_wita", R.business_status_since, "datetime"),
            _Column("joined_at_wita", R.joined_at, "datetime"),
            _Column("created_at_wita", R.created_at, "datetime"),
            _Column("tksk", _tksk_name()),
        ]
        stmt = (
            select(*(c.expr for c in cols))
            .join(K, K.id == R.kecamatan_id)
            .join(B, B.id == K.kabupaten_id)
            .order_by(R.id)
        )
        return cols, stmt
    if kind == "checkins":
        C, D = Checkin, CheckinDue
        cols = [
            _Column("id", C.id, "number"),
            _Column("submitted_at_wita", C.submitted_at, "datetime"),
            _Column("recipient_id", R.id, "number"),
            _Column("nik", R.nik_encrypted, "nik"),
            _Column("name", R.name),
            _Column("phone", R.phone),
            _Column("desa", R.desa),
            _Column("kecamatan", K.name),
            _Column("kabupaten", B.name),
            _Column("tksk", _tksk_name()),
            _Column("period_no", D.period_no, "number"),
            _Column("due_at_wita", D.due_at, "datetime"),
            _Column("status", C.status, "business_status"),
            _Column("days_open", C.days_open, "number"),
            _Column("sales_bracket", C.sales_bracket, "sales_bracket"),
            _Column("reason", C.reason, "reason"),
            _Column("note", C.note),
            _Column("latitude", C.latitude, "number"),
            _Column("longitude", C.longitude, "number"),
            _Column("is_extra", C.is_extra, "bool"),
            _Column("reuse_flagged", C.reuse_flagged, "bool"),
            # Reported by a TKSK/PSM visit for someone who had not reported the period (services/monitoring).
            _Column("assisted_by_visit", select(Visit.id).where(Visit.checkin_id == C.id).exists(), "bool"),
        ]
        stmt = (
            select(*(c.expr for c in cols))
            .join(R, R.id == C.recipient_id)
            .join(K, K.id == R.kecamatan_id)
            .join(B, B.id == K.kabupaten_id)
            .outerjoin(D, D.id == C.checkin_due_id)
            .order_by(C.id)
        )
        return cols, stmt
    if kind == "cases":
        S = Case
        cols = [
            _Column("number", S.number),
            _Column("created_at_wita", S.created_at, "datetime"),
            _Column("kind", S.kind, "case_kind"),
            _Column("urgency", S.urgency, "urgency"),
            _Column("state", S.state, "case_state"),
            _Column("recipient_id", S.recipient_id, "number"),
            _Column("nik", R.nik_encrypted, "nik"),
            _Column("name", R.name),
            _Column("phone", R.phone),
            _Column("desa", R.desa),
            _Column("kecamatan", K.name),
            _Column("kabupaten", B.name),
            _Column("tksk", _tksk_name()),
            _Column("handled_by", _case_handler()),
            _Column("description", S.description),
            _Column("overdue", S.overdue, "bool"),
            _Column("take_due_at_wita", S.take_due_at, "datetime"),
            _Column("taken_at_wita", S.taken_at, "datetime"),
            _Column("resolve_due_at_wita", S.resolve_due_at, "datetime"),
            _Column("resolved_at_wita", S.resolved_at, "datetime"),
            _Column("closed_at_wita", S.closed_at, "datetime"),
            _Column("resolution", S.resolution),
        ]
        stmt = (
            select(*(c.expr for c in cols))
            .outerjoin(R, R.id == S.recipient_id)
            .join(K, K.id == S.kecamatan_id)
            .join(B, B.id == K.kabupaten_id)
            .order_by(S.id)
        )
        return cols, stmt
    raise ValueError(f"unknown export {kind!r}; choose one of {', '.join(EXPORT_KINDS)}")


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_LIKE = re.compile(r"^\d{10,}$")  # a NIK, a DTKS id or a phone without "+": a number format would eat it


class _Number(str):
    """A number already written for the CSV's language (not text: never neutralised)."""


def csv_safe(value: str) -> str:
    """A text cell that no spreadsheet takes for a formula or a number (OWASP: a leading apostrophe)."""
    if isinstance(value, _Number):
        return value
    if value.startswith(_FORMULA_STARTS) or _NUMBER_LIKE.match(value):
        return "'" + value
    return value


def _converters(
    cols: Sequence[_Column], fmt: str, tz: tzinfo, nik: Callable[[bytes], str], lang: str, settings: Settings
) -> list[Callable[[Any], Any]]:
    yes, no = yes_no(lang)

    def conv(col: _Column) -> Callable[[Any], Any]:
        if col.kind == "nik":
            return lambda v: "" if v is None else nik(v)
        if col.kind == "bool":
            return lambda v: "" if v is None else (yes if v else no)
        label = value_labeller(col.kind, lang, settings)
        if label is not None:
            return lambda v: ("" if fmt == "csv" else None) if v is None else label(v)
        if col.kind == "datetime":
            if fmt == "csv":
                return lambda v: "" if v is None else v.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
            return lambda v: None if v is None else v.astimezone(tz).replace(tzinfo=None)
        if col.kind == "date":
            return (lambda v: "" if v is None else v.isoformat()) if fmt == "csv" else (lambda v: v)
        if col.kind == "number" and fmt == "csv" and lang == "id":
            # Excel set to Indonesian reads "1,5" as a number and "1.5" as text.
            return lambda v: "" if v is None else _Number(str(v).replace(".", ","))
        if fmt == "csv":
            return lambda v: "" if v is None else v
        return lambda v: v

    return [conv(c) for c in cols]


def _check_admin(actor: Staff | None) -> Staff:
    if actor is None or actor.role != StaffRole.ADMIN or not actor.active:
        raise ExportNotAllowed("full NIKs may be exported only by an active admin")
    return actor


async def export_table(
    session: AsyncSession,
    kind: str,
    out: IO[bytes],
    *,
    fmt: ExportFormat,
    settings: Settings,
    cipher: NikCipher,
    clock: Clock,
    full_nik: bool = False,
    actor: Staff | None = None,
    actor_account_id: int | None = None,
    kecamatan_ids: Collection[int] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    lang: str = "id",
) -> ExportResult:
    """Write one table (``recipients``, ``checkins`` or ``cases``) to ``out`` (a binary file object), with
    headers and values in ``lang`` (``id`` or ``en``).

    Raises :class:`ExportNotAllowed` for ``full_nik`` without an active admin ``actor``. The audit entry is
    committed before streaming starts, so it survives an interrupted export and no write lock is held
    meanwhile.
    """
    if fmt not in ("csv", "xlsx"):
        raise ValueError("format must be csv or xlsx")
    cols, stmt = _columns(kind)
    if full_nik:
        _check_admin(actor)
    if kecamatan_ids is not None:
        stmt = stmt.where(Kecamatan.id.in_(list(kecamatan_ids)))
    audit(
        session,
        clock,
        actor=f"{actor.name} ({actor.role})" if actor is not None else "cli",
        actor_account_id=actor_account_id,
        action="export.full_nik" if full_nik else "export",
        target=kind,
        details={
            "format": fmt,
            "full_nik": full_nik,
            "scope": sorted(kecamatan_ids) if kecamatan_ids else None,
        },
    )
    await session.commit()

    tz = settings.program.tz
    nik = (lambda blob: cipher.decrypt(blob)) if full_nik else (lambda blob: mask_nik(cipher.decrypt(blob)))
    if lang not in ("id", "en"):
        raise ValueError("lang must be id or en")
    convert = _converters(cols, fmt, tz, nik, lang, settings)
    headers = [c.header if lang == "en" else HEADER_LABELS.get(c.header, c.header) for c in cols]
    rows = 0
    result = await session.stream(stmt.execution_options(yield_per=chunk_rows))
    if fmt == "csv":
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
        try:
            writer = csv.writer(text, delimiter=CSV_DELIMITERS[lang])
            writer.writerow(headers)
            async for part in result.partitions(chunk_rows):
                writer.writerows([
                    [csv_safe(x) if isinstance(x, str) else x
                     for x in (f(v) for f, v in zip(convert, row, strict=True))]
                    for row in part
                ])
                rows += len(part)
        finally:
            text.flush()
            text.detach()  # leave ``out`` open for the caller
    else:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(kind)
        ws.freeze_panes = "A2"
        bold = Font(bold=True)
        header_cells = []
        for h in headers:
            cell = WriteOnlyCell(ws, value=h)
            cell.font = bold
            header_cells.append(cell)
        ws.append(header_cells)
        def text_cell(value: str) -> WriteOnlyCell:
            # openpyxl would store "=…" as a formula: a string cell is always text.
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"
            return cell

        async for part in result.partitions(chunk_rows):
            for row in part:
                values = (f(v) for f, v in zip(convert, row, strict=True))
                ws.append([text_cell(x) if isinstance(x, str) else x for x in values])
            rows += len(part)
        wb.save(out)
    await result.close()
    return ExportResult(kind, fmt, rows, full_nik, tuple(headers))


async def export_recipients(session: AsyncSession, out: IO[bytes], **kwargs: Any) -> ExportResult:
    return await export_table(session, "recipients", out, **kwargs)


async def export_checkins(session: AsyncSession, out: IO[bytes], **kwargs: Any) -> ExportResult:
    return await export_table(session, "checkins", out, **kwargs)


async def export_cases(session: AsyncSession, out: IO[bytes], **kwargs: Any) -> ExportResult:
    return await export_table(session, "cases", out, **kwargs)


_UNSAFE = re.compile(r"[^\w .,'()-]+", re.UNICODE)


def folder_name(name: str, recipient_id: int) -> str:
    """``Siti Rahman (123)``: the recipient's name made safe for every file system, plus their id."""
    clean = " ".join(_UNSAFE.sub("_", name).split()).strip(". ") or "recipient"
    return f"{clean[:80]} ({recipient_id})"


async def export_photos(
    session: AsyncSession,
    out: IO[bytes] | Path,
    *,
    settings: Settings,
    clock: Clock,
    actor: Staff | None = None,
    actor_account_id: int | None = None,
    kecamatan_ids: Collection[int] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> PhotoExportResult:
    """A ZIP of every stored check-in photo: ``<name> (<id>)/<YYYY-MM-DD>_<n>.jpg``, the date being the
    check-in's local (WITA) date and ``n`` counting that recipient's photos of that date from 1. Files missing
    on disk are skipped and listed in the result. File work runs in a thread, off the event loop."""
    tz = settings.program.tz
    media = await asyncio.to_thread(lambda: Path(settings.storage.media_dir).resolve())
    stmt = (
        select(Recipient.id, Recipient.name, Checkin.submitted_at, Photo.id, Photo.path)
        .join(Checkin, Checkin.id == Photo.checkin_id)
        .join(Recipient, Recipient.id == Checkin.recipient_id)
        .where(Photo.path.is_not(None), Photo.status == PhotoStatus.STORED.value)
        .order_by(Recipient.id, Checkin.submitted_at, Photo.id)
    )
    if kecamatan_ids is not None:
        stmt = stmt.where(Recipient.kecamatan_id.in_(list(kecamatan_ids)))
    audit(
        session,
        clock,
        actor=f"{actor.name} ({actor.role})" if actor is not None else "cli",
        actor_account_id=actor_account_id,
        action="export",
        target="photos",
        details={"format": "zip", "scope": sorted(kecamatan_ids) if kecamatan_ids else None},
    )
    await session.commit()

    files = 0
    recipients: set[int] = set()
    missing: list[str] = []
    counters: dict[date, int] = {}  # photos per local date of the current recipient (rows come by recipient)
    current: int | None = None
    result = await session.stream(stmt.execution_options(yield_per=chunk_rows))

    def add(zf: zipfile.ZipFile, batch: list[tuple[int, str, str]]) -> None:
        nonlocal files
        for rid, rel, arcname in batch:
            src = (media / rel).resolve()
            if media not in src.parents or not src.is_file():
                missing.append(rel)
                continue
            zf.write(src, arcname)
            files += 1
            recipients.add(rid)

    # JPEGs do not compress further: store them.
    zf = await asyncio.to_thread(zipfile.ZipFile, out, "w", zipfile.ZIP_STORED)
    try:
        async for part in result.partitions(chunk_rows):
            batch = []
            for rid, name, submitted_at, _photo_id, rel in part:
                if rid != current:
                    current, counters = rid, {}
                day = submitted_at.astimezone(tz).date()
                n = counters[day] = counters.get(day, 0) + 1
                batch.append((rid, rel, f"{folder_name(name, rid)}/{day.isoformat()}_{n}.jpg"))
            await asyncio.to_thread(add, zf, batch)
    finally:
        await asyncio.to_thread(zf.close)
    await result.close()
    return PhotoExportResult(files, len(recipients), missing)


__all__ = [
    "EXPORT_KINDS",
    "ExportFormat",
    "ExportNotAllowed",
    "ExportResult",
    "PhotoExportResult",
    "export_cases",
    "export_checkins",
    "export_photos",
    "export_recipients",
    "export_table",
    "folder_name",
]
