"""The risk score (points per signal from configuration, a readable why, as of a past time) and the monitoring
figures (coverage per TKSK / kecamatan / kabupaten, assisted check-ins, risk bands, "visit planned" → visit),
in the bot (``/pemantauan``, a TKSK sees only their kecamatan) and on the command line."""

from __future__ import annotations

from datetime import timedelta

from bot.context import AppContext
from db.enums import BusinessStatus, CaseKind, CheckinDueState
from db.models import BusinessStatusChange, CaseEvent, Checkin, CheckinDue, Recipient, Visit
from sandbox.runner import SandboxRun
from services.cases import open_case
from services.monitoring.reports import monitoring_report
from services.monitoring.risk import risk_scores, why
from tests.cases.conftest import People, World, build_world


async def _signals(ctx: AppContext, world: World) -> None:
    now = ctx.clock.now()
    rid = world.recipient.id
    async with ctx.session_factory.begin() as s:
        for period, (state, days_ago) in enumerate((("done", 60), ("missed", 40), ("missed", 20)), 1):
            due_at = now - timedelta(days=days_ago + 5)
            s.add(CheckinDue(recipient_id=rid, period_no=period, due_at=due_at, state=state,
                             completed_at=due_at if state == CheckinDueState.DONE else None,
                             missed_at=now - timedelta(days=days_ago) if state == CheckinDueState.MISSED else None))
        s.add(Checkin(recipient_id=rid, status="running", days_open=6, sales_bracket="1m_2m",
                      submitted_at=now - timedelta(days=80)))
        s.add(Checkin(recipient_id=rid, status="paused", days_open=2, sales_bracket="250k_500k",
                      submitted_at=now - timedelta(days=60)))
        s.add(BusinessStatusChange(recipient_id=rid, status=BusinessStatus.PAUSED, changed_at=now - timedelta(days=60)))


async def test_risk_score_points_why_and_as_of(ctx: AppContext) -> None:
    world = await build_world(ctx)
    await _signals(ctx, world)
    now = ctx.clock.now()
    rid = world.recipient.id
    async with ctx.session_factory() as s:
        risk = (await risk_scores(s, [rid], now=now, settings=ctx.settings))[rid]
        # 2 missed × 2 + paused 2 + sales falling 2 + days falling 1 + visit overdue 1
        assert risk.signals == {"missed_checkin": 2, "paused": 1, "sales_falling": 1, "days_falling": 1,
                                "no_visit": 1}
        assert risk.score == 10
        from bot.factory import create_i18n

        i18n = create_i18n(ctx)
        with i18n.context(), i18n.use_locale("id"):
            assert why(risk) == ("2 lapor terlewat, usaha berhenti sementara, penjualan turun, "
                                 "hari buka berkurang, kunjungan terlambat")
        # As of 30 days ago only the first miss was known (the second was missed 20 days ago).
        earlier = (await risk_scores(s, [rid], now=now - timedelta(days=30), settings=ctx.settings))[rid]
        assert earlier.signals.get("missed_checkin") == 1
        # Points come from configuration: switching a signal off removes it.
        ctx.settings.monitoring.risk_points.sales_falling = 0
        ctx.settings.monitoring.risk_points.missed_checkin = 3
        changed = (await risk_scores(s, [rid], now=now, settings=ctx.settings))[rid]
        assert changed.score == 6 + 2 + 1 + 1 and "sales_falling" not in changed.signals


async def test_monitoring_figures(ctx: AppContext) -> None:
    world = await build_world(ctx)
    now = ctx.clock.now()
    async with ctx.session_factory.begin() as s:
        siti = await s.get(Recipient, world.recipient.id)
        opened = await open_case(s, recipient=siti, kind=CaseKind.OTHER, settings=ctx.settings, clock=ctx.clock)
        s.add(CaseEvent(case_id=opened.case.id, at=now - timedelta(days=12), actor="x", action="visit"))
        checkin = Checkin(recipient_id=siti.id, status="running", submitted_at=now - timedelta(days=10))
        s.add(checkin)
        await s.flush()
        s.add(Visit(recipient_id=siti.id, kecamatan_id=siti.kecamatan_id, worker_id=world.tksk.id,
                    visited_at=now - timedelta(days=10), observed_status="running", checkin_id=checkin.id,
                    case_id=opened.case.id, created_at=now))
        s.add(Visit(recipient_id=siti.id, kecamatan_id=siti.kecamatan_id, worker_id=world.psm.id,
                    visited_at=now - timedelta(days=70), observed_status="running", created_at=now))
    async with ctx.session_factory() as s:
        report = await monitoring_report(s, now=now, settings=ctx.settings)
    assert (report.total.recipients, report.total.visited_30, report.total.visited_90) == (2, 1, 1)
    by_kec = {c.label: (c.visited_30, c.recipients) for c in report.by_kecamatan}
    assert by_kec == {"Palaran (Kota Samarinda)": (1, 1), "Loa Janan (Kutai Kartanegara)": (0, 1)}
    assert {c.label for c in report.by_tksk} == {"Nurhayati · Palaran", "Yusuf · Loa Janan"}
    assert report.by_kecamatan[0].label.startswith("Loa Janan")  # lowest coverage first
    assert (report.assisted_total, report.assisted_30, report.checkins_30) == (1, 1, 1)
    assert report.planned_to_visit_days == [2.0]
    assert sum(report.risk_bands.values()) == 2


async def test_pemantauan_in_the_bot_and_scoped_for_a_tksk(sandbox: SandboxRun, people: People,
                                                            world: World) -> None:
    await people.budi.send("/pemantauan")
    full = await people.budi.wait_for("Pemantauan lapangan")
    assert "Palaran" in full.text and "Loa Janan" in full.text and "Skor risiko" in full.text
    await people.tksk.send("/pemantauan")
    own = await people.tksk.wait_for("Pemantauan lapangan")
    assert "Palaran" in own.text and "Loa Janan" not in own.text
    await people.siti.send("/pemantauan")
    await people.siti.wait_idle()
    assert not [m for m in people.siti.messages if "Pemantauan" in m.content]
