"""Field normalisers: what people really type → clean values, or :class:`Invalid` with a reason a Dissos
clerk understands (Indonesian). Reasons never contain a NIK or a phone number, so they may be printed."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import date

from bot.config import BusinessType
from db.enums import Sex, WorkerRole
from db.repositories.regions import RegionIndex
from services.phone import InvalidPhone, normalize_phone

NIK_LENGTH = 16
_SPACES = re.compile(r"\s+")
_NON_DIGITS = re.compile(r"\D")
_EXCEL_SCIENTIFIC = re.compile(r"^\d([.,]\d+)?[eE]\+?\d+$")
_ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]00:00(?::00)?)?$")
_DMY_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_GROUPED = re.compile(r"^\d{1,3}([.,]\d{3})+$")
_CODE_JUNK = re.compile(r"[\s\-_]+")
_HAS_LETTER = re.compile(r"[^\W\d_]")

BULAN = (
    "",
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)

_SEX = {
    "l": Sex.MALE,
    "lk": Sex.MALE,
    "laki-laki": Sex.MALE,
    "laki laki": Sex.MALE,
    "p": Sex.FEMALE,
    "pr": Sex.FEMALE,
    "perempuan": Sex.FEMALE,
    "wanita": Sex.FEMALE,
    "pria": Sex.MALE,
}
_YES = {"y", "ya", "yes", "1"}
_NO = {"t", "tidak", "n", "no", "0"}
_ROLES = {"tksk": WorkerRole.TKSK, "psm": WorkerRole.PSM}


class Invalid(ValueError):
    """A value that cannot be accepted; ``str(exc)`` is the reason for the clerk."""


def clean(value: str) -> str:
    """Trim and collapse inner whitespace (including non-breaking spaces); case is kept as given."""
    return _SPACES.sub(" ", value.replace("\u00a0", " ")).strip()


def text(value: str, label: str, *, max_len: int, required: bool = False) -> str:
    value = clean(value)
    if required and not value:
        raise Invalid(f"{label} kosong")
    if len(value) > max_len:
        raise Invalid(f"{label} terlalu panjang ({len(value)} huruf, paling banyak {max_len})")
    return value


def person_name(value: str, *, max_len: int = 200) -> str:
    name = text(value, "nama", max_len=max_len, required=True)
    if not _HAS_LETTER.search(name):
        raise Invalid(f"nama '{name}' tidak berisi huruf")
    return name


def nik(value: str) -> str:
    """Exactly 16 digits. Spaces and Excel's leading apostrophe are removed first."""
    raw = _SPACES.sub("", value).lstrip("'")
    if not raw:
        raise Invalid("NIK kosong")
    if _EXCEL_SCIENTIFIC.match(raw):
        raise Invalid(
            "NIK rusak oleh format angka Excel (tertulis seperti 6,47E+15); format kolom NIK sebagai Teks"
        )
    if not raw.isdigit() or not raw.isascii():
        raise Invalid(f"NIK harus {NIK_LENGTH} digit angka (ada huruf atau tanda lain)")
    if len(raw) != NIK_LENGTH:
        raise Invalid(f"NIK harus {NIK_LENGTH} digit angka (ada {len(raw)})")
    return raw


def sex(value: str) -> str:
    key = clean(value).casefold()
    if not key:
        raise Invalid("jenis kelamin kosong (isi L atau P)")
    if key not in _SEX:
        raise Invalid(f"jenis kelamin '{clean(value)}' tidak dikenal (isi L atau P)")
    return _SEX[key].value


def yes_no(value: str, label: str) -> bool:
    key = clean(value).casefold()
    if key in _YES:
        return True
    if key in _NO:
        return False
    if not key:
        raise Invalid(f"{label} kosong (isi Y atau T)")
    raise Invalid(f"{label} '{clean(value)}' tidak dikenal (isi Y atau T)")


def a_date(
    value: str,
    label: str,
    *,
    required: bool,
    not_before: date | None = None,
    not_after: date | None = None,
) -> date | None:
    """``YYYY-MM-DD`` (also ``/`` or ``.``); Indonesian day-first ``DD-MM-YYYY`` is understood too.
    A date that does not exist (31 February) is rejected, as is one outside ``not_before..not_after``."""
    raw = clean(value)
    if not raw:
        if required:
            raise Invalid(f"{label} kosong")
        return None
    if m := _ISO_DATE.match(raw):
        y, mo, d = (int(g) for g in m.groups())
    elif m := _DMY_DATE.match(raw):
        d, mo, y = (int(g) for g in m.groups())
    else:
        raise Invalid(f"{label} '{raw}' tidak dikenali; tulis TTTT-BB-HH, misalnya 1980-02-28")
    if not 1 <= mo <= 12:
        raise Invalid(f"{label} '{raw}' tidak ada di kalender (bulan {mo} tidak ada)")
    last = calendar.monthrange(y, mo)[1]
    if not 1 <= d <= last:
        raise Invalid(f"{label} '{raw}' tidak ada di kalender ({BULAN[mo]} {y} hanya sampai tanggal {last})")
    result = date(y, mo, d)
    if not_before is not None and result < not_before:
        raise Invalid(f"{label} '{raw}' tidak masuk akal (sebelum {not_before.isoformat()})")
    if not_after is not None and result > not_after:
        raise Invalid(f"{label} '{raw}' belum terjadi (sesudah hari ini, {not_after.isoformat()})")
    return result


