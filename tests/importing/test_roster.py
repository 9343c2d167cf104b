"""Roster import (service): full sample, idempotence, edits by NIK, aid packages, XLSX, NIK at rest."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select, text

from bot.context import AppContext
from db.models import AidItem, AidPackage, AuditLog, Recipient
from db.repositories import recipients, regions
from services.clock import FrozenClock
from tests.conftest import using_postgres
from tests.importing.conftest import FAULTY, ROSTER, counts, read_rows, run_import, with_wilayah, write_rows


async def test_full_sample_imports_without_rejections(ctx: AppContext) -> None:
    result = await run_import(ctx, "roster", ROSTER)
    assert (result.rows, result.new, result.updated, result.unchanged, result.rejected) == (
        1500,
        1500,
        0,
        0,
        [],
    )
    assert result.exit_code == 0
    assert any("wilayah-kaltim.csv" in note for note in result.notes)  # loaded first, and said so
    async with ctx.session_factory() as session:
        n = await counts(session)
        assert n["kecamatan"] == 103 and n["recipients"] == 1500 and n["aid_packages"] == 1500
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "import.roster"))).one()
        assert audit.details is not None and audit.details["new"] == 1500


async def test_aid_packages_have_standard_items_in_order(ctx: AppContext) -> None:
    await run_import(ctx, "roster", ROSTER)
    program = ctx.settings.program
    async with ctx.session_factory() as session:
        packages = (await session.scalars(select(AidPackage).join(Recipient))).unique().all()
        assert len(packages) == 1500
        total_items = 0
        for package in packages[:200]:
            await session.refresh(package, ["items"])
            catalog = program.catalog.default_lines(package.business_type)
            assert [i.name for i in package.items] == [line.item for line in catalog]
            # the aid catalog's unit, standard price and default quantity ride along with each item
            assert [(i.unit, i.unit_price, i.quantity) for i in package.items] == [
                (line.unit, line.unit_price, line.quantity) for line in catalog
            ]
            assert [i.position for i in package.items] == list(range(1, len(package.items) + 1))
            total_items += len(package.items)
        _h, rows = read_rows(ROSTER)
        first = await recipients.get_by_nik(session, ctx.cipher, rows[0]["nik"])
        assert first is not None
        package = await session.scalar(select(AidPackage).where(AidPackage.recipient_id == first.id))
        assert package is not None
        assert package.value == first.aid_value == int(rows[0]["nilai_bantuan"])
        assert package.delivered_on == date.fromisoformat(rows[0]["tanggal_bantuan"])
        assert package.business_type == first.business_type == rows[0]["jenis_usaha"]


async def test_second_import_changes_nothing(ctx: AppContext, clock: FrozenClock) -> None:
    await run_import(ctx, "roster", ROSTER)
    async with ctx.session_factory() as session:
        before = dict((await session.execute(select(Recipient.id, Recipient.updated_at))).all())
        items_before = (await session.execute(select(AidItem.id, AidItem.name).order_by(AidItem.id))).all()
    clock.advance(timedelta(days=3))
    again = await run_import(ctx, "roster", ROSTER)
    assert (again.new, again.updated, again.unchanged, len(again.rejected)) == (0, 0, 1500, 0)
    async with ctx.session_factory() as session:
        after = dict((await session.execute(select(Recipient.id, Recipient.updated_at))).all())
        items_after = (await session.execute(select(AidItem.id, AidItem.name).order_by(AidItem.id))).all()
    assert after == before  # no updated_at churn
    assert items_after == items_before  # packages kept, not duplicated


async def test_edited_file_updates_by_nik(ctx: AppContext, clock: FrozenClock, tmp_path: Path) -> None:
    header, rows = read_rows(ROSTER)
    with_wilayah(tmp_path)
    original = write_rows(tmp_path / "roster.csv", header, rows[:50])
    await run_import(ctx, "roster", original)
    async with ctx.session_factory() as session:
        target = await recipients.get_by_nik(session, ctx.cipher, rows[3]["nik"])
        assert target is not None
        target_id, created = target.id, target.updated_at
        package = await session.scalar(select(AidPackage).where(AidPackage.recipient_id == target_id))
        assert package is not None
        await session.refresh(package, ["items"])
        package.items[0].received = True  # answered during onboarding
        await session.commit()

    edited = [dict(r) for r in rows[:50]]
    new_type = "bengkel_motor" if edited[3]["jenis_usaha"] != "bengkel_motor" else "kue"
    edited[3].update(nama="  NAMA   Baru  ", no_hp="0812 1111 2222", jenis_usaha=new_type, tanggal_bantuan="")
    edited[7]["nilai_bantuan"] = "4.600.000"
    clock.advance(timedelta(hours=5))
    result = await run_import(ctx, "roster", write_rows(tmp_path / "roster-edit.csv", header, edited))
    assert (result.new, result.updated, result.unchanged) == (0, 2, 48)

    items = ctx.settings.program.package_items(new_type)
    async with ctx.session_factory() as session:
        rec = await recipients.get_by_nik(session, ctx.cipher, rows[3]["nik"])
        assert rec is not None and rec.id == target_id
        assert (rec.name, rec.phone, rec.business_type, rec.aid_date) == (
            "NAMA Baru",
            "+6281211112222",
            new_type,
            None,
        )
        assert rec.updated_at == clock.now() != created
        package = await session.scalar(select(AidPackage).where(AidPackage.recipient_id == target_id))
        assert package is not None
        await session.refresh(package, ["items"])
        assert (package.business_type, package.delivered_on) == (new_type, None)
        assert [i.name for i in package.items] == items
        assert [i.position for i in package.items] == list(range(1, len(items) + 1))
        assert package.items[0].received is None  # a different item now
        other = await recipients.get_by_nik(session, ctx.cipher, rows[7]["nik"])
        assert other is not None and other.aid_value == 4_600_000
        n = await counts(session)
        assert n["recipients"] == 50 and n["aid_packages"] == 50


async def test_dry_run_writes_nothing(ctx: AppContext) -> None:
    result = await run_import(ctx, "roster", FAULTY, dry_run=True)
    assert (result.new, len(result.rejected), result.exit_code) == (6, 11, 1)
    async with ctx.session_factory() as session:
        assert await counts(session) == {
            "kecamatan": 0,
            "recipients": 0,
            "aid_packages": 0,
            "aid_items": 0,
            "field_workers": 0,
        }
        assert (await session.scalars(select(AuditLog))).all() == []


def _xlsx(path: Path, header: list[str], rows: list[dict[str, str]], *, excel_types: bool) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append([h.upper().replace("_", " ") for h in header])  # headers in another case and spacing
    for row in rows:
        cells: list[object] = [row[h] for h in header]
        if excel_types:  # what Excel really stores: numbers and dates, not text
            cells[header.index("nilai_bantuan")] = int(row["nilai_bantuan"])
            cells[header.index("tanggal_lahir")] = datetime.fromisoformat(row["tanggal_lahir"])
            if row["no_hp"]:
                cells[header.index("no_hp")] = int(row["no_hp"])  # the leading 0 is lost, as in Excel
        ws.append(cells)
    wb.save(path)
    return path


async def test_xlsx_with_excel_cell_types(ctx: AppContext, tmp_path: Path) -> None:
    header, rows = read_rows(ROSTER)
    path = _xlsx(with_wilayah(tmp_path) / "roster.xlsx", header, rows[:300], excel_types=True)
    result = await run_import(ctx, "roster", path)
    assert (result.new, result.rejected, result.exit_code) == (300, [], 0)
    async with ctx.session_factory() as session:
        rec = await recipients.get_by_nik(session, ctx.cipher, rows[0]["nik"])
        assert rec is not None
        assert rec.birth_date == date.fromisoformat(rows[0]["tanggal_lahir"])
        assert rec.phone == "+62" + rows[0]["no_hp"].lstrip("0")
    again = await run_import(ctx, "roster", path)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 300)


async def test_xlsx_faulty_rejects_the_same_lines_as_csv(ctx: AppContext, tmp_path: Path) -> None:
    header, rows = read_rows(FAULTY)
    path = _xlsx(with_wilayah(tmp_path) / "faulty.xlsx", header, rows, excel_types=False)
    result = await run_import(ctx, "roster", path)
    expected = [i + 2 for i, r in enumerate(rows) if r["expected"].startswith("reject")]
    assert sorted(r.line for r in result.rejected) == expected
    assert result.new == len(rows) - len(expected)
    assert result.warnings == ["kolom tidak dikenal diabaikan: EXPECTED"]


async def test_nik_is_encrypted_at_rest_and_found_by_blind_index(ctx: AppContext, settings) -> None:  # type: ignore[no-untyped-def]
    await run_import(ctx, "roster", ROSTER)
    _h, rows = read_rows(ROSTER)
    niks = [r["nik"] for r in rows]
    async with ctx.session_factory() as session:
        rec = await recipients.get_by_nik(session, ctx.cipher, niks[42])
        assert rec is not None
        assert rec.nik_hash == ctx.cipher.blind_index(niks[42])
        assert ctx.cipher.decrypt(rec.nik_encrypted) == niks[42]
        assert niks[42].encode() not in rec.nik_encrypted
        if using_postgres():
            dump = ""
            for table in ("recipients", "aid_packages", "aid_items", "audit_log"):
                dump += "\n".join(
                    (await session.execute(text(f"SELECT t::text FROM {table} t"))).scalars().all()
                )
            assert not [n for n in niks if n in dump]
    await ctx.engine.dispose()  # flush SQLite's WAL into the file
    if not using_postgres():
        blob = _sqlite_bytes(Path(settings.database.url.split("///", 1)[1]))
        assert not [n for n in niks if n.encode() in blob]


def _sqlite_bytes(path: Path) -> bytes:
    """The database file plus its write-ahead log, as stored on disk."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_missing_wilayah_without_file_aborts(ctx: AppContext, tmp_path: Path) -> None:
    from services.importer.errors import WilayahMissing

    header, rows = read_rows(ROSTER)
    path = write_rows(tmp_path / "roster.csv", header, rows[:5])
    with pytest.raises(WilayahMissing, match="uep import wilayah"):
        await run_import(ctx, "roster", path)


