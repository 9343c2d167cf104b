"""Recipient roster import: validate every row, then upsert by NIK (blind index) in one transaction.

Built for 100,000 rows: parse and validate in Python, look existing NIK hashes up in chunks, write with
executemany-style bulk INSERT/UPDATE in chunks. The NIK is encrypted (AES-GCM) only for new recipients.

Rules (documented for the clerks):

* the file is the source of truth for the columns it has: a present-but-empty ``no_hp`` or
  ``tanggal_bantuan`` clears the stored value; an optional column the file lacks is left untouched;
* onboarding and business-status fields are never touched by an import;
* a recipient that is not in the file is left as it is (an import never deletes);
* each recipient has one aid package (value, business type, delivered_on = tanggal_bantuan) with the
  standard items of the business type from settings, positions 1..n; an item whose name is unchanged keeps
  its ``received`` answer, a renamed item starts unanswered, surplus items are removed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import ProgramSettings
from db.models import AidItem, AidPackage, Recipient
from db.repositories.recipients import LOOKUP_CHUNK, rows_by_nik_hash
from db.repositories.regions import RegionIndex
from services.audit import audit
from services.clock import Clock
from services.crypto import NikCipher
from services.importer import normalize as norm
from services.importer.common import (
    ColumnSpec,
    ImportResult,
    Rejection,
    RowView,
    check_columns,
    chunks,
    progress_bar,
)
from services.importer.reading import Table
from services.importer.wilayah import ensure_regions

log = logging.getLogger(__name__)

COLUMNS = ColumnSpec(
    required=(
        "nik",
        "nama",
        "jenis_kelamin",
        "tanggal_lahir",
        "kecamatan",
        "kabupaten",
        "pkh",
        "jenis_usaha",
        "nilai_bantuan",
    ),
    optional=("no_hp", "alamat", "desa", "id_dtks", "tanggal_bantuan"),
)
# Recipient fields an import sets, and the file column each comes from.
ALWAYS_FIELDS = ("name", "sex", "birth_date", "kecamatan_id", "pkh", "business_type", "aid_value")
OPTIONAL_FIELDS = {
    "no_hp": "phone",
    "alamat": "address",
    "desa": "desa",
    "id_dtks": "dtks_id",
    "tanggal_bantuan": "aid_date",
}
DEFAULTS: dict[str, Any] = {"phone": None, "address": "", "desa": "", "dtks_id": "", "aid_date": None}
WRITE_CHUNK = 2000
EARLIEST_BIRTH = date(1900, 1, 1)


@dataclass(slots=True)
class _Record:
    line: int
    nik: str
    nik_hash: str
    values: dict[str, Any]


@dataclass
class _PackageState:
    id: int
    business_type: str
    value: int
    delivered_on: date | None
    items: dict[int, tuple[int, str]] = field(default_factory=dict)  # position → (item id, name)


class _Validator:
    columns = COLUMNS
    what = "roster"
    always_fields: tuple[str, ...] = ALWAYS_FIELDS

    def __init__(
        self, table: Table, index: RegionIndex, program: ProgramSettings, cipher: NikCipher, today: date
    ):
        self.positions, self.warnings = check_columns(table, self.columns, what=self.what)
        self.fields = self.always_fields + tuple(
            f for col, f in OPTIONAL_FIELDS.items() if col in self.positions and col in self.columns.known
        )
        self.index = index
        self.program = program
        self.cipher = cipher
        self.today = today
        self.bt_lookup = norm.business_type_lookup(program.business_types)
        self.bt_choices = ", ".join(bt.label_id.casefold() for bt in program.business_types.values())
        self.seen: dict[str, int] = {}
        self._regions: dict[tuple[str, str], int | str] = {}

    def _region(self, kab: str, kec: str) -> int:
        key = (kab, kec)
        hit = self._regions.get(key)
        if hit is None:
            try:
                hit = norm.kecamatan_id(self.index, kab, kec)
            except norm.Invalid as exc:
                hit = str(exc)
            self._regions[key] = hit
        if isinstance(hit, str):
            raise norm.Invalid(hit)
        return hit

    def row(self, line: int, cells: list[str]) -> _Record | Rejection:
        row = RowView(self.positions, cells)
        values: dict[str, Any] = {}
        reasons: list[str] = []

        def take(name: str, fn: Any, *args: Any, **kwargs: Any) -> None:
            try:
                values[name] = fn(*args, **kwargs)
            except norm.Invalid as exc:
                reasons.append(str(exc))

        self.person(row, take)
        self.extra(row, take)
        return self.finish(line, cells, values, reasons)

    def person(self, row: RowView, take: Any) -> None:
        """The columns every person file shares (roster and candidates)."""
        has = self.positions.__contains__
        take("nik", norm.nik, row["nik"])
        take("name", norm.person_name, row["nama"])
        take("sex", norm.sex, row["jenis_kelamin"])
        take(
            "birth_date",
            norm.a_date,
            row["tanggal_lahir"],
            "tanggal lahir",
            required=True,
            not_before=EARLIEST_BIRTH,
            not_after=self.today,
        )
        if has("no_hp"):
            take("phone", norm.phone, row["no_hp"])
        if has("alamat"):
            take("address", norm.text, row["alamat"], "alamat", max_len=300)
        if has("desa"):
            take("desa", norm.text, row["desa"], "desa", max_len=120)
        take("kecamatan_id", self._region, row["kabupaten"], row["kecamatan"])
        if has("id_dtks"):
            take("dtks_id", norm.text, row["id_dtks"], "id DTKS", max_len=40)
        take("pkh", norm.yes_no, row["pkh"], "pkh")

    def extra(self, row: RowView, take: Any) -> None:
        """The roster's aid columns."""
        has = self.positions.__contains__
        take("business_type", norm.business_type, row["jenis_usaha"], self.bt_lookup, self.bt_choices)
        take("aid_value", norm.aid_value, row["nilai_bantuan"], self.program.aid_min, self.program.aid_max)
        if has("tanggal_bantuan"):
            take(
                "aid_date",
                norm.a_date,
                row["tanggal_bantuan"],
                "tanggal bantuan",
                required=False,
                not_before=date(2000, 1, 1),
                not_after=self.today,
            )

    def finish(self, line: int, cells: list[str], values: dict[str, Any], reasons: list[str]) -> _Record | Rejection:
        nik_hash = ""
        if "nik" in values:
            nik_hash = self.cipher.blind_index(values["nik"])
            first = self.seen.get(nik_hash)
            if first is not None:
                reasons.append(
                    f"NIK sama dengan baris {first} di file ini (satu orang hanya boleh satu baris)"
                )
            else:
                self.seen[nik_hash] = line
        if reasons:
            return Rejection(line, cells, reasons)
        nik = values.pop("nik")
        return _Record(line, nik, nik_hash, values)


