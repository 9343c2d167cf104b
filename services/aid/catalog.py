"""The aid catalog: per business type the items, unit, standard unit price and default quantity.

A CSV named by ``program.aid_catalog`` (columns ``jenis_usaha, barang, satuan, harga_satuan, jumlah``), read
once at start-up. A wrong file stops start-up with one line naming the key, the line and the problem; so does
a default package whose total lies outside ``program.aid_min``..``program.aid_max``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import ProgramSettings

COLUMNS = ("jenis_usaha", "barang", "satuan", "harga_satuan", "jumlah")


@dataclass(frozen=True, slots=True)
class PackageLine:
    """One line of a package: an item, its unit, the standard unit price (rupiah) and the quantity."""

    item: str
    unit: str
    unit_price: int
    quantity: int

    @property
    def value(self) -> int:
        return self.unit_price * self.quantity

    def as_dict(self) -> dict[str, object]:
        return {"item": self.item, "unit": self.unit, "unit_price": self.unit_price, "quantity": self.quantity}


def package_total(lines: Iterable[PackageLine]) -> int:
    return sum(line.value for line in lines)


@dataclass(frozen=True)
class AidCatalog:
    lines: dict[str, tuple[PackageLine, ...]]  # business type → its items, in catalog order

    def default_lines(self, business_type: str) -> tuple[PackageLine, ...]:
        return self.lines[business_type]

    def default_total(self, business_type: str) -> int:
        return package_total(self.lines[business_type])

    def find(self, business_type: str, item: str) -> PackageLine | None:
        key = " ".join(item.split()).casefold()
        return next((line for line in self.lines[business_type] if line.item.casefold() == key), None)


class PackageOutOfRange(ValueError):
    """A package whose total is not within program.aid_min..aid_max."""

    def __init__(self, total: int, aid_min: int, aid_max: int) -> None:
        super().__init__(f"total {total} outside {aid_min}..{aid_max}")
        self.total, self.aid_min, self.aid_max = total, aid_min, aid_max


def check_range(lines: Sequence[PackageLine], program: ProgramSettings) -> int:
    """The package total; raises :class:`PackageOutOfRange` when it is outside the program's range."""
    total = package_total(lines)
    if not program.aid_min <= total <= program.aid_max:
        raise PackageOutOfRange(total, program.aid_min, program.aid_max)
    return total


def _positive_int(text: str) -> int:
    cleaned = text.strip().replace(".", "").replace(",", "").replace("Rp", "").replace(" ", "")
    value = int(cleaned)
    if value <= 0:
        raise ValueError
    return value


def load_catalog(program: ProgramSettings) -> AidCatalog:
    from bot.config import BUSINESS_TYPE_CODES, ConfigError

    path = program.aid_catalog
    key = "program.aid_catalog"
    if path is None:
        raise ConfigError(f"{key}: not set")
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read {str(path)!r}: {exc.strerror or exc}") from None
    if not rows:
        raise ConfigError(f"{key}: {path} is empty")
    header = [h.strip().casefold() for h in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ConfigError(f"{key}: {path} lacks the column(s) {', '.join(missing)}")
    at = {c: header.index(c) for c in COLUMNS}
    lines: dict[str, list[PackageLine]] = {code: [] for code in BUSINESS_TYPE_CODES}
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {c: (row[i].strip() if i < len(row) else "") for c, i in at.items()}
        bt = cells["jenis_usaha"].casefold().replace(" ", "_")
        if bt not in lines:
            raise ConfigError(f"{key}: line {n}: unknown business type {cells['jenis_usaha']!r}")
        if not cells["barang"] or not cells["satuan"]:
            raise ConfigError(f"{key}: line {n}: barang and satuan must not be empty")
        try:
            price, quantity = _positive_int(cells["harga_satuan"]), _positive_int(cells["jumlah"])
        except ValueError:
            raise ConfigError(f"{key}: line {n}: harga_satuan and jumlah must be positive whole numbers") from None
        if any(line.item.casefold() == cells["barang"].casefold() for line in lines[bt]):
            raise ConfigError(f"{key}: line {n}: {cells['barang']!r} appears twice for {bt}")
        lines[bt].append(PackageLine(" ".join(cells["barang"].split()), cells["satuan"], price, quantity))
    for bt, items in lines.items():
        if not items:
            raise ConfigError(f"{key}: no items for business type {bt!r}")
        total = package_total(items)
        if not program.aid_min <= total <= program.aid_max:
            raise ConfigError(
                f"{key}: the default package of {bt} totals {rupiah(total)}, outside {rupiah(program.aid_min)}"
                f"–{rupiah(program.aid_max)}"
            )
    return AidCatalog({bt: tuple(items) for bt, items in lines.items()})


def rupiah(value: int) -> str:
    """Rp4.750.000 (Indonesian thousands separator)."""
    return "Rp" + f"{value:,}".replace(",", ".")
