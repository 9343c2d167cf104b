"""Slice 1 of issue #19: the aid catalog (standard prices, the Rp4.5–5 million rule) and the candidate import
(same validation report, exit codes and idempotence as the roster import)."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import ConfigError, load_settings
from bot.context import AppContext
from db.enums import CandidateStage
from db.models import AidPackage, AuditLog, Candidate, CandidateEvent, Recipient
from services.aid.catalog import PackageLine, PackageOutOfRange, check_range, rupiah
from services.aid.packages import default_items, set_lines, with_quantity
from services.clock import FrozenClock
from services.importer.candidates import import_candidates
from services.importer.reading import read_table
from tests import factories
from tests.conftest import SHARED_DATA
from tests.importing.conftest import read_rows, with_wilayah, write_rows

CANDIDATES = SHARED_DATA / "sample-candidates.csv"
CATALOG = SHARED_DATA / "aid-catalog.csv"
CONFIG = Path(__file__).resolve().parents[2] / "config.toml"


async def run_candidates(ctx: AppContext, path: Path, *, dry_run: bool = False):  # type: ignore[no-untyped-def]
    async with ctx.session_factory() as session:
        result = await import_candidates(session, read_table(path), program=ctx.settings.program,
                                         cipher=ctx.cipher, clock=ctx.clock, dry_run=dry_run)
        if dry_run or result.exit_code == 2:
            await session.rollback()
        else:
            await session.commit()
    return result


def test_catalog_from_configuration_has_every_type_at_standard_prices() -> None:
    s = load_settings(CONFIG)
    catalog = s.program.catalog
    with CATALOG.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert sum(len(catalog.default_lines(bt)) for bt in s.program.business_types) == len(rows) == 39
    oven = catalog.find("kue", "Oven gas")
    assert oven == PackageLine("Oven gas", "unit", 1_400_000, 1)
    chicks = catalog.find("ternak_ayam", "bibit ayam kampung (doc)")
    assert chicks is not None and chicks.value == 12_000 * 100
    for bt in s.program.business_types:
        assert 4_500_000 <= catalog.default_total(bt) <= 5_000_000
    assert catalog.default_total("gorengan") == 4_600_000


def test_a_catalog_whose_default_package_is_out_of_range_stops_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = CATALOG.read_text(encoding="utf-8").replace("kue,Oven gas,unit,1400000,1", "kue,Oven gas,unit,2400000,1")
    bad = tmp_path / "catalog.csv"
    bad.write_text(text, encoding="utf-8")
    monkeypatch.setenv("UEP_PROGRAM__AID_CATALOG", str(bad))
    with pytest.raises(ConfigError) as err:
        load_settings(CONFIG)
    assert str(err.value) == "program.aid_catalog: the default package of kue totals Rp5.750.000, outside " \
                             "Rp4.500.000–Rp5.000.000"
    bad.write_text(text.replace("2400000", "banyak"), encoding="utf-8")
    with pytest.raises(ConfigError, match="line 29: harga_satuan and jumlah must be positive whole numbers"):
        load_settings(CONFIG)


async def test_package_outside_the_range_is_refused_with_its_sum(ctx: AppContext) -> None:
    program = ctx.settings.program
    lines = list(program.catalog.default_lines("ternak_ayam"))
    assert check_range(lines, program) == 4_830_000
    more = with_quantity(lines, "Pakan awal 50 kg", 5)  # +420,000 → 5,250,000
    with pytest.raises(PackageOutOfRange) as err:
        check_range(more, program)
    assert err.value.total == 5_250_000 and rupiah(err.value.total) == "Rp5.250.000"
    async with ctx.session_factory.begin() as s:
        r = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, business_type="ternak_ayam",
                                      aid_date=None)
        package = await s.scalar(select(AidPackage).where(AidPackage.recipient_id == r.id))
        assert package is not None
        await s.refresh(package, ["items"])
        before = [(i.name, i.quantity) for i in package.items]
        with pytest.raises(PackageOutOfRange):
            await set_lines(s, package, more, program=program)
        assert [(i.name, i.quantity) for i in package.items] == before  # nothing half-written
        fewer = with_quantity(lines, "Tempat makan dan minum", 3)  # −80,000 → 4,750,000
        assert await set_lines(s, package, fewer, program=program) == 4_750_000
        assert package.value == 4_750_000
    assert [i.position for i in default_items(program, "kue")] == list(range(1, 8))


async def test_sample_candidates_import_then_twice_changes_nothing(ctx: AppContext, clock: FrozenClock) -> None:
    result = await run_candidates(ctx, CANDIDATES)
    assert (result.rows, result.new, len(result.rejected), result.exit_code) == (2000, 2000, 0, 0)
    async with ctx.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Candidate)) == 2000
        stages = set(await s.scalars(select(Candidate.stage)))
        assert stages == {CandidateStage.CANDIDATE}
        events = list(await s.scalars(select(CandidateEvent).limit(3)))
        assert all(e.action == "imported" and e.to_stage == "candidate" and e.actor == "cli" for e in events)
        assert await s.scalar(select(func.count()).select_from(CandidateEvent)) == 2000
        _h, rows = read_rows(CANDIDATES)
        first = await s.scalar(select(Candidate).where(Candidate.nik_hash == ctx.cipher.blind_index(rows[0]["nik"])))
        assert first is not None
        assert (first.name, first.phone, first.preferred_business_type, first.kecamatan.name) == (
            "Baharuddin Bilung", "+6285730911417", "makanan", "Muara Pahu")
        assert ctx.cipher.decrypt(first.nik_encrypted) == rows[0]["nik"]
        audit = (await s.scalars(select(AuditLog).where(AuditLog.action == "import.candidates"))).one()
        assert audit.details and audit.details["new"] == 2000
    clock.advance(timedelta(hours=1))
    again = await run_candidates(ctx, CANDIDATES)
    assert (again.new, again.updated, again.unchanged, again.exit_code) == (0, 0, 2000, 0)
    async with ctx.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(CandidateEvent)) == 2000


async def test_faulty_rows_and_a_recipient_are_refused_the_rest_imported(
    ctx: AppContext, tmp_path: Path
) -> None:
    with_wilayah(tmp_path)
    header, rows = read_rows(CANDIDATES)
    sample = [dict(r) for r in rows[:6]]
    sample[1]["nik"] = "12345"
    sample[2]["usaha_diminati"] = "Salon"
    sample[3]["usaha_diminati"] = ""
    sample[4]["tanggal_lahir"] = "31-02-1980"
    first = await run_candidates(ctx, write_rows(tmp_path / "c.csv", header, sample[:1]))
    assert first.exit_code == 0
    async with ctx.session_factory.begin() as s:  # someone already in the program
        kec = await factories.region(s, "Kutai Timur", "Teluk Pandan")
        await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=kec, nik=sample[5]["nik"])
    result = await run_candidates(ctx, write_rows(tmp_path / "c2.csv", header, sample))
    by_line = {r.line: r.reason for r in result.rejected}
    assert set(by_line) == {3, 4, 6, 7}
    assert "NIK" in by_line[3] and "16 digit" in by_line[3]
    assert by_line[4].startswith("jenis usaha 'Salon' tidak dikenal")
    assert "tanggal lahir" in by_line[6]
    assert by_line[7] == "NIK ini sudah terdaftar sebagai penerima bantuan; calon tidak bisa didaftarkan lagi"
    assert (result.new, result.unchanged, result.exit_code) == (1, 1, 1)
    async with ctx.session_factory() as s:
        kinds = list(await s.scalars(select(Candidate.preferred_business_type).order_by(Candidate.id)))
        assert kinds == [rows[0]["usaha_diminati"], None]
        assert await s.scalar(select(func.count()).select_from(Recipient)) == 1


async def test_dry_run_writes_nothing_and_nothing_valid_is_exit_2(ctx: AppContext, tmp_path: Path) -> None:
    with_wilayah(tmp_path)
    header, rows = read_rows(CANDIDATES)
    dry = await run_candidates(ctx, write_rows(tmp_path / "d.csv", header, rows[:20]), dry_run=True)
    assert (dry.new, dry.exit_code, dry.dry_run) == (20, 0, True)
    bad = [dict(r, nik="1") for r in rows[:3]]
    nothing = await run_candidates(ctx, write_rows(tmp_path / "bad.csv", header, bad))
    assert (nothing.accepted, nothing.exit_code) == (0, 2)
    async with ctx.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Candidate)) == 0


def test_cli_import_candidates_report_and_exit_codes(uep, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    header, rows = read_rows(CANDIDATES)
    sample = [dict(r) for r in rows[:5]]
    sample[2]["jenis_kelamin"] = "X"
    path = write_rows(with_wilayah(tmp_path) / "calon.csv", header, sample)
    report = tmp_path / "ditolak.csv"
    out = uep("import", "candidates", str(path), "--report", str(report))
    assert out.exit_code == 1, out.output
    assert "baris 4:" in out.output and "calon: 5 baris dibaca — 4 baru" in out.output
    with report.open(encoding="utf-8-sig") as fh:
        rejected = list(csv.DictReader(fh))
    assert [r["baris"] for r in rejected] == ["4"] and rejected[0]["nik"] == sample[2]["nik"]
    again = uep("import", "candidates", str(path), "--report", str(report))
    assert again.exit_code == 1 and "0 baru, 0 diperbarui, 4 tidak berubah, 1 ditolak" in again.output
    ok = uep("import", "candidates", str(write_rows(tmp_path / "ok.csv", header, rows[5:8])))
    assert ok.exit_code == 0, ok.output
