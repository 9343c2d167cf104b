"""Read a CSV or XLSX file into a header and rows of text, with the line number of every row.

CSV: UTF-8 (with or without BOM), falling back to Windows-1252 as Excel writes it; the delimiter
(``,``, ``;`` or tab) is taken from the header line. XLSX: the first sheet, read with openpyxl in
read-only mode; numbers and dates come back as the text a person would have typed.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from services.importer.errors import FileUnreadable

_HEADER_JUNK = re.compile(r"[^0-9a-z]+")

# A few header spellings found in real exports; everything else must match after normalisation.
HEADER_ALIASES = {
    "kabupaten_kota": "kabupaten",
    "kab_kota": "kabupaten",
    "nomor_hp": "no_hp",
    "no_telp": "no_hp",
    "no_telepon": "no_hp",
}


def header_key(text: str) -> str:
    """``' Jenis  Kelamin '`` → ``jenis_kelamin``; ``No. HP`` → ``no_hp``."""
    key = _HEADER_JUNK.sub("_", text.replace("\ufeff", "").strip().casefold()).strip("_")
    return HEADER_ALIASES.get(key, key)


@dataclass
class Table:
    """A file's header (as written and normalised) and its non-empty data rows."""

    path: Path
    headers: list[str]
    keys: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (line number, cells)

    def column_index(self) -> dict[str, int]:
        """Normalised header → position (the first one when a header repeats)."""
        index: dict[str, int] = {}
        for i, key in enumerate(self.keys):
            if key:
                index.setdefault(key, i)
        return index

    def duplicate_keys(self) -> list[str]:
        seen: set[str] = set()
        dupes = []
        for key in self.keys:
            if key and key in seen and key not in dupes:
                dupes.append(key)
            seen.add(key)
        return dupes


def read_table(path: str | Path) -> Table:
    path = Path(path)
    if not path.exists():
        raise FileUnreadable(f"file {str(path)!r} tidak ditemukan")
    if not path.is_file():
        raise FileUnreadable(f"{str(path)!r} bukan file")
    suffix = path.suffix.casefold()
    if suffix == ".xls":
        raise FileUnreadable("format .xls (Excel lama) tidak didukung; simpan ulang sebagai .xlsx atau .csv")
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise FileUnreadable(f"file {str(path)!r} tidak bisa dibuka: {exc.strerror}") from None
    if suffix in (".xlsx", ".xlsm") or magic == b"PK\x03\x04":
        return _read_xlsx(path)
    return _read_csv(path)


def _decode(raw: bytes) -> str:
    if b"\x00" in raw[:4096]:
        raise FileUnreadable("file ini bukan CSV teks (isinya biner); simpan sebagai .csv atau .xlsx")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _read_csv(path: Path) -> Table:
    try:
        text = _decode(path.read_bytes())
    except OSError as exc:
        raise FileUnreadable(f"file {str(path)!r} tidak bisa dibaca: {exc.strerror}") from None
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headers = next(reader)
    except StopIteration:
        raise FileUnreadable("file kosong: tidak ada baris judul kolom") from None
    except csv.Error as exc:
        raise FileUnreadable(f"file CSV rusak di baris 1: {exc}") from None
    table = Table(path, [h.replace("\ufeff", "").strip() for h in headers], [header_key(h) for h in headers])
    line = reader.line_num
    try:
        for cells in reader:
            start, line = line + 1, reader.line_num
            if any(c.strip() for c in cells):
                table.rows.append((start, cells))
    except csv.Error as exc:
        raise FileUnreadable(f"file CSV rusak sekitar baris {line + 1}: {exc}") from None
    return table


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "Y" if value else "T"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _read_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException ...
        raise FileUnreadable(f"file Excel {path.name!r} tidak bisa dibaca ({type(exc).__name__})") from None
    try:
        ws = wb.worksheets[0] if wb.worksheets else None
        if ws is None:
            raise FileUnreadable("file Excel tidak berisi sheet")
        rows = ws.iter_rows(min_row=1, values_only=True)
        header_cells = next(rows, None)
        if header_cells is None or not any(c is not None and str(c).strip() for c in header_cells):
            raise FileUnreadable("sheet pertama kosong: baris 1 harus berisi judul kolom")
        headers = [_cell_text(c).strip() for c in header_cells]
        # Trailing empty header cells are formatting, not columns.
        while headers and not headers[-1]:
            headers.pop()
        table = Table(path, headers, [header_key(h) for h in headers])
        for line, values in enumerate(rows, start=2):
            cells = [_cell_text(v) for v in values[: len(headers)]]
            if any(c.strip() for c in cells):
                table.rows.append((line, cells))
        return table
    finally:
        wb.close()