def _items_for(program: ProgramSettings, business_type: str) -> list[str]:
    return program.package_items(business_type)


def _item_row(program: ProgramSettings, business_type: str, name: str) -> dict[str, Any]:
    """Unit, standard price and quantity of a default item from the aid catalog (None without a catalog)."""
    line = program.catalog.find(business_type, name) if program.aid_catalog is not None else None
    if line is None:
        return {"unit": None, "unit_price": None, "quantity": None}
    return {"unit": line.unit, "unit_price": line.unit_price, "quantity": line.quantity}


async def _load_packages(session: AsyncSession, recipient_ids: list[int]) -> dict[int, _PackageState]:
    packages: dict[int, _PackageState] = {}
    by_id: dict[int, _PackageState] = {}
    for chunk in chunks(recipient_ids, LOOKUP_CHUNK):
        rows = await session.execute(
            select(
                AidPackage.id,
                AidPackage.recipient_id,
                AidPackage.business_type,
                AidPackage.value,
                AidPackage.delivered_on,
            ).where(AidPackage.recipient_id.in_(chunk))
        )
        for pid, rid, bt, value, delivered in rows:
            packages[rid] = by_id[pid] = _PackageState(pid, bt, value, delivered)
    package_ids = list(by_id)
    for chunk in chunks(package_ids, LOOKUP_CHUNK):
        rows = await session.execute(
            select(AidItem.id, AidItem.package_id, AidItem.position, AidItem.name).where(
                AidItem.package_id.in_(chunk)
            )
        )
        for iid, pid, position, name in rows:
            by_id[pid].items[position] = (iid, name)
    return packages


