"""The visit plan through the emulator and the scan tick: plan rows, the Monday 07:00 WITA list per TKSK and PSM
ordered by risk with card buttons (once a week), Dinas Sosial told of visits more than a week late (once), and
the call / plan-a-visit buttons of the TKSK's missed-check-in digest."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from db.enums import CheckinDueState
from db.models import CheckinDue, Kecamatan, VisitDue
from sandbox.runner import SandboxRun
from scheduler.runner import run_due
from tests import factories
from tests.cases.conftest import People, World


def at(local: str) -> datetime:
    """A WITA wall-clock time as aware UTC."""
    return datetime.fromisoformat(local).replace(tzinfo=UTC) - timedelta(hours=8)


async def test_monday_list_by_risk_once_a_week_and_overdue_told_to_dissos(
    sandbox: SandboxRun, people: People, world: World
) -> None:
    ctx = sandbox.ctx
    async with ctx.session_factory.begin() as s:
        palaran = await s.get(Kecamatan, world.tksk.kecamatan_id)
        # Not on Telegram (unreachable) and never visited: riskier than Siti, who only waits for a visit.
        await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=palaran, name="Wati Lestari",
                                  phone=None)
    ctx.clock.set(at("2026-03-02T06:59"))  # type: ignore[attr-defined]
    await run_due(ctx, sandbox.app.messenger)
    await people.tksk.wait_idle()
    assert not [m for m in people.tksk.messages if "Kunjungan minggu ini" in m.content]  # before 07:00
    async with ctx.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(VisitDue)) == 3  # every recipient has a plan row

    ctx.clock.set(at("2026-03-02T07:00"))  # type: ignore[attr-defined]
    await run_due(ctx, sandbox.app.messenger)
    weekly = await people.tksk.wait_for("Kunjungan minggu ini di Palaran (2)")
    lines = weekly.text.splitlines()
    assert lines[1].startswith("1. 🟡 Wati Lestari") and "tidak terjangkau di Telegram" in lines[2]
    assert lines[3].startswith("2. 🟡 Siti Aminah") and "kunjungan terlambat" in lines[4]
    assert weekly.buttons == ["1. Wati Lestari", "2. Siti Aminah"]
    psm_list = await people.psm.wait_for("Kunjungan minggu ini di Palaran (2)")
    assert psm_list.buttons == weekly.buttons
    other = await people.other_tksk.wait_for("Kunjungan minggu ini di Loa Janan (1)")
    assert "Rahmawati" in other.text and "Siti" not in other.text

    # Visits more than 7 days late (Siti's fell due on 4 Feb): Dinas Sosial is told, once.
    told = await people.budi.wait_for("Kunjungan terlambat lebih dari 7 hari (3)")
    assert "Palaran" in told.text and "Siti Aminah" in told.text and "Loa Janan" in told.text
    await people.admin.wait_for("Kunjungan terlambat lebih dari 7 hari")

    await people.tksk.press("2. Siti Aminah", message=weekly)
    card = await people.tksk.wait_for("Laporan terakhir")
    assert "Siti Aminah" in card.text

    ctx.clock.set(at("2026-03-02T15:00"))  # type: ignore[attr-defined]
    await run_due(ctx, sandbox.app.messenger)
    await sandbox.settle()
    for person in (people.tksk, people.psm, people.budi):
        assert len([m for m in person.messages if "Kunjungan minggu ini" in m.content
                    or "Kunjungan terlambat lebih" in m.content]) == 1, person

    ctx.clock.set(at("2026-03-09T07:30"))  # type: ignore[attr-defined]
    await run_due(ctx, sandbox.app.messenger)
    await people.tksk.wait_for("Kunjungan minggu ini di Palaran (2)")  # next Monday, next list


async def test_digest_has_call_and_plan_a_visit_buttons(sandbox: SandboxRun, people: People, world: World) -> None:
    ctx = sandbox.ctx
    async with ctx.session_factory.begin() as s:
        s.add(CheckinDue(recipient_id=world.recipient.id, period_no=1, due_at=ctx.clock.now() - timedelta(days=6),
                         state=CheckinDueState.MISSED, missed_at=ctx.clock.now() - timedelta(hours=2)))
    await run_due(ctx, sandbox.app.messenger)
    digest = await people.tksk.wait_for("Laporan usaha yang terlewat")
    assert digest.buttons[:3] == ["📇 Siti Aminah", "📞 Telepon", "🏠 Rencanakan kunjungan"]

    await people.tksk.press("📞 Telepon", message=digest)
    await people.tksk.wait_for("+6281234567890")
    await people.tksk.press("🏠 Rencanakan kunjungan", message=digest)
    picker = await people.tksk.wait_for("hari apa Anda berkunjung")
    await people.tksk.press("Besok, 3 Mar", message=picker)
    await people.tksk.wait_for("direncanakan Selasa, 3 Mar 2026")
    for _ in range(250):  # the press's transaction commits just after its reply
        async with ctx.session_factory() as s:
            plan = await s.scalar(select(VisitDue).where(VisitDue.recipient_id == world.recipient.id))
        if plan is not None and plan.planned_on is not None:
            break
        await asyncio.sleep(0.02)
    assert plan is not None and plan.planned_on.isoformat() == "2026-03-03"

    # The other kecamatan's TKSK cannot plan a visit to Siti by replaying the button.
    from services.monitoring.card import RcCb

    await people.other_tksk.press_callback(digest.message_id, RcCb(action="pday", rid=world.recipient.id,
                                                                   arg="20260304").pack())
    await people.other_tksk.wait_idle()
    assert people.other_tksk.callback_answers[-1]["text"] == "Maaf, penerima ini bukan di kecamatan Anda."
    async with ctx.session_factory() as s:
        plan = await s.scalar(select(VisitDue).where(VisitDue.recipient_id == world.recipient.id))
    assert plan.planned_on.isoformat() == "2026-03-03"


async def test_a_long_overdue_backlog_is_counted_per_kecamatan(ctx) -> None:  # type: ignore[no-untyped-def]
    """The first run on a whole roster finds hundreds of visits late: Dinas Sosial gets counts, not pages of
    names."""
    from types import SimpleNamespace

    from bot.factory import create_i18n
    from services.monitoring.plan import OVERDUE_NAMES, overdue_text

    now = ctx.clock.now()
    late = [(SimpleNamespace(due_at=now - timedelta(days=20)), SimpleNamespace(name=f"Warga {i}", desa="Desa"),
             "Palaran" if i % 2 else "Loa Janan") for i in range(OVERDUE_NAMES + 1)]
    i18n = create_i18n(ctx)
    with i18n.context(), i18n.use_locale("id"):
        parts = overdue_text(late, now=now, settings=ctx.settings)
        few = overdue_text(late[:3], now=now, settings=ctx.settings)
    assert len(parts) == 1 and "Warga" not in parts[0]
    assert "<b>Palaran</b> (20)" in parts[0] and "<b>Loa Janan</b> (21)" in parts[0] and "/pemantauan" in parts[0]
    assert "Warga 1, Desa: terlambat 20 hari" in few[0]
