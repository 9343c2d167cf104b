"""Every right in /privasi end to end through the emulator: see, correct (text and voice), restrict, delete,
withdraw consent; the deadlines; and the refusals (someone else's request, a stale button, a second deletion,
a TKSK pretending to be the recipient)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.context import AppContext
from db.enums import (
    ConsentDecision,
    PrivacyRequestKind,
    PrivacyRequestState,
    ReminderStatus,
)
from db.models import (
    AuditLog,
    Checkin,
    ConsentRecord,
    OutboxMessage,
    PrivacyRequest,
    Recipient,
    Reminder,
    TelegramAccount,
    Visit,
)
from sandbox.runner import SandboxRun
from services.privacy import requests as rules
from tests.cases.conftest import People, World
from tests.privacy.conftest import answer_to, requests, tick


async def _recipient(ctx: AppContext, rid: int) -> Recipient:
    async with ctx.session_factory() as s:
        return await s.get(Recipient, rid)


async def _nik_of(ctx: AppContext, rid: int) -> str:
    return ctx.cipher.decrypt((await _recipient(ctx, rid)).nik_encrypted)


async def _ask_for_deletion(person) -> None:  # type: ignore[no-untyped-def]
    """/privasi → 🗑 → yes: a deletion request, as the person makes it."""
    await person.command("privasi")
    await person.wait_for("Hak Anda")
    await person.press("🗑 Hapus data saya")
    await person.wait_for("Hapus data Anda?")
    await person.press("Ya, kirim permintaan")
    await person.wait_for("sudah dicatat")


async def test_privasi_shows_rights_and_dpo_contact(sandbox: SandboxRun, people: People, world: World) -> None:
    await people.siti.command("privasi")
    menu = await people.siti.wait_for("Hak Anda")
    assert "Pejabat Pelindungan Data Pribadi" in menu.text and "ppdp@example.go.id" in menu.text
    assert "0541-111222" in menu.text
    assert menu.buttons == ["📄 Lihat data saya", "✏️ Perbaiki data saya", "⏸ Hentikan pemakaian data saya",
                            "🗑 Hapus data saya", "🚪 Tarik persetujuan saya"]
    # Someone who is not a recipient reads the terms and the contact, with no buttons to act on anyone's data.
    await people.tksk.command("privasi")
    terms = await people.tksk.wait_for("Hak Anda")
    assert "ppdp@example.go.id" in terms.text and not terms.buttons


async def test_see_my_data_summary_and_file(sandbox: SandboxRun, people: People, world: World) -> None:
    ctx = sandbox.ctx
    async with ctx.session_factory.begin() as s:
        s.add(Checkin(recipient_id=world.recipient.id, status="running", days_open=6, sales_bracket="lt500k",
                      note="Ramai pembeli", submitted_at=ctx.clock.now()))
        s.add(Visit(recipient_id=world.recipient.id, kecamatan_id=world.recipient.kecamatan_id,
                    worker_id=world.tksk.id, visited_at=ctx.clock.now(), observed_status="running",
                    advice="Tambah etalase", created_at=ctx.clock.now()))
    nik = await _nik_of(ctx, world.recipient.id)
    await people.siti.command("privasi")
    await people.siti.wait_for("Hak Anda")
    await people.siti.press("📄 Lihat data saya")
    summary = await people.siti.wait_for("Data Anda di program UEP")
    assert "Siti Aminah" in summary.text and "Laporan: 1" in summary.text
    assert nik not in summary.text and nik[:4] + "********" + nik[-4:] in summary.text
    document = await people.siti.wait_for(lambda m: bool(m.files) and m.files[0].kind == "document")
    content = document.files[0].data.decode()
    assert document.files[0].file_name.startswith("data-saya-") and document.files[0].file_name.endswith(".txt")
    for part in ("== Profil ==", "== Riwayat persetujuan ==", "== Laporan usaha ==", "Ramai pembeli",
                 "== Foto ==", "== Kendala yang dilaporkan (kasus) ==", "== Pesan yang dikirim kepada Anda ==",
                 "Jl. Damai RT 1", "+6281234567890", "== Kunjungan TKSK atau PSM Anda ==", "saran: Tambah etalase"):
        assert part in content, part
    assert nik not in content
    [request] = await requests(ctx)
    assert (request.kind, request.state) == (PrivacyRequestKind.ACCESS, PrivacyRequestState.ANSWERED)
    assert request.closed_at == ctx.clock.now() and request.answer
    async with ctx.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "privacy.access", AuditLog.target == f"recipient:{world.recipient.id}")) == 1


async def test_correction_by_text_reaches_tksk_and_dinas_sosial_without_the_nik(
    sandbox: SandboxRun, people: People, world: World, caplog
) -> None:
    ctx = sandbox.ctx
    nik = await _nik_of(ctx, world.recipient.id)
    await people.siti.command("privasi")
    await people.siti.wait_for("Hak Anda")
    await people.siti.press("✏️ Perbaiki data saya")
    await people.siti.wait_for("Apa yang salah")
    spaced = " ".join(nik[i:i + 4] for i in range(0, 16, 4))
    await people.siti.send(f"Nama saya Siti Aminah Lestari, NIK {spaced}")
    done = await people.siti.wait_for("sudah dicatat")
    assert "TKSK Anda dan Dinas Sosial sudah diberi tahu" in done.text
    assert "NIK yang Anda tulis disembunyikan" in done.text
    [request] = await requests(ctx)
    assert request.kind == PrivacyRequestKind.CORRECTION and request.state == PrivacyRequestState.OPEN
    assert request.due_at == request.created_at + timedelta(hours=72)
    assert nik not in request.details and "Siti Aminah Lestari" in request.details
    await sandbox.settle()
    async with ctx.session_factory() as s:
        queued = list(await s.scalars(select(OutboxMessage.account_id).where(
            OutboxMessage.kind == "privacy_message")))
    assert len(queued) == 4  # the TKSK, two caseworkers, the admin: through the outbox, once each
    tksk_notice = await people.tksk.wait_for("Permintaan data baru")
    assert "Siti Aminah Lestari" in tksk_notice.text and nik not in tksk_notice.text
    for staff in (people.budi, people.dewi, people.admin):
        notice = await staff.wait_for(f"#{request.id}")
        assert "uep privacy requests" in notice.text and nik not in notice.text
    assert not any("Permintaan data" in m.content for m in people.other_tksk.messages), "only her own TKSK hears"
    assert nik not in caplog.text
    async with ctx.session_factory() as s:
        details = [str(d) for d in await s.scalars(select(AuditLog.details))]
    assert not any(nik in d for d in details)

    # Dinas Sosial applies it through the normal profile service; audited; the person is told.
    async with ctx.session_factory.begin() as s:
        closed = await rules.apply_request(s, ctx.clock, ctx.settings, request.id, actor="Budi (caseworker)",
                                           changes={"name": "Siti Aminah Lestari"})
    assert closed.changed == ["name"] and closed.told
    assert (await _recipient(ctx, world.recipient.id)).name == "Siti Aminah Lestari"
    await tick(sandbox)
    await people.siti.wait_for("data Anda sudah diperbaiki")
    async with ctx.session_factory() as s:
        corrected = await s.scalar(select(AuditLog).where(AuditLog.action == "recipient.corrected"))
    assert corrected.details["fields"] == ["name"] and corrected.actor == "Budi (caseworker)"
    # A second apply of the same request is refused: it is closed.
    async with ctx.session_factory.begin() as s:
        try:
            await rules.apply_request(s, ctx.clock, ctx.settings, request.id, actor="Dewi", changes={"name": "X"})
            raise AssertionError("applied twice")
        except rules.RequestRefused as refused:
            assert refused.reason == "closed"


async def test_correction_by_voice_note_forwards_the_voice(sandbox: SandboxRun, people: People, world: World) -> None:
    await people.siti.command("privasi")
    await people.siti.wait_for("Hak Anda")
    await people.siti.press("✏️ Perbaiki data saya")
    await people.siti.wait_for("Apa yang salah")
    await people.siti.send_voice(duration=5)
    await people.siti.wait_for("sudah dicatat")
    [request] = await requests(sandbox.ctx)
    assert request.voice_file_id and request.details is None
    await tick(sandbox)
    await people.tksk.wait_for("pesan suara (di bawah)")
    await people.tksk.wait_for(lambda m: "voice" in m.data)
    # A second correction while this one is open is not a new request.
    await people.siti.command("privasi")
    menu = await people.siti.wait_for("Permintaan Anda yang masih berjalan")
    assert f"✖ Batalkan permintaan #{request.id}" in menu.buttons
    await people.siti.press("✏️ Perbaiki data saya", message=menu)
    await people.siti.wait_for("Anda sudah meminta ini pada")
    assert len(await requests(sandbox.ctx)) == 1


async def test_restriction_stops_reminders(sandbox: SandboxRun, people: People, world: World) -> None:
    ctx = sandbox.ctx
    async with ctx.session_factory.begin() as s:
        s.add(Reminder(dedupe_key="t:1", kind="checkin", recipient_id=world.recipient.id, due_at=ctx.clock.now()
                       + timedelta(days=3), status=ReminderStatus.PENDING))
    await people.siti.command("privasi")
    await people.siti.wait_for("Hak Anda")
    await people.siti.press("⏸ Hentikan pemakaian data saya")
    sure = await people.siti.wait_for("Hentikan pemakaian data Anda?")
    assert "UU PDP Pasal 15" in sure.text, "what is kept is said in plain words"
    await people.siti.press("Ya, kirim permintaan")
    await people.siti.wait_for("sudah dicatat")
    [request] = await requests(ctx)
    assert request.kind == PrivacyRequestKind.RESTRICTION and "Pasal 15" in request.kept_note
    async with ctx.session_factory.begin() as s:
        await rules.apply_request(s, ctx.clock, ctx.settings, request.id, actor="Budi (caseworker)")
    r = await _recipient(ctx, world.recipient.id)
    assert r.restricted_at == ctx.clock.now()
    async with ctx.session_factory() as s:
        assert (await s.scalar(select(Reminder).where(Reminder.dedupe_key == "t:1"))).status == ReminderStatus.SKIPPED
    await tick(sandbox)
    done = await people.siti.wait_for("selesai")
    assert "berhenti mengirim pengingat" in done.text
    # Asking again is refused: it is already restricted.
    await people.siti.command("privasi")
    menu = await people.siti.wait_for("Hak Anda")
    await people.siti.press("⏸ Hentikan pemakaian data saya", message=menu)
    sure = await people.siti.wait_for("Hentikan pemakaian data Anda?")
    qid = await people.siti.press("Ya, kirim permintaan", message=sure)
    assert "sudah dihentikan" in await answer_to(people.siti, qid)


async def test_deletion_then_a_second_deletion_and_a_stale_button(
    sandbox: SandboxRun, people: People, world: World
) -> None:
    ctx = sandbox.ctx
    nik = await _nik_of(ctx, world.recipient.id)
    await people.siti.command("privasi")
    await people.siti.wait_for("Hak Anda")
    await people.siti.press("🗑 Hapus data saya")
    sure = await people.siti.wait_for("Hapus data Anda?")
    assert "Yang tetap kami simpan" in sure.text
    yes = sure.inline_keyboard[0][0]["callback_data"]
    await people.siti.press("Ya, kirim permintaan")
    await people.siti.wait_for("sudah dicatat")
    # The same button again (a double tap, or later): no second request, she is told of the first.
    await people.siti.press_callback(sure.message_id, yes)
    again = await people.siti.wait_for("Anda sudah meminta ini pada")
    [request] = await requests(ctx)
    assert f"#{request.id}" in again.text
    async with ctx.session_factory.begin() as s:
        await rules.apply_request(s, ctx.clock, ctx.settings, request.id, actor="Admin Dissos (admin)")
    r = await _recipient(ctx, world.recipient.id)
    assert r.anonymised_at is not None and r.name == f"Anonim-{r.id}" and r.phone is None
    assert r.nik_hash != ctx.cipher.blind_index(nik) and r.nik_encrypted == b""
    async with ctx.session_factory() as s:
        assert await s.scalar(select(TelegramAccount.recipient_id).where(
            TelegramAccount.telegram_user_id == people.siti.id)) is None
    await tick(sandbox)
    done = await people.siti.wait_for("selesai")
    assert "Kami menghapus nama" in done.text
    # A second deletion: the old button is stale (she is no longer linked to any data) and makes nothing.
    qid = await people.siti.press_callback(sure.message_id, yes)
    assert "Hanya penerima sendiri" in await answer_to(people.siti, qid)
    assert len(await requests(ctx)) == 1
    # And Dinas Sosial cannot apply it twice.
    async with ctx.session_factory.begin() as s:
        try:
            await rules.apply_request(s, ctx.clock, ctx.settings, request.id, actor="Admin Dissos (admin)")
            raise AssertionError("deleted twice")
        except rules.RequestRefused as refused:
            assert refused.reason == "closed"


async def test_refusals_someone_elses_request_and_not_the_person(
    sandbox: SandboxRun, people: People, world: World
) -> None:
    ctx = sandbox.ctx
    await _ask_for_deletion(people.siti)
    [request] = await requests(ctx)
    # Rahma forges a cancel button for Siti's request.
    await people.rahma.command("privasi")
    rahma_menu = await people.rahma.wait_for("Hak Anda")
    qid = await people.rahma.press_callback(rahma_menu.message_id, f"pdp:cancel:{request.id}")
    assert "bukan milik Anda" in await answer_to(people.rahma, qid)
    # The TKSK forges the recipient's buttons: refused, nothing is made or shown.
    tksk_terms = await people.tksk.command("privasi")
    for data in ("pdp:see:0", "pdp:delok:0", "pdp:fix:0"):
        qid = await people.tksk.press_callback(tksk_terms.message_id, data)
        assert "Hanya penerima sendiri" in await answer_to(people.tksk, qid)
    assert [r.id for r in await requests(ctx)] == [request.id]
    assert (await requests(ctx))[0].state == PrivacyRequestState.OPEN
    assert not any(m.files for m in people.tksk.messages), "no data file went to the TKSK"
    # Siti cancels her own request.
    await people.siti.command("privasi")
    menu = await people.siti.wait_for("Permintaan Anda yang masih berjalan")
    await people.siti.press(f"✖ Batalkan permintaan #{request.id}", message=menu)
    await people.siti.wait_for(f"Permintaan #{request.id} dibatalkan")
    assert (await requests(ctx))[0].state == PrivacyRequestState.REFUSED
    # Pressing it again: already closed.
    qid = await people.siti.press_callback(menu.message_id, f"pdp:cancel:{request.id}")
    assert "sudah dijawab" in await answer_to(people.siti, qid)


async def test_deadline_reminds_then_escalates_once(sandbox: SandboxRun, people: People, world: World) -> None:
    ctx = sandbox.ctx
    start = ctx.clock.now()
    await _ask_for_deletion(people.siti)
    await tick(sandbox)  # the "new request" notices
    [request] = await requests(ctx)
    assert (await tick(sandbox, start + timedelta(hours=47, minutes=59)))["privacy_deadlines"] == 0
    handled = await tick(sandbox, start + timedelta(hours=48))
    assert handled["privacy_deadlines"] == 1
    remind = await people.budi.wait_for("harus dijawab paling lambat")
    assert f"#{request.id}" in remind.text
    assert (await tick(sandbox, start + timedelta(hours=50)))["privacy_deadlines"] == 0, "reminded once"
    handled = await tick(sandbox, start + timedelta(hours=72))
    assert handled["privacy_deadlines"] == 1
    await people.admin.wait_for("terlambat")
    late = await people.siti.wait_for("Mohon maaf")
    assert "ppdp@example.go.id" in late.text
    seen = len(people.siti.messages)
    assert (await tick(sandbox, start + timedelta(hours=80)))["privacy_deadlines"] == 0, "escalated once"
    assert len(people.siti.messages) == seen
    [request] = await requests(ctx)
    assert request.reminded_at == start + timedelta(hours=48) and request.escalated_at == start + timedelta(hours=72)


async def test_withdrawal_is_a_recorded_request(sandbox: SandboxRun, people: People, world: World) -> None:
    ctx = sandbox.ctx
    await people.siti.command("privasi")
    await people.siti.wait_for("Hak Anda")
    await people.siti.press("🚪 Tarik persetujuan saya")
    await people.siti.wait_for("Anda yakin?")
    await people.siti.press("Ya, tarik")
    await people.siti.wait_for("Persetujuan sudah ditarik")
    await sandbox.settle()
    [request] = await requests(ctx)
    assert (request.kind, request.state) == (PrivacyRequestKind.WITHDRAWAL, PrivacyRequestState.APPLIED)
    assert "Pasal 15" in request.kept_note
    async with ctx.session_factory() as s:
        decisions = list(await s.scalars(select(ConsentRecord.decision).where(
            ConsentRecord.recipient_id == world.recipient.id).order_by(ConsentRecord.id)))
    assert decisions == [ConsentDecision.AGREE, ConsentDecision.WITHDRAW]
    # Once withdrawn, her old menu's buttons no longer act.
    qid = await people.siti.press_callback(1, "pdp:see:0")
    assert "Hanya penerima sendiri" in await answer_to(people.siti, qid)
    assert len(await requests(ctx)) == 1


async def test_a_nik_in_a_correction_is_masked_whatever_the_spacing(ctx: AppContext, world: World) -> None:
    """Without the emulator: a request opened by the service masks NIKs, whatever the spacing."""
    nik = await _nik_of(ctx, world.recipient.id)
    async with ctx.session_factory.begin() as s:
        account = await s.scalar(select(TelegramAccount).where(TelegramAccount.recipient_id == world.recipient.id))
        request = await rules.open_request(s, ctx.clock, ctx.settings, account=account,
                                           kind=PrivacyRequestKind.CORRECTION,
                                           details=f"NIK {nik[:6]}-{nik[6:12]}-{nik[12:]} salah ketik")
    assert nik not in request.details and nik[-4:] in request.details
    async with ctx.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(PrivacyRequest)) == 1