@dataclass
class _Plan:
    new: list[_Record] = field(default_factory=list)
    recipient_updates: list[dict[str, Any]] = field(default_factory=list)
    packages_for_existing: list[tuple[int, _Record]] = field(default_factory=list)  # recipient id, record
    package_updates: list[dict[str, Any]] = field(default_factory=list)
    item_deletes: list[int] = field(default_factory=list)
    item_updates: list[dict[str, Any]] = field(default_factory=list)
    item_inserts: list[dict[str, Any]] = field(default_factory=list)


def _package_target(rec: _Record, current: _PackageState | None) -> dict[str, Any]:
    delivered = (
        rec.values["aid_date"] if "aid_date" in rec.values else (current.delivered_on if current else None)
    )
    return {
        "business_type": rec.values["business_type"],
        "value": rec.values["aid_value"],
        "delivered_on": delivered,
    }


async def _plan(
    session: AsyncSession,
    records: list[_Record],
    fields: tuple[str, ...],
    program: ProgramSettings,
    now: datetime,
    result: ImportResult,
) -> _Plan:
    plan = _Plan()
    found = await rows_by_nik_hash(
        session, (r.nik_hash for r in records), *(getattr(Recipient, f) for f in fields)
    )
    packages = await _load_packages(session, [row.id for row in found.values()])
    for rec in records:
        row = found.get(rec.nik_hash)
        if row is None:
            plan.new.append(rec)
            continue
        current = row._mapping
        changed = any(current[f] != rec.values[f] for f in fields)
        package = packages.get(row.id)
        package_changed = False
        if package is None:
            plan.packages_for_existing.append((row.id, rec))
            package_changed = True
        else:
            target = _package_target(rec, package)
            if (package.business_type, package.value, package.delivered_on) != tuple(target.values()):
                plan.package_updates.append({"id": package.id, **target})
                package_changed = True
            wanted = dict(enumerate(_items_for(program, rec.values["business_type"]), start=1))
            for position, name in wanted.items():
                have = package.items.get(position)
                bt = rec.values["business_type"]
                if have is None:
                    plan.item_inserts.append({"package_id": package.id, "position": position, "name": name,
                                              **_item_row(program, bt, name)})
                    package_changed = True
                elif have[1] != name:
                    plan.item_updates.append({"id": have[0], "name": name, "received": None,
                                              **_item_row(program, bt, name)})
                    package_changed = True
            for position, (item_id, _name) in package.items.items():
                if position not in wanted:
                    plan.item_deletes.append(item_id)
                    package_changed = True
        if changed or package_changed:
            plan.recipient_updates.append(
                {"id": row.id, **{f: rec.values[f] for f in fields}, "updated_at": now}
            )
        else:
            result.unchanged += 1
    result.new = len(plan.new)
    result.updated = len(plan.recipient_updates)
    return plan


