"""Matching typed text in the database the same way everywhere (people, cases)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, text
from sqlalchemy.ext.asyncio import AsyncSession


def contains(column: ColumnElement[str], text: str, dialect: str) -> ColumnElement[bool]:
    """``column`` contains ``text`` in any case; ``%`` and ``_`` typed by a person match themselves. SQLite's
    LIKE already ignores case (ASCII) and can then read a plain index; PostgreSQL needs ILIKE."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    if dialect == "postgresql":
        return column.ilike(pattern, escape="\\")
    return column.like(pattern, escape="\\")


async def prefer_text_indexes(session: AsyncSession, dialect: str) -> None:
    """Before a search for part of a name on PostgreSQL: let the planner take the trigram indexes (migration
    0013) for the rest of this transaction. With the default ``random_page_cost`` of 4 (spinning disks) it
    prefers reading all 100,000 recipients and running ILIKE on each (≈300 ms under load) over the index and
    the few thousand matching rows (≈30 ms); 1.1 is the usual value for a database held in memory or on SSD,
    which this one is. ``SET LOCAL`` ends with the transaction (the desk's request)."""
    if dialect == "postgresql":
        await session.execute(text("SET LOCAL random_page_cost = 1.1"))
