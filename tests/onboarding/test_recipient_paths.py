"""Every other way through recipient onboarding, and every refusal, end to end through the emulator."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from db.enums import CaseKind, ConsentDecision, OnboardingState, ReminderStatus
from db.models import (
    AidItem,
    Case,
    ConsentRecord,
    FsmRecord,
    IdentityAttempt,
    Invitation,
    Recipient,
    Reminder,
    TelegramAccount,
)
from sandbox.runner import SandboxRun
from scheduler.runner import run_due
from tests.onboarding.helpers import (
    NIK,
    account_of,
    invitation_link,
    make_recipient,
    make_tksk,
    reload_recipient,
)

NO_MATCH = "tidak cocok dengan daftar kami"


async def _count(run: SandboxRun, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with run.ctx.session_factory() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def _cases(run: SandboxRun, kind: CaseKind) -> list[Case]:
    async with run.ctx.session_factory() as s:
        return list(await s.scalars(select(Case).where(Case.kind == kind)))


async def _join_until_profile(run: SandboxRun, person, link: str) -> None:  # type: ignore[no-untyped-def]
    await person.command("start", link.rsplit("=", 1)[1])
    await person.wait_for("Apakah Anda setuju?")
    await person.press("✅ Saya setuju")
    await person.wait_for("Kirim nomor HP saya")
    await person.press_reply("📱 Kirim nomor HP saya")
    await person.wait_for(lambda m: "Apakah sudah benar?" in m.content or "Ini HP siapa?" in m.content)


async def test_start_with_nik_and_birth_date_in_one_message(sandbox: SandboxRun) -> None:
    r = await make_recipient(sandbox, nik=NIK, name="Rahmawati")
    person = sandbox.person(710001, "Rahma", phone="+6281234567890")
    sent = await person.command("start", f"{NIK} 17/05/1980")
    await person.wait_for("Halo, Rahmawati (")
    assert sandbox.emulator.world.chat(sandbox.emulator.bots[0], person.id).messages[sent.message_id].deleted, (
        "the message with the NIK is deleted from the chat")
    await person.press("✅ Saya setuju")
    await person.wait_for("Kirim nomor HP saya")
    await sandbox.settle()
    assert (await reload_recipient(sandbox, r.id)).onboarding_state == OnboardingState.PHONE


async def test_two_step_flow_for_people_who_cannot_type_it_all_at_once(sandbox: SandboxRun) -> None:
    r = await make_recipient(sandbox, nik=NIK, name="Hasanah")
    person = sandbox.person(710002, "Hasanah", phone="+6281234567890")
    await person.command("start")
    intro = await person.wait_for("Tekan tombol ini")
    assert intro.buttons == ["🙋 Saya penerima UEP"]
    await person.press("🙋 Saya penerima UEP")
    await person.wait_for("16 angka di KTP")
    await person.send("6472 0101 0180 0001")
    await person.wait_for("tanggal lahir")
    async with sandbox.ctx.session_factory() as s:
        for record in await s.scalars(select(FsmRecord)):
            assert NIK not in str(record.data), "the NIK never waits in the conversation state"
    await person.send("17 Mei 1980")
    await person.wait_for("Apakah Anda setuju?")
    await sandbox.settle()
    assert (await reload_recipient(sandbox, r.id)).onboarding_state == OnboardingState.CONSENT
    async with sandbox.ctx.session_factory() as s:
        for record in await s.scalars(select(FsmRecord)):
            assert "nik_hash" not in str(record.data)
    await person.send("1980-05-17")  # text instead of a button while asked for consent
    await person.wait_for("dengan tombol")


async def test_wrong_nik_and_wrong_date_look_the_same_and_lock_after_five(sandbox: SandboxRun) -> None:
    await make_recipient(sandbox, nik=NIK)
    person = sandbox.person(710003, "Tamu")
    await person.command("start", "6472999999999999 17-05-1980")  # unknown NIK
    unknown = await person.wait_for(NO_MATCH)
    await person.command("start", f"{NIK} 18-05-1980")  # right NIK, wrong date
    wrong_date = await person.wait_for(NO_MATCH)
    assert unknown.text.split("Sisa")[0] == wrong_date.text.split("Sisa")[0]
    await person.command("start", "12345 17-05-1980")  # not a NIK: explained, not counted
    await person.wait_for("tepat 16 angka")
    for _ in range(2):
        await person.command("start", f"{NIK} 01-01-1970")
        await person.wait_for(NO_MATCH)
    await person.command("start", f"{NIK} 02-01-1970")
    locked = await person.wait_for("Terlalu banyak NIK salah")
    assert "TKSK Anda" in locked.text and "Selasa, 3 Mar 2026 09:00 WITA" in locked.text
    await person.command("start", f"{NIK} 17-05-1980")  # even the right pair, during the lockout
    await person.wait_for("Terlalu banyak NIK salah")
    await sandbox.settle()
    assert await _count(sandbox, IdentityAttempt) == 5
    assert await _count(sandbox, ConsentRecord) == 0
    sandbox.ctx.clock.set(sandbox.ctx.clock.now() + timedelta(hours=24, minutes=1))
    await person.command("start", f"{NIK} 17-05-1980")
    await person.wait_for("Apakah Anda setuju?")


async def test_decline_stores_only_the_decline_and_the_person_can_come_back(sandbox: SandboxRun) -> None:
    r = await make_recipient(sandbox, phone=None)
    link = await invitation_link(sandbox, r.id)
    person = sandbox.person(710004, "Ragu", phone="+6281299998888")
    await person.command("start", link.rsplit("=", 1)[1])
    await person.wait_for("Apakah Anda setuju?")
    await person.press("❌ Saya tidak setuju")
    await person.wait_for("kami hormati")
    await sandbox.settle()
    recipient = await reload_recipient(sandbox, r.id)
    assert recipient.onboarding_state == OnboardingState.DECLINED and recipient.phone is None
    account = await account_of(sandbox, 710004)
    assert account.recipient_id is None and account.contact_phone is None
    async with sandbox.ctx.session_factory() as s:
        decisions = list(await s.scalars(select(ConsentRecord.decision)))
    assert decisions == [ConsentDecision.DECLINE]
    # The same link from the same phone: asked again (the link was claimed by this account).
    await person.command("start", link.rsplit("=", 1)[1])
    await person.wait_for("Apakah Anda setuju?")
    await person.press("✅ Saya setuju")
    await person.wait_for("Kirim nomor HP saya")
    await person.press_reply("📱 Kirim nomor HP saya")
    await person.wait_for("Apakah sudah benar?")
    await sandbox.settle()
    assert (await reload_recipient(sandbox, r.id)).phone == "+6281299998888", "no roster number: the shared one"


async def test_someone_elses_contact_and_a_typed_number_are_refused(sandbox: SandboxRun) -> None:
    r = await make_recipient(sandbox)
    link = await invitation_link(sandbox, r.id)
    other = sandbox.person(710006, "Tetangga", phone="+6281311112222")
    person = sandbox.person(710005, "Siti", phone="+6281234567890")
    await person.command("start", link.rsplit("=", 1)[1])
    await person.wait_for("Apakah Anda setuju?")
    await person.press("✅ Saya setuju")
    await person.wait_for("Kirim nomor HP saya")
    await person.share_contact(own=False, user_id=other.id)
    refusal = await person.wait_for("kontak orang lain")
    assert refusal.reply_keyboard == [["📱 Kirim nomor HP saya"]]
    await person.share_contact(own=False, phone="+6281234567890")  # the right number, but no user_id: not theirs
    await person.wait_for("kontak orang lain")
    await person.send("081234567890")
    await person.wait_for("jangan mengetik nomor")
    await person.send("halo")
    await person.wait_for("Tekan tombol Kirim nomor HP saya")
    await sandbox.settle()
    assert (await reload_recipient(sandbox, r.id)).onboarding_state == OnboardingState.PHONE
    assert (await account_of(sandbox, 710005)).contact_phone is None
    await person.press_reply("📱 Kirim nomor HP saya")
    await person.wait_for("Apakah sudah benar?")


async def test_recipient_already_linked_is_refused_and_tksk_alerted(sandbox: SandboxRun) -> None:
    tksk = await make_tksk(sandbox, 710010)
    r = await make_recipient(sandbox, nik=NIK, name="Sulastri")
    first = sandbox.person(710011, "Sulastri", phone="+6281234567890")
    await _join_until_profile(sandbox, first, await invitation_link(sandbox, r.id))
    await first.wait_for("Apakah sudah benar?")
    intruder = sandbox.person(710012, "Orang lain", phone="+6281377778888")
    await intruder.command("start", (await invitation_link(sandbox, r.id)).rsplit("=", 1)[1])
    await intruder.wait_for("sudah terdaftar dengan akun Telegram lain")
    alert = await tksk.wait_for("Akun sudah tertaut")
    assert "Sulastri" in alert.text
    await intruder.command("start", f"{NIK} 17-05-1980")  # and by NIK: refused too, no second case
    await intruder.wait_for("sudah terdaftar dengan akun Telegram lain")
    await sandbox.settle()
    assert len(await _cases(sandbox, CaseKind.ACCOUNT_CONFLICT)) == 1
    assert (await account_of(sandbox, 710012)).recipient_id is None
    assert (await account_of(sandbox, 710011)).recipient_id == r.id


async def test_expired_and_reused_invitations_are_refused(sandbox: SandboxRun) -> None:
    r = await make_recipient(sandbox)
    link = await invitation_link(sandbox, r.id)
    owner = sandbox.person(710021, "Pemilik", phone="+6281234567890")
    await owner.command("start", link.rsplit("=", 1)[1])
    await owner.wait_for("Apakah Anda setuju?")
    other = sandbox.person(710022, "Lain")
    await other.command("start", link.rsplit("=", 1)[1])
    await other.wait_for("sudah pernah dipakai")
    await other.command("start", "AAAAAAAAAAAAAAAAAAAAAAAA")
    await other.wait_for("tidak berlaku")
    r2 = await make_recipient(sandbox, nik="6472010101800002", name="Kedua")
    old = await invitation_link(sandbox, r2.id)
    ttl = timedelta(hours=sandbox.ctx.settings.onboarding.invitation_ttl_hours)
    sandbox.ctx.clock.set(sandbox.ctx.clock.now() + ttl)
    await other.command("start", old.rsplit("=", 1)[1])
    await other.wait_for("sudah kedaluwarsa")
    await sandbox.settle()
    assert (await account_of(sandbox, 710022)).recipient_id is None
    assert await _count(sandbox, Invitation, Invitation.used_by_account_id.is_not(None)) == 1


async def test_new_number_is_confirmed_by_the_tksk(sandbox: SandboxRun) -> None:
    tksk = await make_tksk(sandbox, 710030)
    outsider = await make_tksk(sandbox, 710031, kecamatan_name="Sungai Kunjang", phone="+6285799990000",
                               nik="6401000000009999")
    r = await make_recipient(sandbox, phone="+6281234567890", name="Wati")
    person = sandbox.person(710032, "Wati", phone="+6282255556666")
    await _join_until_profile(sandbox, person, await invitation_link(sandbox, r.id))
    await person.wait_for("Ini HP siapa?")
    await person.press("📱 Nomor baru saya sendiri")
    await person.wait_for("Apakah sudah benar?")
    ask = await tksk.wait_for("nomor HP-nya berganti")
    await sandbox.settle()
    assert "+6282255556666" in ask.text and "+6281234567890" in ask.text
    (case,) = await _cases(sandbox, CaseKind.PHONE_MISMATCH)
    # A TKSK of another kecamatan pressing the same (forged) button changes nothing.
    await outsider.press_callback(ask.message_id, ask.inline_keyboard[0][0]["callback_data"])
    await sandbox.settle()
    assert "bukan di kecamatan Anda" in outsider.callback_answers[-1]["text"]
    assert (await reload_recipient(sandbox, r.id)).phone == "+6281234567890"
    await tksk.press("✅ Pakai nomor baru")
    await tksk.wait_for("sekarang tercatat di daftar")
    await sandbox.settle()
    assert (await reload_recipient(sandbox, r.id)).phone == "+6282255556666"
    (case,) = await _cases(sandbox, CaseKind.PHONE_MISMATCH)
    assert case.state == "resolved"


async def test_relatives_phone_is_recorded_as_proxy(sandbox: SandboxRun) -> None:
    tksk = await make_tksk(sandbox, 710040)
    r = await make_recipient(sandbox, phone="+6281234567890", name="Mbah Sarni")
    grandson = sandbox.person(710041, "Cucu", phone="+6281366667777")
    await _join_until_profile(sandbox, grandson, await invitation_link(sandbox, r.id))
    await grandson.press("👪 HP keluarga yang saya pakai")
    await grandson.wait_for("Apakah sudah benar?")
    await grandson.press("✅ Ya, benar")
    await grandson.wait_for("Paket bantuan Anda")
    await grandson.press("✅ Ya, semua sudah diterima")
    await grandson.wait_for("Langkah terakhir")
    await grandson.press("⏭ Nanti saja")
    await grandson.wait_for("Pendaftaran selesai")
    await sandbox.settle()
    notice = await tksk.wait_for("sudah bergabung")
    assert "HP keluarga" in notice.text
    account = await account_of(sandbox, 710041)
    assert account.is_proxy and account.recipient_id == r.id and account.contact_phone == "+6281366667777"
    assert (await reload_recipient(sandbox, r.id)).phone == "+6281234567890"
    assert not await _cases(sandbox, CaseKind.PHONE_MISMATCH)


async def test_profile_correction_and_missing_aid_open_cases(sandbox: SandboxRun) -> None:
    tksk = await make_tksk(sandbox, 710050)
    r = await make_recipient(sandbox, name="Juliana")
    person = sandbox.person(710051, "Juliana", phone="+6281234567890")
    await _join_until_profile(sandbox, person, await invitation_link(sandbox, r.id))
    await person.press("✏️ Ada yang salah")
    await person.wait_for("Apa yang salah?")
    await person.send("Usaha saya kue, bukan gorengan")
    await person.wait_for("TKSK Anda akan memeriksa")
    await tksk.wait_for("Koreksi data diri")
    await person.wait_for("Paket bantuan Anda")
    await person.press("❌ Ada yang belum diterima")
    # the catalog's gorengan package: 3 is the big wok, 7 the oil and flour
    for n in range(1, 8):
        await person.wait_for(f"Barang {n} dari 7")
        await person.press("❌ Tidak" if n in (3, 7) else "✅ Ya")
    missing = await person.wait_for("Belum diterima")
    assert "Wajan besar" in missing.text and "Minyak goreng dan tepung awal" in missing.text
    alert = await tksk.wait_for("Bantuan tidak lengkap")
    assert "Wajan besar" in alert.text
    await person.wait_for("Langkah terakhir")
    await person.send_photo()
    await person.wait_for("Pendaftaran selesai")
    await sandbox.settle()
    (correction,) = await _cases(sandbox, CaseKind.PROFILE_CORRECTION)
    assert "Usaha saya kue, bukan gorengan" in correction.description
    (incomplete,) = await _cases(sandbox, CaseKind.AID_INCOMPLETE)
    assert "Gerobak" not in incomplete.description
    async with sandbox.ctx.session_factory() as s:
        answers = [i.received for i in await s.scalars(select(AidItem).order_by(AidItem.position))]
    assert answers == [True, True, False, True, True, True, False]
    # The roster is untouched: the TKSK corrects it.
    assert (await reload_recipient(sandbox, r.id)).business_type == "gorengan"


async def test_aid_not_delivered_yet_waits_for_the_roster(sandbox: SandboxRun) -> None:
    r = await make_recipient(sandbox, aid_date=None)
    person = sandbox.person(710061, "Menunggu", phone="+6281234567890")
    await _join_until_profile(sandbox, person, await invitation_link(sandbox, r.id))
    await person.press("✅ Ya, benar")
    waiting = await person.wait_for("belum diserahkan")
    assert person.reply_keyboard == [["🆘 Ada kendala", "📂 Status laporan"]], "the pre-aid menu"
    assert "Ada kendala" in waiting.text
    await sandbox.settle()
    await person.send("kapan?")  # kept, and offered as a problem report (#17 §1, §5)
    kept = await person.wait_for("Mau diapakan?")
    assert kept.buttons == ["🆘 Laporkan sebagai kendala", "✖️ Tidak keduanya"]
    await person.press("✖️ Tidak keduanya")
    await person.wait_for("tidak saya teruskan")
    ctx = sandbox.ctx
    assert (await run_due(ctx, sandbox.app.messenger)).get("onboarding_aid_arrived") == 0
    async with ctx.session_factory.begin() as s:  # a roster re-import sets the aid date
        (await s.get(Recipient, r.id)).aid_date = date(2026, 3, 1)
    assert (await run_due(ctx, sandbox.app.messenger))["onboarding_aid_arrived"] == 1
    news = await person.wait_for("Kabar baik")
    assert "Paket bantuan Anda" in news.text
    assert (await run_due(ctx, sandbox.app.messenger))["onboarding_aid_arrived"] == 0, "sent once"
    await person.press("✅ Ya, semua sudah diterima")
    await person.wait_for("Langkah terakhir")
    await person.send_photo()
    done = await person.wait_for("Pendaftaran selesai")
    assert "Minggu, 15 Mar 2026" in done.text  # first check-in 14 days after the aid date, 08:00 WITA


async def test_restart_in_the_middle_resumes(sandbox: SandboxRun) -> None:
    r = await make_recipient(sandbox)
    person = sandbox.person(710071, "Sabar", phone="+6281234567890")
    await person.command("start", (await invitation_link(sandbox, r.id)).rsplit("=", 1)[1])
    await person.wait_for("Apakah Anda setuju?")
    await sandbox.restart_bot()
    await person.press("✅ Saya setuju")  # the consent step lives in the database-backed FSM
    await person.wait_for("Kirim nomor HP saya")
    await sandbox.restart_bot()
    await person.press_reply("📱 Kirim nomor HP saya")
    await person.wait_for("Apakah sudah benar?")
    await sandbox.restart_bot()
    await person.command("start")
    await person.wait_for("Mari lanjutkan")
    await person.wait_for("Apakah sudah benar?")
    await person.press("✅ Ya, benar")
    await person.wait_for("Paket bantuan Anda")
    await person.press("✅ Ya, semua sudah diterima")
    await person.wait_for("Langkah terakhir")
    await person.send_photo()
    await person.wait_for("Pendaftaran selesai")
    await person.command("start")
    await person.wait_for("Apa yang ingin Anda lakukan")


async def test_privacy_withdrawal(sandbox: SandboxRun) -> None:
    tksk = await make_tksk(sandbox, 710080)
    r = await make_recipient(sandbox, name="Rusmini")
    person = sandbox.person(710081, "Rusmini", phone="+6281234567890")
    await _join_until_profile(sandbox, person, await invitation_link(sandbox, r.id))
    await person.press("✅ Ya, benar")
    await person.wait_for("Paket bantuan Anda")
    await person.press("✅ Ya, semua sudah diterima")
    await person.wait_for("Langkah terakhir")
    await person.press("⏭ Nanti saja")
    await person.wait_for("Pendaftaran selesai")
    await sandbox.settle()
    assert await _count(sandbox, Reminder, Reminder.recipient_id == r.id, Reminder.status == ReminderStatus.PENDING)
    await person.command("privasi")
    terms = await person.wait_for("Hak Anda")
    assert "Anda menyetujui pada Senin, 2 Mar 2026" in terms.text
    await person.press("🚪 Tarik persetujuan saya")
    sure = await person.wait_for("Anda yakin?")
    assert "tetap disimpan" in sure.text
    withdraw_data = sure.inline_keyboard[0][0]["callback_data"]
    await person.press("Ya, tarik")
    await person.wait_for("Persetujuan sudah ditarik")
    await tksk.wait_for("menarik persetujuannya")
    await sandbox.settle()
    assert (await account_of(sandbox, 710081)).recipient_id is None
    assert (await reload_recipient(sandbox, r.id)).onboarding_state == OnboardingState.DECLINED
    assert not await _count(sandbox, Reminder, Reminder.recipient_id == r.id,
                            Reminder.status == ReminderStatus.PENDING)
    async with sandbox.ctx.session_factory() as s:
        decisions = list(await s.scalars(select(ConsentRecord.decision).order_by(ConsentRecord.id)))
    assert decisions == [ConsentDecision.AGREE, ConsentDecision.WITHDRAW]
    # The old withdraw button no longer does anything: the account is not a recipient any more.
    await person.press_callback(sure.message_id, withdraw_data)
    await sandbox.settle()
    assert "tidak berlaku" in person.callback_answers[-1]["text"]
    assert await _count(sandbox, ConsentRecord) == 2
    assert await _count(sandbox, TelegramAccount, TelegramAccount.recipient_id == r.id) == 0