async def _write(
    session: AsyncSession, plan: _Plan, program: ProgramSettings, cipher: NikCipher, now: datetime, show: bool
) -> None:
    rt, pt, it = Recipient.__table__, AidPackage.__table__, AidItem.__table__
    total = len(plan.new) + len(plan.recipient_updates)
    with progress_bar(show, total, "menyimpan") as bar:
        for chunk in chunks(plan.recipient_updates, WRITE_CHUNK):
            await session.execute(update(Recipient), list(chunk))
            bar.update(len(chunk))
        for chunk in chunks(plan.package_updates, WRITE_CHUNK):
            await session.execute(update(AidPackage), list(chunk))
        for chunk in chunks(plan.item_deletes, LOOKUP_CHUNK):
            await session.execute(delete(AidItem).where(AidItem.id.in_(chunk)))
        for chunk in chunks(plan.item_updates, WRITE_CHUNK):
            await session.execute(update(AidItem), list(chunk))

        pending: list[tuple[int, _Record]] = list(plan.packages_for_existing)
        for chunk in chunks(plan.new, WRITE_CHUNK):
            params = [
                {
                    **DEFAULTS,
                    **rec.values,
                    "nik_hash": rec.nik_hash,
                    "nik_encrypted": cipher.encrypt(rec.nik),
                    "created_at": now,
                    "updated_at": now,
                }
                for rec in chunk
            ]
            rows = await session.execute(insert(rt).returning(rt.c.id, rt.c.nik_hash), params)
            ids = {h: i for i, h in rows}
            pending.extend((ids[rec.nik_hash], rec) for rec in chunk)
            bar.update(len(chunk))

        item_inserts = list(plan.item_inserts)
        for chunk in chunks(pending, WRITE_CHUNK):
            params = [{"recipient_id": rid, **_package_target(rec, None)} for rid, rec in chunk]
            rows = await session.execute(insert(pt).returning(pt.c.id, pt.c.recipient_id), params)
            package_of = {rid: pid for pid, rid in rows}
            for rid, rec in chunk:
                bt = rec.values["business_type"]
                for position, name in enumerate(_items_for(program, bt), start=1):
                    item_inserts.append({"package_id": package_of[rid], "position": position, "name": name,
                                         **_item_row(program, bt, name)})
        for chunk in chunks(item_inserts, WRITE_CHUNK * 5):
            await session.execute(insert(it), list(chunk))


async def import_roster(
    session: AsyncSession,
    table: Table,
    *,
    program: ProgramSettings,
    cipher: NikCipher,
    clock: Clock,
    dry_run: bool = False,
    progress: bool = False,
    actor: str = "cli",
) -> ImportResult:
    """Validate ``table`` and, unless ``dry_run``, upsert the valid rows. The caller owns the transaction
    (commit on success; roll back when ``result.exit_code == 2``)."""
    t0 = time.perf_counter()
    result = ImportResult(kind="roster", dry_run=dry_run, rows=len(table.rows))
    check_columns(table, COLUMNS, what="roster")  # before anything else touches the database
    index = await ensure_regions(session, table.path, clock=clock, dry_run=dry_run, notes=result.notes)
    now = clock.now()
    validator = _Validator(table, index, program, cipher, now.astimezone(program.tz).date())
    result.warnings.extend(validator.warnings)
    records: list[_Record] = []
    with progress_bar(progress, len(table.rows), "memeriksa") as bar:
        for n, (line, cells) in enumerate(table.rows, start=1):
            outcome = validator.row(line, cells)
            if isinstance(outcome, Rejection):
                result.rejected.append(outcome)
            else:
                records.append(outcome)
            if n % 1000 == 0:
                bar.update(1000)
        bar.update(len(table.rows) % 1000)
    t1 = time.perf_counter()
    plan = await _plan(session, records, validator.fields, program, now, result)
    t2 = time.perf_counter()
    if not dry_run and records:
        await _write(session, plan, program, cipher, now, progress)
        audit(
            session,
            clock,
            actor=actor,
            action="import.roster",
            target=table.path.name,
            details=result.counts(),
        )
        await session.flush()
    t3 = time.perf_counter()
    log.info(
        "import roster %s: %s (validate %.1fs, plan %.1fs, write %.1fs)",
        table.path.name,
        result.counts(),
        t1 - t0,
        t2 - t1,
        t3 - t2,
    )
    return result
