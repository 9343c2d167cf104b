"""Numbers and dates in Indonesian words, as a berita acara writes them (terbilang)."""

from __future__ import annotations

from datetime import date

_ONES = ["", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan", "sepuluh", "sebelas"]
DAYS = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
MONTHS = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
          "November", "Desember"]


def terbilang(n: int) -> str:
    """4750000 → ``empat juta tujuh ratus lima puluh ribu`` (0 → ``nol``)."""
    if n < 0:
        return "minus " + terbilang(-n)
    if n == 0:
        return "nol"
    return _words(n).strip()


def _words(n: int) -> str:
    if n < 12:
        return _ONES[n]
    if n < 20:
        return f"{_ONES[n - 10]} belas"
    if n < 100:
        return f"{_ONES[n // 10]} puluh {_words(n % 10)}".strip()
    if n < 200:
        return f"seratus {_words(n - 100)}".strip()
    if n < 1000:
        return f"{_ONES[n // 100]} ratus {_words(n % 100)}".strip()
    if n < 2000:
        return f"seribu {_words(n - 1000)}".strip()
    for size, name in ((10**12, "triliun"), (10**9, "miliar"), (10**6, "juta"), (10**3, "ribu")):
        if n >= size:
            return f"{_words(n // size)} {name} {_words(n % size)}".strip()
    raise AssertionError(n)


def rupiah_words(n: int) -> str:
    """``Empat juta tujuh ratus lima puluh ribu rupiah``."""
    text = terbilang(n) + " rupiah"
    return text[0].upper() + text[1:]


def date_in_words(day: date) -> str:
    """``hari Selasa tanggal satu bulan Desember tahun dua ribu dua puluh enam``."""
    return (f"hari {DAYS[day.weekday()]} tanggal {terbilang(day.day)} bulan {MONTHS[day.month - 1]} "
            f"tahun {terbilang(day.year)}")


def date_long(day: date) -> str:
    """``1 Desember 2026``."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
