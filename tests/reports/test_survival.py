"""Kaplan–Meier survival checked against a small example worked out by hand, through the pure functions and
through the database loader (every breakdown)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.reports import ReportScope, build_report
from services.reports.survival import (
    HORIZONS_MONTHS,
    Observation,
    Rules,
    Subject,
    group_survival,
    horizon_days,
    kaplan_meier,
    observe,
)
from tests.conftest import T0
from tests.reports.conftest import WITA, add_checkin, add_history, add_recipient, wita

TODAY = T0.astimezone(WITA).date()  # 2026-03-02
SMALL = Rules(min_at_risk=1)  # the hand example is tiny: check the arithmetic with the minimum at one
AID = date(2025, 1, 1)  # 425 days before TODAY


def d(days: int) -> date:
    return AID + timedelta(days=days)


# The hand-worked example: ten recipients, days since aid.
#
#  #  history                                                 now       → observation
#  1  running d10, stopped d50 (00:30 WITA = UTC d49!)         stopped   → event    50
#  2  running d10, stopped d100                                stopped   → event   100
#  3  running d10, check-in running d400                       running   → censored 400
#  4  running d60, then missed check-ins → unknown d80         unknown   → censored  60 (last known running)
#  5  running d10, paused d120, check-in paused d200           paused    → censored 200 (paused is no failure)
#  6  running d10, changed d150, check-in changed d300         changed   → censored 300 (changed = running)
#  7  running d10, stopped d200, running again d250            running   → event   200 (first stop counts)
#  8  aid 80 days ago, running d70                             running   → censored  70
#  9  never reported                                           unknown   → censored   0
# 10  running d10, stopped d300                                stopped   → event   300
#
# Kaplan–Meier, S(t) = Π (1 − d_i/n_i) over event days:
#   day   0: n=10, d=0, c=1 (#9)          S = 1
#   day  50: n= 9, d=1 (#1)               S = 8/9                     = 0.888889
#   day  60: n= 8, c=1 (#4)
#   day  70: n= 7, c=1 (#8)
#   day 100: n= 6, d=1 (#2)               S = 8/9 · 5/6   = 40/54     = 0.740741
#   day 200: n= 5, d=1 (#7), c=1 (#5)     S = 40/54 · 4/5 = 160/270   = 0.592593
#   day 300: n= 3, d=1 (#10), c=1 (#6)    S = 160/270 · 2/3 = 320/810 = 0.395062
#   day 400: n= 1, c=1 (#3)
# Horizons: 3 months = day 91 → 8/9; 6 months = day 183 → 40/54; 12 months = day 365 → 320/810.
# Observed at least that long ("reached"): day 91: #2,#5,#6,#7,#10,#3 = 6; day 183: 5; day 365: 1 (#3).
# Status now: running 3 (#3,#7,#8), changed 1, paused 1, stopped 3 (#1,#2,#10), unknown 2 (#4,#9).
EXPECTED = {3: 8 / 9, 6: 40 / 54, 12: 320 / 810}
EXPECTED_REACHED = {3: 6, 6: 5, 12: 1}
# Women = #1-#5: day 50 e (n=5 → 4/5), 60 c, 100 e (n=3 → 4/5·2/3 = 8/15), 200 c, 400 c.
WOMEN = {3: 4 / 5, 6: 8 / 15, 12: 8 / 15}
# Men = #6-#10: 0 c, 70 c, 200 e (n=3 → 2/3), 300 e + c (n=2 → 1/3). The first stop is after day 183, so
# 3 and 6 months are 1.0; nobody was observed to day 365 (the last is censored at 300) → None.
MEN = {3: 1.0, 6: 1.0, 12: None}

OBS = [
    Observation(50, True, "stopped"),
    Observation(100, True, "stopped"),
    Observation(400, False, "running"),
    Observation(60, False, "unknown"),
    Observation(200, False, "paused"),
    Observation(300, False, "changed"),
    Observation(200, True, "running"),
    Observation(70, False, "running"),
    Observation(0, False, "unknown"),
    Observation(300, True, "stopped"),
]


def test_horizons_in_days() -> None:
    assert [horizon_days(m) for m in HORIZONS_MONTHS] == [91, 183, 365]


def test_kaplan_meier_matches_the_hand_calculation() -> None:
    curve = kaplan_meier(OBS)
    assert [(s.days, s.at_risk, s.events, s.censored) for s in curve.steps] == [
        (0, 10, 0, 1),
        (50, 9, 1, 0),
        (60, 8, 0, 1),
        (70, 7, 0, 1),
        (100, 6, 1, 0),
        (200, 5, 1, 1),
        (300, 3, 1, 1),
        (400, 1, 0, 1),
    ]
    g = group_survival("all", "all", OBS, SMALL)
    for m, value in EXPECTED.items():
        assert g.estimates[m].survival == pytest.approx(value)
    assert {m: e.at_risk for m, e in g.estimates.items()} == EXPECTED_REACHED
    assert g.status_counts == {"unknown": 2, "running": 3, "paused": 1, "stopped": 3, "changed": 1}
    assert g.unknown == 2 and g.unknown_share == pytest.approx(0.2)
    assert curve.survival_at(401) is None  # beyond the last (censored) observation
    assert curve.points()[0] == (0.0, 1.0) and curve.points()[-1][1] == pytest.approx(320 / 810)


def test_survival_at_is_zero_past_the_end_when_everyone_stopped() -> None:
    curve = kaplan_meier([Observation(10, True, "stopped"), Observation(20, True, "stopped")])
    assert curve.survival_at(15) == pytest.approx(0.5)
    assert curve.survival_at(365) == 0.0
    assert kaplan_meier([]).survival_at(91) is None


def test_observe_applies_the_definitions() -> None:
    def obs(**kw) -> Observation:  # type: ignore[no-untyped-def]
        return observe(Subject(recipient_id=1, aid_date=AID, **kw), today=TODAY, tz=WITA)

    # First stop counts; its local (WITA) date is what matters: 00:30 WITA on d50 is still d49 in UTC.
    assert obs(status="stopped", first_stopped_at=wita(d(50), 0, 30)) == Observation(50, True, "stopped")
    # Unknown now: censored at the last known running status.
    assert obs(status="unknown", last_known_at=wita(d(60))) == Observation(60, False, "unknown")
    assert obs(status="unknown") == Observation(0, False, "unknown")
    # Running with no history row: business_status_since is evidence.
    assert obs(status="running", status_since=wita(d(30))) == Observation(30, False, "running")
    # Stopped with no history row: stopped since business_status_since.
    assert obs(status="stopped", status_since=wita(d(77))) == Observation(77, True, "stopped")
    # Times are clamped to [0, age].
    assert obs(status="running", last_known_at=wita(AID - timedelta(days=3))).days == 0
    assert obs(status="running", last_known_at=wita(TODAY + timedelta(days=3))).days == (TODAY - AID).days


async def _hand_example(session, cipher, region) -> dict[int, int]:  # type: ignore[no-untyped-def]
    """The ten recipients of the hand-worked example, plus two not in it (no aid yet / aid in the future)."""
    R = region
    spec = [
        # (kecamatan, sex, pkh, business type, current status, aid)
        (R.kec_a1, "P", True, "makanan", "stopped", AID),
        (R.kec_a1, "P", False, "makanan", "stopped", AID),
        (R.kec_a2, "P", True, "kue", "running", AID),
        (R.kec_a2, "P", False, "kue", "unknown", AID),
        (R.kec_b1, "P", True, "kue", "paused", AID),
        (R.kec_b1, "L", False, "gorengan", "changed", AID),
        (R.kec_a1, "L", True, "gorengan", "running", AID),
        (R.kec_a2, "L", False, "bengkel_motor", "running", TODAY - timedelta(days=80)),
        (R.kec_b1, "L", True, "bengkel_motor", "unknown", AID),
        (R.kec_b1, "L", False, "makanan", "stopped", AID),
    ]
    people = [
        add_recipient(session, cipher, kecamatan_id=k, sex=s, pkh=p, business_type=b, status=st, aid_date=a)
        for k, s, p, b, st, a in spec
    ]
    add_recipient(session, cipher, kecamatan_id=R.kec_a1, aid_date=None, status="unknown")
    add_recipient(
        session, cipher, kecamatan_id=R.kec_a1, aid_date=TODAY + timedelta(days=5), status="unknown"
    )
    await session.flush()
    ids = {i + 1: r.id for i, r in enumerate(people)}
    p8_aid = TODAY - timedelta(days=80)
    add_history(session, ids[1], ("running", wita(d(10))), ("stopped", wita(d(50), 0, 30)))
    add_history(session, ids[2], ("running", wita(d(10))), ("stopped", wita(d(100))))
    add_history(session, ids[3], ("running", wita(d(10))))
    add_checkin(session, ids[3], "running", wita(d(400)))
    add_history(session, ids[4], ("running", wita(d(60))), ("unknown", wita(d(80))))
    add_history(session, ids[5], ("running", wita(d(10))), ("paused", wita(d(120))))
    add_checkin(session, ids[5], "paused", wita(d(200)))
    add_history(session, ids[6], ("running", wita(d(10))), ("changed", wita(d(150))))
    add_checkin(session, ids[6], "changed", wita(d(300)))
    add_history(
        session, ids[7], ("running", wita(d(10))), ("stopped", wita(d(200))), ("running", wita(d(250)))
    )
    add_history(session, ids[8], ("running", wita(p8_aid + timedelta(days=70))))
    add_history(session, ids[10], ("running", wita(d(10))), ("stopped", wita(d(300))))
    await session.commit()
    return ids


async def test_report_from_the_database_matches_the_hand_calculation(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    await _hand_example(session, cipher, region)
    report = await build_report(session, settings=_small(ctx.settings), clock=ctx.clock)
    o = report.overall
    assert o.n == 10
    assert report.recipients == 12 and report.awaiting_aid == 2
    for m, value in EXPECTED.items():
        assert o.estimates[m].survival == pytest.approx(value)
    assert {m: e.at_risk for m, e in o.estimates.items()} == EXPECTED_REACHED
    assert o.status_counts == {"unknown": 2, "running": 3, "paused": 1, "stopped": 3, "changed": 1}
    assert report.baseline == 0.46


def _small(settings):  # type: ignore[no-untyped-def]
    """The settings with the minimum at one recipient observed, for the ten-person hand example."""
    return settings.model_copy(update={"reports": settings.reports.model_copy(update={"min_at_risk": 1})})


def _check(group, expected: dict[int, float | None]) -> None:  # type: ignore[no-untyped-def]
    for m, value in expected.items():
        if value is None:
            assert group.estimates[m].survival is None
        else:
            assert group.estimates[m].survival == pytest.approx(value), (group.key, m)


async def test_every_breakdown(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    await _hand_example(session, cipher, region)
    R = region

    async def groups(by: str) -> dict[str, object]:
        rep = await build_report(session, settings=_small(ctx.settings), clock=ctx.clock, breakdown=by)
        assert sum(g.n for g in rep.groups) == 10
        # Sorted by survival at the report's horizon (12 months here), groups without a figure last.
        with_figure = [g.estimates[rep.sort_months].survival for g in rep.groups]
        known = [v for v in with_figure if v is not None]
        assert known == sorted(known, reverse=True)
        assert with_figure[: len(known)] == known
        return {g.key: g for g in rep.groups}

    by_sex = await groups("sex")
    assert {k: g.n for k, g in by_sex.items()} == {"P": 5, "L": 5}
    _check(by_sex["P"], WOMEN)
    _check(by_sex["L"], MEN)

    # The same figures as the pure functions give for the hand observations of each group.
    def expect(members: list[int]) -> dict[int, float | None]:
        g = group_survival("x", "x", [OBS[i - 1] for i in members], SMALL)
        return {m: e.survival for m, e in g.estimates.items()}

    by_type = await groups("business_type")
    assert {k: g.n for k, g in by_type.items()} == {"makanan": 3, "kue": 3, "gorengan": 2, "bengkel_motor": 2}
    _check(by_type["makanan"], expect([1, 2, 10]))
    _check(by_type["kue"], expect([3, 4, 5]))
    # makanan: #1 d50 e, #2 d100 e, #10 d300 e → 2/3, 1/3, 0 → 12 months: 0 (the curve reached zero).
    assert {m: e.survival for m, e in by_type["makanan"].estimates.items()} == {
        3: pytest.approx(2 / 3),
        6: pytest.approx(1 / 3),
        12: None,  # the curve reached zero, but nobody is observed at 12 months: no figure
    }

    by_pkh = await groups("pkh")
    assert {k: g.n for k, g in by_pkh.items()} == {"pkh": 5, "non_pkh": 5}
    _check(by_pkh["pkh"], expect([1, 3, 5, 7, 9]))
    _check(by_pkh["non_pkh"], expect([2, 4, 6, 8, 10]))

    by_kab = await groups("kabupaten")
    assert {g.label: g.n for g in by_kab.values()} == {"Paser": 6, "Kota Samarinda": 4}
    _check(by_kab[str(R.kab_a)], expect([1, 2, 3, 4, 7, 8]))
    _check(by_kab[str(R.kab_b)], expect([5, 6, 9, 10]))

    by_kec = await groups("kecamatan")
    assert {g.label: g.n for g in by_kec.values()} == {"Batu Sopang": 3, "Tanah Grogot": 3, "Palaran": 4}
    _check(by_kec[str(R.kec_a1)], expect([1, 2, 7]))
    _check(by_kec[str(R.kec_b1)], expect([5, 6, 9, 10]))

    by_tksk = await groups("tksk")
    assert {g.label: g.n for g in by_tksk.values()} == {
        "Tini (Batu Sopang)": 3,
        "Udin (Tanah Grogot)": 3,
        "none": 4,
    }
    _check(by_tksk[str(R.tksk_a2)], expect([3, 4, 8]))
    _check(by_tksk["none"], expect([5, 6, 9, 10]))


async def test_every_breakdown_from_one_reading_is_the_same_report(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    """build_reports (the survival export's every breakdown) gives what build_report gives one by one."""
    from services.reports import BREAKDOWNS, build_reports

    await _hand_example(session, cipher, region)
    settings = _small(ctx.settings)
    wanted = [None, *BREAKDOWNS]
    together = await build_reports(session, settings=settings, clock=ctx.clock, breakdowns=wanted)
    one_by_one = [await build_report(session, settings=settings, clock=ctx.clock, breakdown=b) for b in wanted]
    assert [r.breakdown for r in together] == wanted
    assert together == one_by_one
    assert any(r.logrank is not None for r in together) and all(r.groups for r in together[1:])


async def test_scope_limits_to_kecamatan(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    await _hand_example(session, cipher, region)
    rep = await build_report(
        session,
        settings=ctx.settings,
        clock=ctx.clock,
        scope=ReportScope.of([region.kec_b1]),
        breakdown="sex",
    )
    assert rep.overall.n == 4
    assert rep.recipients == 4 and rep.awaiting_aid == 0
    assert {g.key: g.n for g in rep.groups} == {"L": 3, "P": 1}


async def test_unknown_breakdown_is_refused(ctx, session) -> None:  # type: ignore[no-untyped-def]
    from services.reports import UnknownBreakdown

    with pytest.raises(UnknownBreakdown):
        await build_report(session, settings=ctx.settings, clock=ctx.clock, breakdown="religion")


async def test_empty_database(ctx, session) -> None:  # type: ignore[no-untyped-def]
    rep = await build_report(session, settings=ctx.settings, clock=ctx.clock, breakdown="kabupaten")
    assert rep.overall.n == 0 and rep.groups == []
    assert all(e.survival is None and e.at_risk == 0 for e in rep.overall.estimates.values())
