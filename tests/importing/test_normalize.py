"""Field normalisers and file reading: what people type, in all its variety."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ProgramSettings
from db.repositories.regions import RegionIndex
from services.importer import normalize as norm
from services.importer.reading import header_key, read_table

# An Indonesian mobile number after the country code: 8, then 8-11 more digits.
nationals = st.builds(lambda rest: "8" + rest, st.text(alphabet="0123456789", min_size=8, max_size=11))
separators = st.sampled_from(["", " ", "-", "  ", " - ", "."])


@st.composite
def typed_variants(draw: st.DrawFn) -> tuple[str, str]:
    national = draw(nationals)
    prefix = draw(st.sampled_from(["0", "+62", "62", "+62 ", "62 ", "+62-", "(+62) ", "+620", ""]))
    out = []
    for ch in national:
        out.append(ch)
        if draw(st.booleans()):
            out.append(draw(separators))
    return (
        national,
        f"{draw(st.sampled_from(['', ' ']))}{prefix}{''.join(out)}{draw(st.sampled_from(['', ' ']))}",
    )


@given(typed_variants())
def test_every_formatting_of_a_number_normalises_to_the_same_e164(case: tuple[str, str]) -> None:
    national, typed = case
    assert norm.phone(typed) == "+62" + national


@given(nationals, st.lists(st.sampled_from(["0", "+62", "62"]), min_size=2, max_size=3))
def test_variants_agree(national: str, prefixes: list[str]) -> None:
    assert len({norm.phone(p + national) for p in prefixes}) == 1


@given(st.text(alphabet="0123456789", min_size=1, max_size=7))
def test_short_numbers_are_rejected_without_showing_the_number(digits: str) -> None:
    with pytest.raises(norm.Invalid) as exc:
        norm.phone(digits)
    assert digits not in str(exc.value) or len(digits) == 1


def test_empty_phone_is_none() -> None:
    assert norm.phone("") is None and norm.phone("   ") is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("6472050809768748", "6472050809768748"),
        (" 6472 0508 0976 8748 ", "6472050809768748"),
        ("'6472050809768748", "6472050809768748"),
    ],
)
def test_nik_accepted(typed: str, expected: str) -> None:
    assert norm.nik(typed) == expected


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "NIK kosong"),
        ("123", "(ada 3)"),
        ("64720508097687481", "(ada 17)"),
        ("6.47205E+15", "format angka Excel"),
        ("647205080976874A", "ada huruf"),
    ],
)
def test_nik_rejected(typed: str, reason: str) -> None:
    with pytest.raises(norm.Invalid, match=reason.replace("(", r"\(").replace(")", r"\)")):
        norm.nik(typed)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1980-02-29", date(1980, 2, 29)),
        ("1980/2/3", date(1980, 2, 3)),
        ("03-02-1980", date(1980, 2, 3)),
        ("2025-08-05 00:00:00", date(2025, 8, 5)),
    ],
)
def test_dates(typed: str, expected: date) -> None:
    assert norm.a_date(typed, "tanggal", required=True) == expected


@pytest.mark.parametrize("typed", ["1981-02-29", "2025-13-01", "2025-04-31", "kemarin", "5 Mei 1980"])
def test_bad_dates(typed: str) -> None:
    with pytest.raises(norm.Invalid):
        norm.a_date(typed, "tanggal", required=True)


def test_future_date_rejected() -> None:
    with pytest.raises(norm.Invalid, match="belum terjadi"):
        norm.a_date("2030-01-01", "tanggal bantuan", required=False, not_after=date(2026, 3, 2))


def test_business_types_as_codes_or_words() -> None:
    program = ProgramSettings()
    lookup = norm.business_type_lookup(program.business_types)
    for typed, code in [
        ("Ternak Ayam", "ternak_ayam"),
        ("ternak_ayam", "ternak_ayam"),
        (" BENGKEL  motor", "bengkel_motor"),
        ("bengkel-motor", "bengkel_motor"),
        ("Kue", "kue"),
        ("Fried snacks", "gorengan"),
    ]:
        assert norm.business_type(typed, lookup, "") == code
    with pytest.raises(norm.Invalid, match="tidak dikenal"):
        norm.business_type("warung kopi", lookup, "")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("4500000", 4_500_000),
        ("4.750.000", 4_750_000),
        ("Rp 5.000.000,00", 5_000_000),
        ("4,500,000", 4_500_000),
    ],
)
def test_aid_values(typed: str, expected: int) -> None:
    assert norm.aid_value(typed, 4_500_000, 5_000_000) == expected


def test_names_sex_pkh() -> None:
    assert norm.person_name("  Nur'aini   Ma’ruf ") == "Nur'aini Ma’ruf"
    assert norm.sex(" p ") == "P" and norm.sex("Laki-laki") == "L"
    assert norm.yes_no("y", "pkh") is True and norm.yes_no("T", "pkh") is False
    with pytest.raises(norm.Invalid, match="isi Y atau T"):
        norm.yes_no("mungkin", "pkh")


def test_region_matching() -> None:
    index = RegionIndex()
    index.add_kabupaten(1, "Kota Samarinda")
    index.add_kabupaten(2, "Kutai Kartanegara")
    index.add_kabupaten(3, "Paser")
    index.add_kecamatan(10, "Palaran", 1)
    index.add_kecamatan(20, "Kota Bangun", 2)
    index.add_kecamatan(30, "Tanah Grogot", 3)
    assert norm.kecamatan_id(index, "SAMARINDA", "  palaran ") == 10
    assert norm.kecamatan_id(index, "kota  samarinda", "Palaran") == 10
    assert norm.kecamatan_id(index, "kutai kartanegara", "KOTA BANGUN") == 20
    assert norm.kecamatan_id(index, "Kab. Paser", "Kec. Tanah Grogot") == 30
    with pytest.raises(norm.Invalid, match="tidak ada di Kota Samarinda \\(kecamatan itu ada di Paser\\)"):
        norm.kecamatan_id(index, "Samarinda", "Tanah Grogot")
    with pytest.raises(norm.Invalid, match="tidak ada di daftar wilayah"):
        norm.kecamatan_id(index, "Jakarta", "Gambir")
    index.add_kabupaten(4, "Kabupaten Samarinda")  # hypothetical kabupaten and kota of the same name
    with pytest.raises(norm.Invalid, match="bisa berarti"):
        norm.kecamatan_id(index, "Samarinda", "Palaran")


def test_headers_match_regardless_of_case_and_spacing(tmp_path: Path) -> None:
    assert header_key(" Jenis  Kelamin ") == "jenis_kelamin"
    assert header_key("No. HP") == "no_hp"
    assert header_key("\ufeffNIK") == "nik"
    path = tmp_path / "semicolon.csv"
    path.write_bytes("NIK;Nama\r\n6472050809768748;Ana\r\n;\r\n6472050809768749;Bu\xe9\r\n".encode("cp1252"))
    table = read_table(path)
    assert table.keys == ["nik", "nama"]
    assert [line for line, _ in table.rows] == [2, 4]  # the blank line 3 is skipped but counted
    assert table.rows[1][1][1] == "Bué"
