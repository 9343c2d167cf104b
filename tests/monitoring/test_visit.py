"""The visit report through the emulator: from the card, without a location (allowed, flagged), photos,
obstacles each opening a case, the assisted check-in, a case in "visit planned" moved on and the recipient told
in plain words; refusals (stale card, stale save, a PSM of another kecamatan, a non-recipient)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from db.enums import CaseKind, CaseState, CheckinDueState
from db.models import Case, CaseEvent, Checkin, CheckinDue, Photo, Recipient, Visit, VisitDue
from sandbox.people import Person
from sandbox.runner import SandboxRun
from scheduler.runner import run_due
from services.cases import open_case
from services.cases.transitions import Action, Actor, apply
from tests.cases.conftest import People, World


async def _rows(sandbox: SandboxRun, model: Any, *where: Any, count: int = 1) -> list[Any]:
    for _ in range(250):  # the update's transaction commits just after its last reply
        async with sandbox.ctx.session_factory() as s:
            rows = list(await s.scalars(select(model).where(*where)))
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.02)
    raise AssertionError(f"{model.__name__}: {len(rows)} rows, wanted {count}")


async def _open_card(worker: Person) -> Any:
    await worker.send("/penerima")
    listing = await worker.wait_for("Penerima, halaman 1")
    await worker.press("📇 1", message=listing)
    return await worker.wait_for("Laporan terakhir")


async def _report_visit(worker: Person, card: Any, *, location: bool, obstacles: tuple[str, ...] = (),
                        button: str = "📝 Catat kunjungan") -> Any:
    await worker.press(button, message=card)
    await worker.wait_for("Kirim dulu lokasi Anda")
    if location:
        await worker.share_location(-0.5772, 117.2021)
        await worker.wait_for("Lokasi tersimpan")
    else:
        await worker.press_reply("➡️ Tanpa lokasi")
        await worker.wait_for("Tanpa lokasi: kunjungan akan ditandai")
    await worker.send_photo()
    await worker.wait_for("Foto diterima")
    await worker.press_reply("➡️ Lanjut")
    await worker.wait_for("Bagaimana usahanya")
    await worker.press("✅ Masih jalan")
    await worker.wait_for("Berapa hari")
    await worker.press("5")
    await worker.wait_for("Kira-kira berapa penjualan")
    await worker.press("Rp250–500 ribu")
    await worker.wait_for("Stok barang")
    await worker.press("stok menipis")
    await worker.wait_for("Peralatan dari bantuan")
    await worker.press("peralatan dipakai")
    prompt = await worker.wait_for("Ada kendala")
    for label in obstacles:
        await worker.press(label, message=prompt)
        await worker.wait_for(lambda m, label=label: m.message_id == prompt.message_id and f"✅ {label}" in m.buttons)
    await worker.press("➡️ Selesai" if obstacles else "➡️ Tidak ada kendala", message=prompt)
    await worker.wait_for("Saran apa")
    await worker.send("Tambah menu minuman dingin")
    await worker.wait_for("Kapan kunjungan berikutnya")
    await worker.press("30 hari lagi (Rabu, 1 Apr)")
    return await worker.wait_for("Periksa laporan kunjungan")


async def test_visit_without_location_is_an_assisted_checkin_and_opens_cases(
    sandbox: SandboxRun, people: People, world: World
) -> None:
    tksk = people.tksk
    card = await _open_card(tksk)
    summary = await _report_visit(tksk, card, location=False, obstacles=("Modal", "Sepi pembeli"))
    assert "Lokasi: tidak ada (ditandai)" in summary.text and "Kendala: Modal, Sepi pembeli" in summary.text
    await tksk.press("✅ Simpan kunjungan", message=summary)
    saved = await tksk.wait_for("sudah disimpan")
    assert "Dicatat tanpa lokasi" in saved.text
    assert "laporan berpendamping" in saved.text  # Siti had not reported this period
    assert saved.text.count("📌 Kasus") == 2

    visit = (await _rows(sandbox, Visit, Visit.recipient_id == world.recipient.id))[0]
    assert visit.latitude is None and visit.worker_id == world.tksk.id
    assert visit.stock == "low" and visit.equipment == "in_use" and visit.sales_bracket == "250k_500k"
    assert visit.obstacles == ["capital", "no_buyers"] and visit.next_visit_on.isoformat() == "2026-04-01"
    assert visit.checkin_id is not None
    async with sandbox.ctx.session_factory() as s:
        checkin = await s.get(Checkin, visit.checkin_id)
        assert checkin.status == "running" and checkin.days_open == 5 and not checkin.is_extra
        due = await s.get(CheckinDue, checkin.checkin_due_id)
        assert due.state == CheckinDueState.DONE  # the period counts as reported
        assert (await s.scalar(select(Photo).where(Photo.checkin_id == checkin.id))) is not None
        cases = list(await s.scalars(select(Case).where(Case.source == "visit").order_by(Case.id)))
        assert [c.kind for c in cases] == [CaseKind.CAPITAL, CaseKind.NO_BUYERS]
        plan = await s.scalar(select(VisitDue).where(VisitDue.recipient_id == world.recipient.id))
        assert plan.due_at.isoformat().startswith("2026-04-01")

    # The export marks the check-in as reported through a visit.
    import csv
    import io

    from services.exports import export_checkins

    buf = io.BytesIO()
    async with sandbox.ctx.session_factory() as s:
        await export_checkins(s, buf, fmt="csv", settings=sandbox.ctx.settings, cipher=sandbox.ctx.cipher,
                              clock=sandbox.ctx.clock)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue().decode("utf-8-sig")), delimiter=";"))
    assert [r["lewat_kunjungan"] for r in rows] == ["Ya"], rows

    # The card shows the visit and marks the check-in as assisted.
    fresh = await _open_card(tksk)
    assert "berpendamping" in fresh.text and "tanpa lokasi" in fresh.text and "Nurhayati" in fresh.text

    # The old card's visit button is stale now: refused, and the current card shown in its place.
    await tksk.press("📝 Catat kunjungan", message=card)
    await tksk.wait_idle()
    assert tksk.callback_answers[-1]["text"].startswith("Kartu ini sudah usang")
    assert len(await _rows(sandbox, Visit, Visit.recipient_id == world.recipient.id)) == 1


async def test_second_visit_in_a_period_is_not_assisted_and_a_stale_save_writes_nothing(
    sandbox: SandboxRun, people: People, world: World
) -> None:
    tksk, psm = people.tksk, people.psm
    # The TKSK and the PSM both start a report from the same card version.
    tksk_card = await _open_card(tksk)
    psm_card = await _open_card(psm)
    tksk_summary = await _report_visit(tksk, tksk_card, location=True)
    psm_summary = await _report_visit(psm, psm_card, location=False)
    await tksk.press("✅ Simpan kunjungan", message=tksk_summary)
    saved = await tksk.wait_for("sudah disimpan")
    assert "tanpa lokasi" not in saved.text and "berpendamping" in saved.text
    await _rows(sandbox, Visit, Visit.recipient_id == world.recipient.id)
    await psm.press("✅ Simpan kunjungan", message=psm_summary)
    refused = await psm.wait_for("Tidak disimpan")
    assert "sudah ada kunjungan lain" in refused.text
    await psm.wait_idle()
    assert len(await _rows(sandbox, Visit, Visit.recipient_id == world.recipient.id)) == 1

    # The PSM opens the fresh card and reports: the period is already reported, so no second check-in.
    psm_card = await _open_card(psm)
    summary = await _report_visit(psm, psm_card, location=True)
    await psm.press("✅ Simpan kunjungan", message=summary)
    saved = await psm.wait_for("sudah disimpan")
    assert "berpendamping" not in saved.text
    visits = await _rows(sandbox, Visit, Visit.recipient_id == world.recipient.id, count=2)
    assert sorted(v.checkin_id is None for v in visits) == [False, True]
    async with sandbox.ctx.session_factory() as s:
        assert len(list(await s.scalars(select(Checkin).where(Checkin.recipient_id == world.recipient.id)))) == 1


async def test_visit_moves_a_planned_case_on_and_the_recipient_is_told(
    sandbox: SandboxRun, people: People, world: World
) -> None:
    ctx = sandbox.ctx
    now = ctx.clock.now()
    async with ctx.session_factory.begin() as s:
        recipient = await s.get(Recipient, world.recipient.id)
        opened = await open_case(s, recipient=recipient, kind=CaseKind.EQUIPMENT, settings=ctx.settings,
                                 clock=ctx.clock)
        actor = Actor("tksk", world.tksk.name, None, worker_id=world.tksk.id, kecamatan_id=world.tksk.kecamatan_id)
        await apply(s, opened.case.id, Action.PLAN_VISIT, actor, now=now, settings=ctx.settings,
                    visit_on=now.date())
        case_id, number = opened.case.id, opened.case.number

    tksk, siti = people.tksk, people.siti
    card = await _open_card(tksk)
    assert "dijadwalkan Senin, 2 Mar 2026" in card.text
    # From the case in "visit planned" (/kasus → the case card) straight to its visit report.
    await tksk.send("/kasus")
    cases = await tksk.wait_for("Kasus terbuka di Palaran")
    await tksk.press("1", message=cases)
    case_card = await tksk.wait_for(lambda m: number in m.content and "📝 Laporkan kunjungan" in m.buttons)
    summary = await _report_visit(tksk, case_card, location=True, button="📝 Laporkan kunjungan")
    await tksk.press("✅ Simpan kunjungan", message=summary)
    saved = await tksk.wait_for("sudah disimpan")
    assert f"Kasus {number} berlanjut" in saved.text
    case = (await _rows(sandbox, Case, Case.id == case_id, Case.state == CaseState.TAKEN))[0]
    assert case.state == CaseState.TAKEN
    events = await _rows(sandbox, CaseEvent, CaseEvent.case_id == case_id, CaseEvent.action == "visited")
    assert events[0].from_state == CaseState.VISIT_PLANNED and events[0].note == "Tambah menu minuman dingin"

    await run_due(ctx, sandbox.app.messenger)  # the notice goes out from the scan, after the commit
    told = await siti.wait_for("sudah berkunjung pada")
    assert number in told.text and "Nurhayati" in told.text and "Tambah menu minuman dingin" in told.text
    await run_due(ctx, sandbox.app.messenger)
    await siti.wait_idle()
    assert len([m for m in siti.messages if "sudah berkunjung pada" in m.content]) == 1  # once


async def test_visit_refusals(sandbox: SandboxRun, people: People, world: World) -> None:
    from services.monitoring.card import RcCb

    other_tksk, tksk = people.other_tksk, people.tksk
    card = await _open_card(tksk)
    # A TKSK of another kecamatan forges the card's visit button.
    await other_tksk.press_callback(card.message_id, RcCb(action="visit", rid=world.recipient.id, v=0).pack())
    await other_tksk.wait_idle()
    assert other_tksk.callback_answers[-1]["text"] == "Maaf, penerima ini bukan di kecamatan Anda."
    # /kunjungan finds only recipients of one's own kecamatan.
    await other_tksk.send("/kunjungan Siti")
    await other_tksk.wait_for("Tidak ada penerima di kecamatan Anda")
    # Someone on the roster whose aid has not been handed over is not a recipient (yet).
    async with sandbox.ctx.session_factory.begin() as s:
        r = await s.get(Recipient, world.recipient.id)
        r.aid_date = None
    await tksk.press("📝 Catat kunjungan", message=card)
    await tksk.wait_idle()
    assert tksk.callback_answers[-1]["text"] == "Maaf, orang ini bukan penerima program."
    # A press on the summary of a flow that is over.
    from conversations.visit import VsCb

    await tksk.press_callback(card.message_id, VsCb(step="ok", value="save").pack())
    await tksk.wait_idle()
    assert tksk.callback_answers[-1]["text"] == "Tombol ini sudah tidak berlaku. Silakan pakai pesan terbaru."
    async with sandbox.ctx.session_factory() as s:
        assert await s.scalar(select(Visit.id)) is None
