"""Onboarding counts, check-in compliance (on time / late / missed by local due day), cases, reuse flags."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from db.models import Case, CheckinDue, Photo
from services.reports import ReportScope, build_report, classify_due
from services.reports.operations import LATE, MISSED, ON_TIME, OPEN
from tests.conftest import T0
from tests.reports.conftest import WITA, add_checkin, add_recipient, wita

FEB10 = date(2026, 2, 10)


def test_classification_uses_the_local_due_day() -> None:
    due = wita(FEB10, 8)  # 08:00 WITA = 00:00 UTC on the same date
    assert classify_due("done", due, wita(FEB10, 23, 59), WITA) == ON_TIME
    # 00:30 WITA the next day is still Feb 10 in UTC, but late locally.
    assert classify_due("done", due, wita(FEB10 + timedelta(days=1), 0, 30), WITA) == LATE
    assert classify_due("done", due, wita(FEB10, 7), WITA) == ON_TIME  # early counts as on time
    assert classify_due("done", due, None, WITA) == ON_TIME
    assert classify_due("missed", due, None, WITA) == MISSED
    assert classify_due("open", due, None, WITA) == OPEN


async def test_compliance_per_month_matches_the_classification(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    r = add_recipient(session, cipher, kecamatan_id=region.kec_a1, aid_date=date(2025, 6, 1))
    other = add_recipient(session, cipher, kecamatan_id=region.kec_b1, aid_date=date(2025, 6, 1))
    await session.flush()
    jan = date(2026, 1, 20)
    rows = [
        # (recipient, due day, state, completed at)
        (r, FEB10, "done", wita(FEB10, 23, 30)),  # on time (last minutes of the due day)
        (
            r,
            FEB10 + timedelta(days=1),
            "done",
            wita(FEB10 + timedelta(days=2), 0, 30),
        ),  # late (UTC: same day)
        (r, FEB10 + timedelta(days=2), "done", None),  # on time (no completion time)
        (r, FEB10 + timedelta(days=3), "missed", None),
        (r, date(2026, 2, 28), "open", None),  # fallen due, reminders still running
        (r, date(2026, 3, 5), "open", None),  # not due yet (after T0): not counted
        (r, jan, "done", wita(jan + timedelta(days=3))),  # late, January
        (r, date(2025, 6, 15), "missed", None),  # older than the six months shown
        (other, FEB10, "missed", None),
        (other, jan, "done", wita(jan, 9)),
    ]
    for n, (who, day, state, done_at) in enumerate(rows):
        session.add(
            CheckinDue(
                recipient_id=who.id, period_no=n, due_at=wita(day, 8), state=state, completed_at=done_at
            )
        )
    await session.commit()

    rep = await build_report(session, settings=ctx.settings, clock=ctx.clock)
    by_month = {c.period: c for c in rep.operations.compliance}
    assert set(by_month) == {"2026-01", "2026-02"}
    feb, jan_c = by_month["2026-02"], by_month["2026-01"]
    assert (feb.on_time, feb.late, feb.missed, feb.open) == (2, 1, 2, 1)
    assert (jan_c.on_time, jan_c.late, jan_c.missed, jan_c.open) == (1, 1, 0, 0)
    total = rep.operations.compliance_total
    assert (total.on_time, total.late, total.missed, total.open) == (3, 2, 2, 1)
    assert total.share("missed") == pytest.approx(2 / 7)

    # The SQL agrees with the reference classification row by row.
    expected: dict[str, int] = {}
    for _who, day, state, done_at in rows:
        due = wita(day, 8)
        if due <= T0 and day >= date(2025, 10, 1):
            k = classify_due(state, due, done_at, WITA)
            expected[k] = expected.get(k, 0) + 1
    assert expected == {ON_TIME: 3, LATE: 2, MISSED: 2, OPEN: 1}

    scope = ReportScope.of([region.kec_b1])
    scoped = await build_report(session, settings=ctx.settings, clock=ctx.clock, scope=scope)
    t = scoped.operations.compliance_total
    assert (t.on_time, t.late, t.missed, t.open) == (1, 0, 1, 0)


async def test_onboarding_cases_and_reuse(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    a = add_recipient(session, cipher, kecamatan_id=region.kec_a1, aid_date=date(2025, 6, 1))
    b = add_recipient(session, cipher, kecamatan_id=region.kec_b1, aid_date=None, onboarding_state="consent")
    add_recipient(session, cipher, kecamatan_id=region.kec_b1, aid_date=None, onboarding_state="not_joined")
    await session.flush()
    created = T0 - timedelta(days=10)
    cases = [
        # kind, kecamatan, state, overdue, hours to take, hours to resolve
        ("capital", region.kec_a1, "new", True, None, None),
        ("capital", region.kec_b1, "taken", False, 1, None),
        ("materials", region.kec_b1, "taken", True, 3, None),
        ("materials", region.kec_a2, "resolved", False, 10, 24),
        ("other", region.kec_a1, "closed", False, 20, 72),
    ]
    for n, (kind, kec, state, overdue, take, resolve) in enumerate(cases):
        session.add(
            Case(
                number=f"K{n:05d}",
                recipient_id=a.id,
                kecamatan_id=kec,
                kind=kind,
                urgency="normal",
                state=state,
                overdue=overdue,
                taken_at=created + timedelta(hours=take) if take is not None else None,
                resolved_at=created + timedelta(hours=resolve) if resolve is not None else None,
                created_at=created,
                updated_at=created,
            )
        )
    c1 = add_checkin(session, a.id, "running", wita(date(2026, 2, 1)))
    c2 = add_checkin(session, a.id, "running", wita(date(2026, 2, 15)), reuse_flagged=True)
    add_checkin(session, b.id, "running", wita(date(2026, 2, 15)), reuse_flagged=True)
    await session.flush()
    p1 = Photo(recipient_id=a.id, checkin_id=c1.id, file_id="f1", file_unique_id="u1", created_at=T0)
    session.add(p1)
    await session.flush()
    session.add(
        Photo(
            recipient_id=a.id,
            checkin_id=c2.id,
            file_id="f2",
            file_unique_id="u2",
            created_at=T0,
            reuse_of_photo_id=p1.id,
        )
    )
    await session.commit()

    rep = await build_report(session, settings=ctx.settings, clock=ctx.clock)
    ops = rep.operations
    assert (
        ops.onboarding["active"] == 1 and ops.onboarding["consent"] == 1 and ops.onboarding["not_joined"] == 1
    )
    assert set(ops.onboarding) >= {"declined", "phone", "profile", "aid_waiting", "aid_receipt"}
    cs = ops.cases
    assert (cs.open, cs.overdue) == (3, 2)
    assert {k: (v.open, v.overdue) for k, v in cs.by_kind.items()} == {"capital": (2, 1), "materials": (1, 1)}
    assert {k: (v.open, v.overdue) for k, v in cs.by_kabupaten.items()} == {
        region.kab_b: (2, 1),
        region.kab_a: (1, 1),
    }
    # take: 1, 3, 10, 20 hours → median 6.5; resolve: 24, 72 → 48.
    assert cs.median_take_hours == pytest.approx(6.5) and cs.taken == 4
    assert cs.median_resolve_hours == pytest.approx(48) and cs.resolved == 2
    assert ops.reuse_flagged_photos == 1 and ops.reuse_flagged_checkins == 2
    assert (await session.scalar(select(Photo.reuse_of_photo_id).where(Photo.file_id == "f2"))) == p1.id
