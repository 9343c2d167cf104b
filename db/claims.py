"""Claiming due rows so that each is handled by one worker only, on PostgreSQL and on SQLite.

PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` then a lease (``claimed_until``) in the same transaction, so
several bot processes take disjoint batches without waiting for each other.
SQLite has no row locks, and a plain SELECT-then-UPDATE lets two concurrent ticks (the bot's scheduler and
``uep jobs run-due``, or the sandbox's clock panel) both see a row as free. There the claim is one
``UPDATE … WHERE <still free> RETURNING id``: SQLite runs writers one at a time and re-checks the condition, so
a row is returned to exactly one claimer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


async def claim_rows(
    session_factory: async_sessionmaker[AsyncSession],
    model: Any,
    *,
    where: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    limit: int,
    now: datetime,
    lease: timedelta,
    lease_column: str = "claimed_until",
) -> list[int]:
    """Ids of up to ``limit`` rows matching ``where`` whose lease is free, now leased until ``now + lease``."""
    column = getattr(model, lease_column)
    free = or_(column.is_(None), column < now)
    async with session_factory.begin() as session:
        candidates = select(model.id).where(*where, free).order_by(*order_by).limit(limit)
        if session.bind.dialect.name == "postgresql":
            ids = list(await session.scalars(candidates.with_for_update(skip_locked=True)))
            if ids:
                await session.execute(update(model).where(model.id.in_(ids)).values({lease_column: now + lease}))
            return ids
        stmt = (
            update(model)
            .where(model.id.in_(candidates.scalar_subquery()), free)
            .values({lease_column: now + lease})
            .returning(model.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(await session.scalars(stmt))
