"""/asesmen end to end through the emulator: the TKSK assesses at home (GPS, photos, button questionnaire,
voice note, recommendation), the draft survives a restart, staff approve or reject, the TKSK is told; every
refusal of the issue with a clear message and nothing half-written."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from bot.context import AppContext
from db.enums import AssessmentStatus, CandidateStage, OnboardingState, StaffRole, Verdict, WorkerRole
from db.models import AidPackage, Assessment, AuditLog, Candidate, CandidateEvent, Photo, Recipient
from sandbox.people import Person
from sandbox.runner import SandboxRun
from services.aid.assessment import score_answers
from tests import factories
from tests.preaid.helpers import LAYAK_ANSWERS, candidate

TKSK_TG, OTHER_TKSK_TG, STAFF_TG, ADMIN_TG = 950001, 950002, 950003, 950004


@dataclass
class World:
    tksk: Person
    other_tksk: Person
    staff: Person
    admin: Person
    rusmini: int
    budi: int
    far_away: int


@pytest.fixture
async def world(ctx: AppContext, sandbox: SandboxRun) -> World:
    async with ctx.session_factory.begin() as s:
        kec = await factories.region(s, "Kutai Barat", "Muara Pahu")
        other = await factories.region(s, "Kutai Barat", "Barong Tongkok")
        tksk = await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=kec, role=WorkerRole.TKSK,
                                      name="Nurhayati")
        other_tksk = await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=other, name="Yohanes")
        caseworker = await factories.staff(s, ctx.clock, role=StaffRole.CASEWORKER, name="Budi Dissos")
        admin = await factories.staff(s, ctx.clock, role=StaffRole.ADMIN, name="Ani Admin")
        await factories.link(s, ctx.clock, TKSK_TG, worker=tksk)
        await factories.link(s, ctx.clock, OTHER_TKSK_TG, worker=other_tksk)
        await factories.link(s, ctx.clock, STAFF_TG, staff=caseworker)
        await factories.link(s, ctx.clock, ADMIN_TG, staff=admin)
        rusmini = await candidate(s, ctx.cipher, ctx.clock, kecamatan=kec, name="Rusmini")
        budi = await candidate(s, ctx.cipher, ctx.clock, kecamatan=kec, name="Budi Santoso", preferred=None)
        far = await candidate(s, ctx.cipher, ctx.clock, kecamatan=other, name="Maria Lintang")
        ids = (rusmini.id, budi.id, far.id)
    return World(sandbox.person(TKSK_TG, "Nur"), sandbox.person(OTHER_TKSK_TG, "Yohanes"),
                 sandbox.person(STAFF_TG, "Budi"), sandbox.person(ADMIN_TG, "Ani"), *ids)


async def assess_until_questions(tksk: Person, name: str) -> None:
    await tksk.command("asesmen")
    await tksk.wait_for("Calon yang perlu diasesmen di Muara Pahu")
    await tksk.press(f"{name} · Karang Makmur")
    await tksk.wait_for("kirim lokasinya")
    await tksk.press_reply("📍 Kirim lokasi")
    await tksk.wait_for("Kirim 1 sampai 3 foto")
    await tksk.send_photo()
    await tksk.wait_for("Foto 1 dari paling banyak 3 tersimpan")
    await tksk.press_reply("➡️ Lanjut")
    await tksk.wait_for("Pertanyaan 1 dari 10")


async def answer_all(tksk: Person, answers: list[tuple[str, str]], start: int = 1) -> None:
    for n, (question, choice) in enumerate(answers, start=start):
        await tksk.wait_for(question)
        await tksk.press(choice)
        if n < 10:
            await tksk.wait_for(f"Pertanyaan {n + 1} dari 10")


async def test_assess_restart_resume_submit_and_approve(sandbox: SandboxRun, world: World) -> None:
    ctx, tksk = sandbox.ctx, world.tksk
    await assess_until_questions(tksk, "Rusmini")
    await answer_all(tksk, LAYAK_ANSWERS[:4])
    await sandbox.settle()
    await sandbox.restart_bot()  # the draft is in the database
    await tksk.command("asesmen")
    await tksk.wait_for("▶️ tanda asesmen")
    await tksk.press("▶️ Rusmini · Karang Makmur")
    await tksk.wait_for("Pertanyaan 5 dari 10")  # resumes at the first unanswered question
    await answer_all(tksk, LAYAK_ANSWERS[4:], start=5)
    await tksk.wait_for("pesan suara")
    await tksk.send_voice()
    prompt = await tksk.wait_for("Saran usaha: Kue")
    assert "Skor: 4.20 · layak" in prompt.text and "✅ Pasar: 4.00" in prompt.text
    await tksk.press("⭐ Kue")
    await tksk.wait_for("Tulis alasan singkat")
    await tksk.send("Sudah 4 tahun jual kue di pasar, dapur bersih")
    summary = await tksk.wait_for("Kirim asesmen ini ke Dinas Sosial?")
    assert "Foto: 1" in summary.text and "Pesan suara: ada" in summary.text
    await tksk.press("✅ Kirim")
    await tksk.wait_for("Asesmen Rusmini terkirim: layak, skor 4.20")
    await sandbox.settle()
    async with ctx.session_factory() as s:
        a = await s.scalar(select(Assessment).where(Assessment.candidate_id == world.rusmini))
        assert a is not None and a.status == AssessmentStatus.SUBMITTED and a.verdict == Verdict.LAYAK
        assert a.latitude is not None and a.voice_file_id and a.recommended_business_type == "kue"
        assert a.suggested_business_type == "kue" and a.feasible_share == 1.0
        assert a.aspect_scores == {"market": 4.0, "technical": 4.0, "management": 4.0, "finance": 4.0,
                                   "social": 5.0}
        assert a.score == 4.2
        photo = await s.get(Photo, a.photos[0]["photo_id"])
        assert photo is not None
        c = await s.get(Candidate, world.rusmini)
        assert c is not None and c.stage == CandidateStage.ASSESSED

    # A stale question button after submitting is refused and changes nothing.
    answers = list(tksk.callback_answers)
    old = next(m for m in tksk.messages if "Pertanyaan 10 dari 10" in (m.text or "") or "Semangat" in (m.text or ""))
    await tksk.press_callback(old.message_id, f"as:q:{a.id}:motivation:1")
    await sandbox.settle()
    assert tksk.callback_answers[len(answers):][-1]["text"] == "Calon ini sudah diasesmen."

    staff = world.staff
    await staff.command("asesmen")
    await staff.wait_for("Asesmen menunggu keputusan: 1")
    await staff.press("Rusmini · Muara Pahu · 4.2")
    card = await staff.wait_for("Diasesmen oleh Nurhayati")
    assert "Skor: 4.20 · layak" in card.text and "Paket: Rp4.750.000" in card.text
    assert "6402" in card.text and "*" in card.text  # NIK masked for a caseworker
    await staff.press("✅ Setujui: Kue")
    await staff.wait_for("Rusmini disetujui: Kue")
    package_msg = await staff.wait_for("Paket Rusmini")
    assert "Oven gas — 1 unit, Rp1.400.000" in package_msg.text and "Nilai seluruhnya: Rp4.750.000" in package_msg.text
    told = await tksk.wait_for("Dinas Sosial menyetujui Rusmini")
    assert "paket Rp4.750.000" in told.text
    # Adjust: a second oven would exceed the range and is refused with its sum; one more gas bottle fits.
    await staff.press("➕", message=package_msg)
    await sandbox.settle()
    refused = staff.callback_answers[-1]
    assert refused["text"] == "Nilai paket akan menjadi Rp6.150.000, di luar Rp4.500.000 sampai Rp5.000.000."
    async with ctx.session_factory() as s:
        pid = await s.scalar(select(AidPackage.id))
    await staff.press_callback(package_msg.message_id, f"pk:{pid}:4:1")
    adjusted = await staff.wait_for("Nilai seluruhnya: Rp5.000.000")
    assert "Tabung gas 3 kg berisi — 2 unit, Rp500.000" in adjusted.text
    async with ctx.session_factory() as s:
        c = await s.get(Candidate, world.rusmini)
        assert c is not None and c.stage == CandidateStage.PACKAGE_SET and c.recipient_id is not None
        r = await s.get(Recipient, c.recipient_id)
        assert r is not None and r.aid_date is None and r.onboarding_state == OnboardingState.NOT_JOINED
        assert r.business_type == "kue" and r.aid_value == 5_000_000
        package = await s.scalar(select(AidPackage).where(AidPackage.recipient_id == r.id))
        assert package is not None and package.value == 5_000_000
        events = list(await s.scalars(select(CandidateEvent).where(CandidateEvent.candidate_id == c.id)
                                      .order_by(CandidateEvent.id)))
        assert [(e.action, e.to_stage) for e in events] == [
            ("assessed", "assessed"), ("approved", "approved"), ("package_set", "package_set")]
        assert events[0].actor == "TKSK Nurhayati" and events[1].actor == "caseworker Budi Dissos"
        assert await s.scalar(select(func.count()).select_from(AuditLog)
                              .where(AuditLog.action == "candidate.viewed")) == 1
        assert await s.scalar(select(func.count()).select_from(AuditLog)
                              .where(AuditLog.action == "package.adjusted")) == 1


async def test_refusals_other_kecamatan_forged_and_unassessed(sandbox: SandboxRun, world: World) -> None:
    tksk = world.tksk
    await tksk.command("asesmen")
    listing = await tksk.wait_for("Calon yang perlu diasesmen di Muara Pahu: 2")
    assert "Maria" not in str(listing.buttons)  # no one else's candidates
    # A forged button for a candidate of another kecamatan.
    await tksk.press_callback(listing.message_id, f"as:pick:{world.far_away}::")
    await sandbox.settle()
    assert "di luar kecamatan Anda" in tksk.callback_answers[-1]["text"]
    # Another kecamatan's TKSK cannot take over a draft by pressing its button either.
    await assess_until_questions(tksk, "Budi Santoso")
    async with sandbox.ctx.session_factory() as s:
        draft = await s.scalar(select(Assessment).where(Assessment.candidate_id == world.budi))
        assert draft is not None
    other = world.other_tksk
    await other.command("asesmen")
    await other.wait_for("Barong Tongkok")
    await other.press_callback(other.messages[-1].message_id, f"as:q:{draft.id}:experience_type:kue")
    await sandbox.settle()
    assert other.callback_answers[-1]["text"] == "Asesmen ini milik petugas lain."
    # A button from an earlier question (stale) is refused.
    await tksk.press("Kue")
    await tksk.wait_for("Pertanyaan 2 dari 10")
    await tksk.press_callback(tksk.messages[-2].message_id, f"as:q:{draft.id}:experience_type:gorengan")
    await sandbox.settle()
    assert tksk.callback_answers[-1]["text"] == "Tombol ini sudah tidak berlaku. Silakan pakai pesan terbaru."
    async with sandbox.ctx.session_factory() as s:
        a = await s.get(Assessment, draft.id)
        assert a is not None and a.answers["experience_type"] == "kue" and len(a.answers) == 2  # + _photos_done
    # Staff cannot approve someone never assessed: no such button exists, and a forged one is refused.
    staff = world.staff
    await staff.command("asesmen")
    none = await staff.wait_for("Tidak ada asesmen yang menunggu keputusan")
    await staff.press_callback(none.message_id, f"dc:okt:{world.budi}:kue")
    await sandbox.settle()
    assert staff.callback_answers[-1]["text"] == "Calon ini sudah diputuskan."
    async with sandbox.ctx.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Recipient)) == 0


async def test_reject_with_a_reason_tells_the_tksk(sandbox: SandboxRun, world: World) -> None:
    tksk = world.tksk
    await assess_until_questions(tksk, "Rusmini")
    low = [(q, a) for q, a in LAYAK_ANSWERS]
    low[1] = (low[1][0], "Belum pernah")
    low[2] = (low[2][0], "Tidak ada")
    low[4] = (low[4][0], "Sepi, banyak pesaing")
    low[8] = (low[8][0], "Tidak ada, ada utang")
    await answer_all(tksk, low)
    await tksk.wait_for("pesan suara")
    await tksk.press("Lewati")
    prompt = await tksk.wait_for("Saran usaha")
    assert "tidak layak" in prompt.text
    await tksk.press("⭐ Kue")
    await tksk.wait_for("Tulis alasan")
    await tksk.send("Calon ingin mencoba")
    await tksk.wait_for("Kirim asesmen ini")
    await tksk.press("✅ Kirim")
    await tksk.wait_for("terkirim: tidak layak")
    staff = world.staff
    await staff.command("asesmen")
    await staff.wait_for("menunggu keputusan: 1")
    await staff.press("Rusmini · Muara Pahu · 2.7")
    await staff.wait_for("Diasesmen oleh")
    await staff.press("❌ Tidak disetujui (beri alasan)")
    await staff.wait_for("Mengapa Rusmini tidak disetujui?")
    await staff.send("Belum ada pengalaman dan tempat usaha")
    await staff.wait_for("Tercatat: Rusmini tidak disetujui")
    told = await tksk.wait_for("Dinas Sosial tidak menyetujui Rusmini")
    assert "Belum ada pengalaman dan tempat usaha" in told.text
    async with sandbox.ctx.session_factory() as s:
        c = await s.get(Candidate, world.rusmini)
        assert c is not None and c.stage == CandidateStage.NOT_APPROVED and c.recipient_id is None
        assert c.decision_reason == "Belum ada pengalaman dan tempat usaha"


def test_thresholds_come_from_configuration(settings) -> None:  # type: ignore[no-untyped-def]
    cfg = settings.assessment
    scores = {q.key: 4 for q in cfg.questions if q.kind == "score"}
    assert score_answers(scores, cfg).verdict == Verdict.LAYAK  # 5 of 5 aspects feasible (100% > 80%)
    scores["motivation"] = 3  # social 3.0 is not above 3: 4 of 5 = 80% → meragukan
    assert score_answers(scores, cfg).verdict == Verdict.MERAGUKAN
    scores["other_income"] = 2  # 3 of 5 = 60% → still meragukan
    assert score_answers(scores, cfg).feasible_share == 0.6
    assert score_answers(scores, cfg).verdict == Verdict.MERAGUKAN
    scores["health"] = scores["household_help"] = 1  # 2 of 5 = 40% → tidak layak
    assert score_answers(scores, cfg).verdict == Verdict.TIDAK_LAYAK
    cfg.feasible_above = 1.5  # a threshold in the configuration changes the verdict
    assert score_answers(scores, cfg).verdict == Verdict.MERAGUKAN
    mixed = {"experience_type": "bengkel_motor", "demand_type": "kue"}
    assert score_answers(mixed, cfg, preferred="kue").suggested_business_type == "kue"
    both = {"experience_type": "bengkel_motor", "demand_type": "bengkel_motor"}
    assert score_answers(both, cfg, preferred="kue").suggested_business_type == "bengkel_motor"  # 4 against 1
