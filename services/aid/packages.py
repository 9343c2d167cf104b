"""Aid packages at standard prices: the catalog's default package, adjusted for one person by staff.

A package's total must lie within ``program.aid_min``..``program.aid_max`` (Rp4.5–5 million); one outside is
refused with its sum, and nothing is written.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.config import ProgramSettings
from db.models import AidItem, AidPackage, Handover, Recipient
from services.aid.catalog import PackageLine, check_range, rupiah


class PackageLocked(ValueError):
    """The package was handed over already; it can no longer change."""


def default_lines(program: ProgramSettings, business_type: str) -> tuple[PackageLine, ...]:
    if program.aid_catalog is not None:
        return program.catalog.default_lines(business_type)
    return tuple(PackageLine(name, "paket", 0, 1) for name in program.business_types[business_type].items)


def _item(position: int, line: PackageLine) -> AidItem:
    return AidItem(position=position, name=line.item, unit=line.unit, unit_price=line.unit_price or None,
                   quantity=line.quantity)


def default_items(program: ProgramSettings, business_type: str) -> list[AidItem]:
    """New item rows of the default package of a business type (positions 1..n)."""
    return [_item(i, line) for i, line in enumerate(default_lines(program, business_type), start=1)]


def lines_of(package: AidPackage) -> list[PackageLine]:
    return [PackageLine(i.name, i.unit or "", i.unit_price or 0, i.quantity or 1) for i in package.items]


async def package_for(session: AsyncSession, recipient_id: int) -> AidPackage | None:
    return await session.scalar(
        select(AidPackage).where(AidPackage.recipient_id == recipient_id).options(selectinload(AidPackage.items))
    )


async def set_lines(
    session: AsyncSession, package: AidPackage, lines: Sequence[PackageLine], *, program: ProgramSettings
) -> int:
    """Replace the package's items by ``lines`` (range checked first; nothing changes when refused)."""
    total = check_range(lines, program)
    handed = await session.scalar(select(Handover.id).where(Handover.package_id == package.id))
    if handed is not None or package.delivered_on is not None:
        raise PackageLocked
    package.items.clear()
    await session.flush()  # the old positions are free before the new rows take them
    package.items.extend(_item(i, line) for i, line in enumerate(lines, start=1))
    package.value = total
    recipient = await session.get(Recipient, package.recipient_id)
    if recipient is not None:
        recipient.aid_value = total
    await session.flush()
    return total


def with_quantity(lines: Sequence[PackageLine], item: str, quantity: int) -> list[PackageLine]:
    """The lines with one item's quantity changed (0 removes it)."""
    out: list[PackageLine] = []
    for line in lines:
        if line.item.casefold() == item.casefold():
            if quantity > 0:
                out.append(PackageLine(line.item, line.unit, line.unit_price, quantity))
        else:
            out.append(line)
    return out


def item_line(item: AidItem) -> str:
    """``Kompor gas 1 tungku — 1 unit, Rp450.000`` (HTML-escaped; the bare name for items without a price)."""
    name = html.escape(item.name)
    if item.unit_price is None:
        return name
    quantity = item.quantity or 1
    return f"{name} — {quantity} {html.escape(item.unit or '')}, {rupiah(item.unit_price * quantity)}"


def package_total(package: AidPackage) -> int | None:
    """The package's value at catalog prices (None when an item has no price)."""
    if not package.items or any(i.unit_price is None for i in package.items):
        return None
    return sum((i.unit_price or 0) * (i.quantity or 1) for i in package.items)


def package_value_line(package: AidPackage) -> str:
    """A total line under the items when the package has catalog prices (else nothing)."""
    total = package_total(package)
    return "" if total is None else "\n" + _("Total value: {total}").format(total=rupiah(total))
