"""The survival facts on the recipient's row (first stop, last known status) follow every check-in and status
row written through the ORM, agree with a recomputation from the whole history (the backfill of migration
0012, also run after bulk inserts), and are what the report reads."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import insert, select, update

from db import survival_facts
from db.models import BusinessStatusChange, Checkin, Recipient
from services.checkins import CheckinAnswers, set_business_status, submit_checkin
from tests.conftest import T0
from tests.reports.conftest import add_checkin, add_history, add_recipient

AID = date(2025, 6, 2)


async def _facts(session, rid: int):  # type: ignore[no-untyped-def]
    row = (
        await session.execute(
            select(Recipient.first_stopped_at, Recipient.last_known_at).where(Recipient.id == rid)
        )
    ).one()
    return tuple(row)


async def test_facts_follow_each_check_in_and_status_row(session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    r = add_recipient(session, cipher, kecamatan_id=region.kec_a1, aid_date=AID)
    await session.flush()
    assert await _facts(session, r.id) == (None, None)

    day = lambda n: T0 - timedelta(days=n)  # noqa: E731
    add_checkin(session, r.id, "running", day(300))
    await session.flush()
    assert await _facts(session, r.id) == (None, day(300))

    add_history(session, r.id, ("stopped", day(200)), ("unknown", day(10)))
    add_checkin(session, r.id, "running", day(100))  # a restart never hides the stop
    await session.flush()
    assert await _facts(session, r.id) == (day(200), day(100))

    # Evidence arriving out of order only moves the first stop earlier and the last known status later.
    add_history(session, r.id, ("stopped", day(250)), ("paused", day(280)), ("stopped", day(50)))
    add_checkin(session, r.id, "changed", day(90))
    await session.flush()
    assert await _facts(session, r.id) == (day(250), day(90))


async def test_the_check_in_service_keeps_them_in_its_transaction(session, cipher, region, settings) -> None:  # type: ignore[no-untyped-def]
    r = add_recipient(session, cipher, kecamatan_id=region.kec_a1, aid_date=AID, status="running", since=T0)
    await session.flush()
    later = T0 + timedelta(days=3)
    await submit_checkin(session, r, CheckinAnswers(status="paused", reason="capital"), settings=settings, now=later)
    await set_business_status(session, r, "stopped", now=later + timedelta(days=1))
    await session.flush()
    # Read in the same transaction, before any commit.
    assert await _facts(session, r.id) == (later + timedelta(days=1), later)


async def test_refresh_recomputes_what_the_events_kept(session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    """The backfill (migration 0012, and after bench.synthetic's bulk inserts) gives the same facts."""
    people = [add_recipient(session, cipher, kecamatan_id=region.kec_a1, aid_date=AID) for _ in range(4)]
    await session.flush()
    a, b, c, d = (p.id for p in people)
    day = lambda n: T0 - timedelta(days=n)  # noqa: E731
    add_checkin(session, a, "running", day(30))
    add_history(session, a, ("running", day(60)))
    add_checkin(session, b, "stopped", day(40))
    add_history(session, b, ("stopped", day(45)), ("running", day(70)))
    add_history(session, c, ("unknown", day(5)))
    await session.flush()
    kept = [await _facts(session, rid) for rid in (a, b, c, d)]
    assert kept == [(None, day(30)), (day(45), day(70)), (None, None), (None, None)]

    # Bulk inserts skip the events: the row of d says nothing until refresh() recomputes it.
    await session.execute(
        insert(Checkin), [{"recipient_id": d, "status": "stopped", "submitted_at": day(20), "is_extra": False}]
    )
    await session.execute(
        insert(BusinessStatusChange), [{"recipient_id": d, "status": "paused", "changed_at": day(25)}]
    )
    await session.execute(update(Recipient).values(first_stopped_at=None, last_known_at=None))
    assert await _facts(session, d) == (None, None)
    await survival_facts.refresh(await session.connection())
    assert [await _facts(session, rid) for rid in (a, b, c, d)] == kept[:3] + [(day(20), day(25))]
