"""Issue #18: survival figures that never mislead.

First the issue's bad report, rebuilt in the database (1,274 recipients with aid, one of whom ever reported):
the old report printed "3 bulan: 100,0%" for it. Then each rule on its own: the minimum, the verdict against
46%, the one definition of "unknown", the log-rank test in words, pluggable breakdowns, and the estimator,
intervals and log-rank statistics checked against lifelines on random censored data."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test

from db.models import Recipient
from services.reports import BREAKDOWNS, Breakdown, build_report, render_summary, translator
from services.reports.charts import build_figure
from services.reports.logrank import logrank
from services.reports.summary import estimate_text, verdict_text
from services.reports.survival import (
    Observation,
    Rules,
    Subject,
    Verdict,
    estimate_at,
    group_survival,
    kaplan_meier,
)
from services.reports.unknown import UnknownReason, classifier, unknown_reason
from tests.conftest import T0
from tests.reports.conftest import WITA, add_checkin, add_history, add_recipient, wita

TODAY = T0.astimezone(WITA).date()  # 2026-03-02
ID = translator("id")


async def test_the_issues_report_no_longer_claims_100_percent(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    """1,274 recipients with aid 400 days ago; only one (kue) ever reported, running; the rest never did."""
    aid = TODAY - timedelta(days=400)
    types = ["kue", "makanan", "minuman", "gorengan", "ternak_ayam", "bengkel_motor"]
    people = [
        add_recipient(
            session, cipher, kecamatan_id=region.kec_a1, aid_date=aid, status="unknown", business_type=types[i % 6]
        )
        for i in range(1274)
    ]
    reporter = people[0]
    reporter.business_status = "running"
    reporter.business_status_since = wita(aid + timedelta(days=10))
    await session.flush()
    add_history(session, reporter.id, ("running", wita(aid + timedelta(days=10))))
    add_checkin(session, reporter.id, "running", wita(aid + timedelta(days=390)))
    await session.commit()

    report = await build_report(session, settings=ctx.settings, clock=ctx.clock, breakdown="business_type")
    # The naive curve is a flat 100%: that is what the old report printed.
    assert report.overall.curve.survival_at(91) == 1.0
    assert report.overall.n == 1274
    # Every horizon rests on one person: no figure, no verdict.
    assert all(not e.enough and e.at_risk == 1 for e in report.overall.estimates.values())

    text = render_summary(report, ID, "id")
    assert "100,0%" not in text and "lebih baik dari model kelompok" not in text
    assert "• 3 bulan: belum cukup data (n=1)" in text
    assert "• 12 bulan: belum cukup data (n=1)" in text
    # One definition of unknown, adding up: 1,273 never reported (their first check-in fell due long ago).
    assert (
        "Status tidak diketahui: 1.273 (99,9%) = belum pernah lapor sejak bantuan 1.273 + lapor rutin terlewat 0"
        " + lapor pertama belum jatuh tempo 0"
    ) in text
    assert "lapor rutin terlewat): 1.273" not in text  # the old label that blamed missed check-ins
    kue = next(g for g in report.groups if g.key == "kue")
    assert kue.n == 213 and all(not e.enough for e in kue.estimates.values())
    assert "• Kue (n=213): belum cukup data (n=1)" in text
    assert "Perbedaan antar jenis usaha: belum bisa diuji" in text
    # The chart draws every curve faded and says why.
    figure = build_figure(report, gettext=ID, locale="id")
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert legend and all(t.endswith("belum cukup data") for t in legend)


def _cohort(n: int, stops: int, *, stop_day: int = 100, end_day: int = 400) -> list[Observation]:
    return [Observation(stop_day, True, "stopped")] * stops + [Observation(end_day, False, "running")] * (n - stops)


def test_minimum_observed_decides_whether_a_figure_is_shown() -> None:
    # 25 recipients; 5 are no longer followed after day 50, so 20 are observed at 3 months (day 91).
    obs = [Observation(50, False, "unknown")] * 5 + [Observation(120, False, "running")] * 20
    curve = kaplan_meier(obs)
    shown = estimate_at(curve, 3, min_at_risk=20)
    assert shown.enough and shown.at_risk == 20 and shown.survival == 1.0
    hidden = estimate_at(curve, 3, min_at_risk=21)
    assert not hidden.enough and hidden.survival is None and hidden.verdict is Verdict.NOT_ENOUGH
    assert estimate_text(hidden, ID, "id") == "belum cukup data (n=20)"
    assert verdict_text(hidden, 0.46, ID, "id") == ""
    # Per group too: a group's figure obeys the same minimum.
    g = group_survival("kue", "kue", obs, Rules(min_at_risk=21))
    assert all(not e.enough for e in g.estimates.values())


@pytest.mark.parametrize(
    ("stops", "verdict", "words"),
    [
        (40, Verdict.BETTER, "lebih baik dari model kelompok (46%)"),  # S = 0.80, interval above 0.46
        (108, Verdict.UNCERTAIN, "belum bisa dipastikan dibanding model kelompok (46%)"),  # S = 0.46
        (160, Verdict.LOWER, "lebih rendah dari model kelompok (46%)"),  # S = 0.20, interval below
    ],
)
def test_verdict_follows_the_whole_interval(stops: int, verdict: Verdict, words: str) -> None:
    est = estimate_at(kaplan_meier(_cohort(200, stops)), 12, min_at_risk=20, baseline=0.46)
    assert est.verdict is verdict
    assert est.lower is not None and est.upper is not None and est.lower <= est.survival <= est.upper  # type: ignore[operator]
    assert verdict_text(est, 0.46, ID, "id") == words


def test_no_stop_yet_is_never_shown_as_certain() -> None:
    curve = kaplan_meier([Observation(200, False, "running")] * 32)
    assert curve.interval_at(91) == (1.0, 1.0)  # what survival software prints (checked against lifelines)
    est = estimate_at(curve, 3, min_at_risk=20)
    assert est.survival == 1.0 and est.upper == 1.0
    assert est.lower == pytest.approx(0.025 ** (1 / 32)) and est.lower == pytest.approx(0.891, abs=0.001)
    assert estimate_text(est, ID, "id") == "100,0% (89,1–100,0%)"
    # Four observed and no stop: the interval reaches below 46% (39.8%), so no claim of beating the group model.
    few = estimate_at(kaplan_meier([Observation(200, False, "running")] * 4), 3, min_at_risk=4)
    assert few.verdict is Verdict.UNCERTAIN


def test_uncertain_when_the_interval_touches_the_baseline() -> None:
    # S = 0.55 with 60 people: the interval (about 0.41–0.67) contains 0.46 although S is above it.
    est = estimate_at(kaplan_meier(_cohort(60, 27)), 12, min_at_risk=20, baseline=0.46)
    assert est.survival is not None and est.survival > 0.46
    assert est.lower is not None and est.lower < 0.46 and est.verdict is Verdict.UNCERTAIN


def test_unknown_reasons_are_one_definition() -> None:
    aid = date(2026, 1, 1)
    base = {"recipient_id": 1, "aid_date": aid}
    never = Subject(status="unknown", **base)
    missed = Subject(status="unknown", last_known_at=wita(aid + timedelta(days=20)), **base)
    stopped_then_unknown = Subject(status="unknown", first_stopped_at=wita(aid + timedelta(days=30)), **base)
    running = Subject(status="running", status_since=wita(aid + timedelta(days=3)), **base)
    first_due = aid + timedelta(days=14)
    assert unknown_reason(never, last_due_day=first_due, first_due_days=14) is UnknownReason.NEVER_REPORTED
    assert unknown_reason(never, last_due_day=first_due - timedelta(days=1), first_due_days=14) is (
        UnknownReason.NOT_YET_DUE
    )
    assert unknown_reason(missed, last_due_day=first_due, first_due_days=14) is UnknownReason.MISSED
    assert unknown_reason(stopped_then_unknown, last_due_day=first_due, first_due_days=14) is UnknownReason.MISSED
    assert unknown_reason(running, last_due_day=first_due, first_due_days=14) is None


def test_first_check_in_falls_due_at_the_due_hour(settings) -> None:  # type: ignore[no-untyped-def]
    aid = date(2026, 1, 1)
    never = Subject(recipient_id=1, aid_date=aid, status="unknown")
    due_day = aid + timedelta(days=settings.checkin.early_interval_days)
    before = datetime(due_day.year, due_day.month, due_day.day, 7, 59, tzinfo=WITA).astimezone(UTC)
    after = datetime(due_day.year, due_day.month, due_day.day, 8, 0, tzinfo=WITA).astimezone(UTC)
    assert classifier(settings, before)(never) is UnknownReason.NOT_YET_DUE
    assert classifier(settings, after)(never) is UnknownReason.NEVER_REPORTED


async def test_unknown_counts_add_up_everywhere(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    from tests.reports.test_survival import _hand_example

    await _hand_example(session, cipher, region)  # #4 missed check-ins after reporting, #9 never reported
    add_recipient(session, cipher, kecamatan_id=region.kec_a2, aid_date=TODAY - timedelta(days=3), sex="L")
    await session.commit()
    for by in (None, "sex", "kecamatan", "tksk"):
        rep = await build_report(session, settings=ctx.settings, clock=ctx.clock, breakdown=by)
        o = rep.overall
        assert o.unknown_reasons == {"never_reported": 1, "missed": 1, "not_yet_due": 1}
        assert sum(o.status_counts.values()) == o.n == 11
        assert sum(o.unknown_reasons.values()) == o.unknown == 3
        for g in rep.groups:
            assert sum(g.unknown_reasons.values()) == g.unknown
        assert sum(g.unknown for g in rep.groups) == (o.unknown if by else 0)


async def _two_types(session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    """30 makanan businesses that mostly stop by month 4, 30 kue businesses that keep running."""
    aid = TODAY - timedelta(days=400)
    rng = random.Random(5)
    for i in range(60):
        kind = "makanan" if i < 30 else "kue"
        stops = kind == "makanan" and i % 5 != 0
        r = add_recipient(
            session, cipher, kecamatan_id=region.kec_a1, aid_date=aid, business_type=kind,
            status="stopped" if stops else "running",
        )
        r.desa = f"Desa {i % 2}"
        await session.flush()
        add_history(session, r.id, ("running", wita(aid + timedelta(days=10))))
        if stops:
            add_history(session, r.id, ("stopped", wita(aid + timedelta(days=rng.randrange(30, 120)))))
        else:
            add_checkin(session, r.id, "running", wita(aid + timedelta(days=395)))
    await session.commit()


async def test_log_rank_in_plain_words_and_groups_sorted_by_survival(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    await _two_types(session, cipher, region)
    rep = await build_report(session, settings=ctx.settings, clock=ctx.clock, breakdown="business_type")
    assert [g.key for g in rep.groups] == ["kue", "makanan"]  # highest survival first
    assert rep.logrank is not None and rep.logrank.groups == 2 and rep.logrank.p_value < 0.001
    text = render_summary(rep, ID, "id")
    assert "Perbedaan antar jenis usaha: bermakna (uji log-rank p < 0,001, 2 kelompok)" in text
    # No stop among 30 observed: not "100–100%" but the exact interval, 0.025^(1/30) = 88.4% to 100%.
    assert "• Kue (n=30): 100,0% (88,4–100,0%), 30 teramati — lebih baik dari model kelompok (46%)" in text
    assert "• Makanan (n=30): belum cukup data (n=6)" in text
    en = render_summary(rep, translator("en"), "en")
    assert "Difference between business types: significant (log-rank p < 0.001, 2 groups)" in en


async def test_a_breakdown_can_group_by_any_column(ctx, session, cipher, region, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    await _two_types(session, cipher, region)
    by_desa = Breakdown("desa", "By kecamatan", "Difference between kecamatan", column=Recipient.desa)
    monkeypatch.setitem(BREAKDOWNS, "desa", by_desa)
    rep = await build_report(session, settings=ctx.settings, clock=ctx.clock, breakdown="desa")
    assert {g.key: g.n for g in rep.groups} == {"Desa 0": 30, "Desa 1": 30}
    assert rep.logrank is not None and rep.logrank.groups == 2
    assert "• Desa 0 (n=30): " in render_summary(rep, ID, "id")
    by_key = Breakdown(
        "type_again", "By business type", "Difference between business types", key=lambda s: s.business_type
    )
    monkeypatch.setitem(BREAKDOWNS, "type_again", by_key)
    again = await build_report(session, settings=ctx.settings, clock=ctx.clock, breakdown="type_again")
    assert [(g.key, g.n) for g in again.groups] == [("kue", 30), ("makanan", 30)]
    with pytest.raises(ValueError):
        Breakdown("both", "x", "y", key=lambda s: "", column=Recipient.desa)


# --- against lifelines ------------------------------------------------------------------------------------------
def _random_data(rng: random.Random) -> tuple[list[int], list[bool], list[int]]:
    n = rng.randrange(20, 400)
    groups = rng.randrange(2, 5)
    days, stopped, group = [], [], []
    for _ in range(n):
        g = rng.randrange(groups)
        stop = int(rng.expovariate(1 / (250 + 80 * g)))
        follow = rng.randrange(0, 730) if rng.random() < 0.8 else 0  # some never followed (censored at 0)
        days.append(min(stop, follow))
        stopped.append(stop <= follow)
        group.append(g)
    return days, stopped, group


@pytest.mark.parametrize("seed", range(30))
def test_estimates_intervals_and_log_rank_agree_with_lifelines(seed: int) -> None:
    rng = random.Random(seed)
    days, stopped, group = _random_data(rng)
    obs = [Observation(d, e, "x") for d, e in zip(days, stopped, strict=True)]
    curve = kaplan_meier(obs)
    kmf = KaplanMeierFitter().fit(days, stopped)
    sf = kmf.survival_function_["KM_estimate"]
    ci = kmf.confidence_interval_
    table = kmf.event_table
    checkpoints = sorted({0, 30, 91, 183, 365, 500, *rng.sample(range(0, max(days) + 1), 10)})
    for t in checkpoints:
        if t > max(days):
            continue
        ours = curve.survival_at(t)
        theirs = float(sf[sf.index <= t].iloc[-1])
        assert ours == pytest.approx(theirs, abs=1e-12), (seed, t)
        lo, hi = curve.interval_at(t)  # type: ignore[misc]
        row = ci[ci.index <= t].iloc[-1]
        assert lo == pytest.approx(float(row.iloc[0]), abs=1e-9), (seed, t)
        assert hi == pytest.approx(float(row.iloc[1]), abs=1e-9), (seed, t)
        later = table[table.index >= t]
        at_risk = int(later["at_risk"].iloc[0]) if len(later) else 0
        assert curve.at_risk_at(t) == at_risk, (seed, t)

    by_group = [[o for o, g in zip(obs, group, strict=True) if g == j] for j in sorted(set(group))]
    ours = logrank(by_group)
    theirs = multivariate_logrank_test(days, group, stopped)
    assert ours is not None
    assert ours.statistic == pytest.approx(theirs.test_statistic, rel=1e-9, abs=1e-9)
    assert ours.p_value == pytest.approx(theirs.p_value, rel=1e-7, abs=1e-12)
    assert ours.df == theirs.degrees_of_freedom

    a, b = by_group[0], by_group[1]
    pair = logrank([a, b])
    two = logrank_test([o.days for o in a], [o.days for o in b], [o.stopped for o in a], [o.stopped for o in b])
    assert pair is not None
    assert pair.statistic == pytest.approx(two.test_statistic, rel=1e-9, abs=1e-9)
    assert pair.p_value == pytest.approx(two.p_value, rel=1e-7, abs=1e-12)