def phone(value: str) -> str | None:
    """Any way people write an Indonesian mobile number → E.164 ``+628…``; empty → None."""
    raw = clean(value)
    if not raw:
        return None
    digits = _NON_DIGITS.sub("", raw)
    national = digits[2:] if digits.startswith("62") else digits
    national = national.lstrip("0")
    if digits and len(national) < 9:
        raise Invalid(f"nomor HP terlalu pendek ({len(digits)} angka)")
    if len(national) > 12:
        raise Invalid(f"nomor HP terlalu panjang ({len(digits)} angka)")
    try:
        return normalize_phone(raw)
    except InvalidPhone as exc:
        raise Invalid(str(exc)) from None


def code_key(value: str) -> str:
    """``' Ternak  Ayam '`` / ``ternak-ayam`` / ``TERNAK_AYAM`` → ``ternak_ayam``."""
    return _CODE_JUNK.sub("_", value.strip().casefold()).strip("_")


def business_type_lookup(types: Mapping[str, BusinessType]) -> dict[str, str]:
    """Every accepted spelling key → business type code (codes, Indonesian and English labels)."""
    lookup: dict[str, str] = {}
    for code, bt in types.items():
        for spelling in (code, bt.label_id, bt.label_en):
            lookup.setdefault(code_key(spelling), code)
    return lookup


def business_type(value: str, lookup: Mapping[str, str], choices: str) -> str:
    raw = clean(value)
    if not raw:
        raise Invalid("jenis usaha kosong")
    code = lookup.get(code_key(raw))
    if code is None:
        raise Invalid(f"jenis usaha '{raw}' tidak dikenal (pilihan: {choices})")
    return code


def rupiah_text(amount: int) -> str:
    return "Rp" + f"{amount:,}".replace(",", ".")


def rupiah(value: str, label: str) -> int:
    """``4500000``, ``4.500.000``, ``4,500,000``, ``Rp 4.500.000,00`` → 4500000."""
    raw = clean(value)
    if not raw:
        raise Invalid(f"{label} kosong")
    amount = re.sub(r"^rp\.?\s*", "", raw.casefold()).replace(" ", "")
    amount = re.sub(r"[.,]0{1,2}$", "", amount) if not _GROUPED.match(amount) else amount
    if _GROUPED.match(amount):
        amount = amount.replace(".", "").replace(",", "")
    if not amount.isdigit():
        raise Invalid(f"{label} '{raw}' bukan angka rupiah")
    return int(amount)


def aid_value(value: str, lo: int, hi: int) -> int:
    amount = rupiah(value, "nilai bantuan")
    if not lo <= amount <= hi:
        raise Invalid(
            f"nilai bantuan {rupiah_text(amount)} di luar batas program ({rupiah_text(lo)}–{rupiah_text(hi)})"
        )
    return amount


def worker_role(value: str) -> str:
    key = clean(value).casefold()
    if not key:
        raise Invalid("peran kosong (isi TKSK atau PSM)")
    if key not in _ROLES:
        raise Invalid(f"peran '{clean(value)}' tidak dikenal (isi TKSK atau PSM)")
    return _ROLES[key].value


def kecamatan_id(index: RegionIndex, kabupaten: str, kecamatan: str) -> int:
    """The kecamatan meant by a typed kabupaten/kota + kecamatan pair, or :class:`Invalid` saying why not."""
    kab_raw, kec_raw = clean(kabupaten), clean(kecamatan)
    if not kab_raw:
        raise Invalid("kabupaten/kota kosong")
    kab = index.kabupaten(kab_raw)
    if kab is None:
        raise Invalid(f"kabupaten/kota '{kab_raw}' tidak ada di daftar wilayah")
    if isinstance(kab, list):
        names = " atau ".join(k.name for k in kab)
        raise Invalid(f"kabupaten/kota '{kab_raw}' bisa berarti {names}; tulis nama lengkapnya")
    if not kec_raw:
        raise Invalid("kecamatan kosong")
    kec = index.kecamatan(kab.id, kec_raw)
    if kec is None:
        elsewhere = [name for name in index.kabupaten_having(kec_raw) if name != kab.name]
        hint = f" (kecamatan itu ada di {', '.join(elsewhere)})" if elsewhere else ""
        raise Invalid(f"kecamatan '{kec_raw}' tidak ada di {kab.name}{hint}")
    return kec.id
