"""Every row of sample-roster-faulty.csv: accepted (and normalised) or rejected for the reason it states."""

from __future__ import annotations

from datetime import date

import pytest

from bot.context import AppContext
from db.repositories import recipients
from services.importer.common import ImportResult
from tests.importing.conftest import FAULTY, read_rows, run_import

_HEADER, FAULTY_ROWS = read_rows(FAULTY)

# The file's English reason → the Indonesian reason the clerk must see.
REASONS = {
    "NIK has 15 digits": "NIK harus 16 digit angka (ada 15)",
    "NIK has letters": "NIK harus 16 digit angka (ada huruf",
    "unknown business type": "jenis usaha 'warung kopi' tidak dikenal",
    "unknown kecamatan": "kecamatan 'Kecamatan Fiktif' tidak ada di Paser",
    "kecamatan not in kabupaten": "kecamatan 'Tanah Grogot' tidak ada di Kota Samarinda",
    "impossible date": "tanggal lahir '31-02-1980' tidak ada di kalender",
    "phone too short": "nomor HP terlalu pendek",
    "empty name": "nama kosong",
    "aid value far outside 4.5-5 million": "nilai bantuan Rp50.000.000 di luar batas program",
    "unknown sex code": "jenis kelamin 'X' tidak dikenal",
    "second row with the NIK of an earlier row in this file": "NIK sama dengan baris 2",
}


def _cases() -> list[object]:
    cases = []
    for i, row in enumerate(FAULTY_ROWS):
        verdict, _, why = row["expected"].partition(": ")
        cases.append(pytest.param(i + 2, row, verdict, why, id=f"line{i + 2}-{verdict}-{why[:40]}"))
    return cases


@pytest.fixture
async def faulty_import(ctx: AppContext) -> ImportResult:
    return await run_import(ctx, "roster", FAULTY)


def test_every_expected_reason_is_mapped() -> None:
    whys = {row["expected"].partition(": ")[2] for row in FAULTY_ROWS if row["expected"].startswith("reject")}
    assert whys <= set(REASONS), whys - set(REASONS)


@pytest.mark.parametrize(("line", "row", "verdict", "why"), _cases())
async def test_faulty_row(
    ctx: AppContext, faulty_import: ImportResult, line: int, row: dict[str, str], verdict: str, why: str
) -> None:
    rejected = {r.line: r for r in faulty_import.rejected}
    if verdict == "reject":
        assert line in rejected, f"line {line} should be rejected: {why}"
        rejection = rejected[line]
        assert rejection.reasons == [rejection.reasons[0]], f"only the stated fault: {rejection.reasons}"
        assert REASONS[why] in rejection.reason
        # Reasons are printed: they must never carry the NIK or the phone number.
        assert row["nik"] not in rejection.reason
        if row["no_hp"]:
            assert row["no_hp"] not in rejection.reason
        return

    assert verdict == "accept"
    assert line not in rejected, rejected.get(line)
    async with ctx.session_factory() as session:
        rec = await recipients.get_by_nik(session, ctx.cipher, row["nik"])
        assert rec is not None
        assert rec.name == " ".join(row["nama"].split())
        assert rec.kecamatan.name.casefold() == " ".join(row["kecamatan"].split()).casefold()
        assert rec.aid_value == int(row["nilai_bantuan"])
        if "+62 and dashes" in why:
            assert rec.phone == "+6289549954283"
        if "trailing spaces" in why:
            assert rec.kecamatan.name == "Batu Sopang"
            assert rec.phone is None
        if "kota without prefix" in why:
            assert rec.kecamatan.kabupaten.name == "Kota Samarinda"
            assert rec.kecamatan.name == "Palaran"
            assert rec.aid_date is None
        if "apostrophes" in why:
            assert rec.name == "Nur'aini Ma’ruf"
        if "business type as words" in why:
            assert rec.business_type == "ternak_ayam"
        if "first row of a NIK" in why:
            assert rec.name == "Budi Hang"  # not "Nama Lain" from the repeated row
            assert rec.birth_date == date(1976, 9, 8)
            assert rec.pkh is True


async def test_faulty_totals(faulty_import: ImportResult) -> None:
    accepts = sum(1 for r in FAULTY_ROWS if r["expected"].startswith("accept"))
    assert faulty_import.new == accepts
    assert len(faulty_import.rejected) == len(FAULTY_ROWS) - accepts
    assert faulty_import.exit_code == 1
    assert faulty_import.warnings == ["kolom tidak dikenal diabaikan: expected"]
