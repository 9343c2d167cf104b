"""Survival by the assessment's verdict and score band, through the survival report's own breakdowns."""

from __future__ import annotations

from datetime import date, timedelta

from bot.context import AppContext
from db.enums import BusinessStatus, CandidateStage
from db.models import BusinessStatusChange
from services.aid.decision import approve
from services.aid.lifecycle import Actor
from services.reports import build_report
from tests import factories
from tests.preaid.helpers import assessed, candidate


async def test_survival_by_verdict_and_score_band(ctx: AppContext) -> None:
    aid_day = date(2025, 9, 1)
    async with ctx.session_factory.begin() as s:
        kec = await factories.region(s, "Kutai Barat", "Muara Pahu")
        tksk = await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=kec)
        for i in range(30):
            good = i % 2 == 0
            c = await candidate(s, ctx.cipher, ctx.clock, kecamatan=kec, name=f"Calon {i}")
            await assessed(s, ctx.clock, ctx.settings, tksk, c.id, score=4 if good else 2)
            decision = await approve(s, ctx.clock, ctx.settings, c, business_type="kue", actor=Actor("staff"),
                                     is_admin=True, override_reason=None)
            r = decision.recipient
            assert r is not None
            r.aid_date = aid_day
            c.stage = CandidateStage.HANDED_OVER
            status = BusinessStatus.RUNNING if good or i % 3 == 0 else BusinessStatus.STOPPED
            when = ctx.clock.now() - timedelta(days=30 if status == BusinessStatus.STOPPED else 3)
            r.business_status, r.business_status_since = status, when
            s.add(BusinessStatusChange(recipient_id=r.id, status=status, changed_at=when))
        # Someone from the old roster, never assessed.
        await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=kec, aid_date=aid_day)
    async with ctx.session_factory() as s:
        by_verdict = await build_report(s, settings=ctx.settings, clock=ctx.clock, breakdown="assessment_verdict")
        by_band = await build_report(s, settings=ctx.settings, clock=ctx.clock, breakdown="assessment_score")
    groups = {g.key: g for g in by_verdict.groups}
    assert {k: g.n for k, g in groups.items()} == {"layak": 15, "tidak_layak": 15, "none": 1}
    assert groups["layak"].status_counts.get(BusinessStatus.STOPPED, 0) == 0
    assert groups["tidak_layak"].status_counts[BusinessStatus.STOPPED] == 10
    bands = {g.key: g.n for g in by_band.groups}
    assert bands == {"≥4.0": 15, "<3.0": 15, "none": 1}
    # The same confidence rules as every survival figure: 15 followed is under reports.min_at_risk (20).
    assert ctx.settings.reports.min_at_risk == 20
    assert not groups["layak"].enough and not groups["tidak_layak"].enough
