"""What every import shares: the result, rejected rows, column checks and the abort exceptions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from services.importer.errors import ImportAborted
from services.importer.reading import Table

T = TypeVar("T")


@dataclass(frozen=True)
class ColumnSpec:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def known(self) -> tuple[str, ...]:
        return self.required + self.optional


@dataclass
class Rejection:
    line: int
    cells: list[str]
    reasons: list[str]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    deactivated: int = 0

    @property
    def accepted(self) -> int:
        return self.new + self.updated + self.unchanged

    @property
    def exit_code(self) -> int:
        """0 all rows accepted, 1 some rejected (the rest imported), 2 nothing importable."""
        if self.rows == 0 or self.accepted == 0:
            return 2
        return 1 if self.rejected else 0

    def summary(self) -> str:
        prefix = "UJI COBA (--dry-run, tidak ada yang disimpan): " if self.dry_run else ""
        text = (
            f"{prefix}{self.kind}: {self.rows} baris dibaca — {self.new} baru, {self.updated} diperbarui, "
            f"{self.unchanged} tidak berubah, {len(self.rejected)} ditolak"
        )
        if self.deactivated:
            text += f", {self.deactivated} dinonaktifkan"
        return text

    def counts(self) -> dict[str, Any]:
        """For the audit log and logs: numbers only, no personal data."""
        return {
            "rows": self.rows,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": len(self.rejected),
            "deactivated": self.deactivated,
        }


class RowView:
    """One data row read by normalised column name; a column the file lacks reads as empty."""

    __slots__ = ("cells", "_index")

    def __init__(self, index: dict[str, int], cells: list[str]) -> None:
        self._index = index
        self.cells = cells

    def __getitem__(self, key: str) -> str:
        i = self._index.get(key)
        if i is None or i >= len(self.cells):
            return ""
        return self.cells[i]


def check_columns(table: Table, spec: ColumnSpec, *, what: str) -> tuple[dict[str, int], list[str]]:
    """Column positions of the known columns, and the warnings; raise :class:`ImportAborted` when a
    required column is missing or a column appears twice."""
    dupes = [k for k in table.duplicate_keys() if k in spec.known]
    if dupes:
        raise ImportAborted(f"kolom {dupes[0]!r} muncul dua kali di baris judul; hapus salah satunya")
    positions = table.column_index()
    missing = [c for c in spec.required if c not in positions]
    if missing:
        found = ", ".join(h for h in table.headers if h) or "(kosong)"
        raise ImportAborted(
            f"file {what} tidak punya kolom wajib: {', '.join(missing)} "
            f"(kolom yang ada: {found}); perbaiki baris judul lalu impor lagi"
        )
    unknown = [h for h, k in zip(table.headers, table.keys, strict=True) if k not in spec.known and h]
    warnings = [f"kolom tidak dikenal diabaikan: {', '.join(unknown)}"] if unknown else []
    return {k: positions[k] for k in spec.known if k in positions}, warnings


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def progress_bar(enabled: bool, total: int, desc: str) -> Iterator[Any]:
    """A tqdm bar on stderr, or a no-op when disabled (not a terminal, tests)."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="baris", disable=not enabled, leave=False, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()


def first(items: Iterable[T]) -> T | None:
    return next(iter(items), None)