async def test_region_repository(ctx: AppContext) -> None:
    await run_import(ctx, "roster", ROSTER)
    async with ctx.session_factory() as session:
        kab = await regions.find_kabupaten(session, "  SAMARINDA ")
        assert kab is not None and kab.name == "Kota Samarinda"
        assert (await regions.find_kabupaten(session, "kab. paser")).name == "Paser"  # type: ignore[union-attr]
        kec = await regions.find_kecamatan(session, kab, "samarinda   ulu")
        assert kec is not None and kec.name == "Samarinda Ulu"
        assert await regions.find_kecamatan(session, kab, "Tanah Grogot") is None
        kukar = await regions.find_kabupaten(session, "Kutai Kartanegara")
        assert kukar is not None
        kota_bangun = await regions.find_kecamatan(session, kukar, "KOTA BANGUN")
        if kota_bangun is not None:  # a kecamatan whose name starts with "Kota" keeps it
            assert kota_bangun.name == "Kota Bangun"
        listed = await recipients.list_by_kecamatan(session, kec.id)
        assert listed and all(r.kecamatan_id == kec.id for r in listed)
        assert (await recipients.get_by_id(session, listed[0].id)) is listed[0]
        assert await recipients.get_by_nik(session, ctx.cipher, "0000000000000000") is None
