"""Matching typed text in the database the same way everywhere (people, cases)."""

from __future__ import annotations

from sqlalchemy import ColumnElement


def contains(column: ColumnElement[str], text: str, dialect: str) -> ColumnElement[bool]:
    """``column`` contains ``text`` in any case; ``%`` and ``_`` typed by a person match themselves. SQLite's
    LIKE already ignores case (ASCII) and can then read a plain index; PostgreSQL needs ILIKE."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    if dialect == "postgresql":
        return column.ilike(pattern, escape="\\")
    return column.like(pattern, escape="\\")
