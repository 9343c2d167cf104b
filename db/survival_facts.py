"""The two facts per recipient that the survival analysis needs from the whole history, kept on the recipient's
row so a report reads one row per recipient instead of every check-in and status row:

* ``recipients.first_stopped_at``: the earliest ``stopped`` in the status history or the check-ins;
* ``recipients.last_known_at``: the latest ``running``/``changed``/``paused`` in either.

They are kept in the transaction that writes the evidence: every ORM insert of a ``Checkin`` or a
``BusinessStatusChange`` (``services.checkins``, the sandbox, tests) moves them in the same flush (an
``after_insert`` event, one ``UPDATE`` by primary key that only ever moves the first stop earlier and the last
known status later). Check-ins and status rows are never edited afterwards (their status and time are the
record). Rows written with Core bulk inserts (``bench.synthetic``) are followed by :func:`refresh`, the same
statement migration 0012 backfilled the columns with.

What the facts mean for the figures is in :mod:`services.reports.survival`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, case, event, func, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.enums import BusinessStatus
from db.models import BusinessStatusChange, Checkin, Recipient

STOPPED = BusinessStatus.STOPPED.value
NOT_STOPPED = (BusinessStatus.RUNNING.value, BusinessStatus.CHANGED.value, BusinessStatus.PAUSED.value)

_recipients = Recipient.__table__


def _note(connection: Connection, recipient_id: int, status: str, at: Any) -> None:
    """Move the recipient's facts for one piece of evidence (``status`` at ``at``)."""
    if status == STOPPED:
        col = _recipients.c.first_stopped_at
        newer = or_(col.is_(None), col > at)
    elif status in NOT_STOPPED:
        col = _recipients.c.last_known_at
        newer = or_(col.is_(None), col < at)
    else:  # "unknown" is no evidence of anything
        return
    connection.execute(update(_recipients).where(and_(_recipients.c.id == recipient_id, newer)).values({col: at}))


@event.listens_for(Checkin, "after_insert")
def _checkin_inserted(_mapper: Any, connection: Connection, target: Checkin) -> None:
    _note(connection, target.recipient_id, target.status, target.submitted_at)


@event.listens_for(BusinessStatusChange, "after_insert")
def _status_inserted(_mapper: Any, connection: Connection, target: BusinessStatusChange) -> None:
    _note(connection, target.recipient_id, target.status, target.changed_at)


def refresh_statement() -> Any:
    """Both facts of every recipient with any evidence, recomputed from the check-ins and the status history
    (one UPDATE … FROM a GROUP BY; SQLite 3.33+ and PostgreSQL)."""
    bsc, ci = BusinessStatusChange.__table__, Checkin.__table__
    evidence = union_all(
        select(bsc.c.recipient_id, bsc.c.status, bsc.c.changed_at.label("at")),
        select(ci.c.recipient_id, ci.c.status, ci.c.submitted_at.label("at")),
    ).subquery("evidence")
    at = evidence.c.at
    facts = (
        select(
            evidence.c.recipient_id,
            func.min(case((evidence.c.status == STOPPED, at), else_=None)).label("first_stop"),
            func.max(case((evidence.c.status.in_(NOT_STOPPED), at), else_=None)).label("last_known"),
        )
        .group_by(evidence.c.recipient_id)
        .subquery("facts")
    )
    return (
        update(_recipients)
        .where(_recipients.c.id == facts.c.recipient_id)
        .values(first_stopped_at=facts.c.first_stop, last_known_at=facts.c.last_known)
    )


async def refresh(connection: AsyncConnection) -> None:
    """Backfill after Core bulk inserts of check-ins or status rows (which skip the ORM events)."""
    await connection.execute(refresh_statement())


__all__ = ["NOT_STOPPED", "STOPPED", "refresh", "refresh_statement"]
