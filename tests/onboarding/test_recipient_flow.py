"""A recipient joins end to end through the emulator: invitation from the TKSK, consent, phone, profile, aid."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.i18n import CatalogI18n
from db.enums import ConsentDecision, OnboardingState, PhotoStatus, ReminderStatus
from db.models import AidItem, AidPackage, Case, CheckinDue, ConsentRecord, Invitation, Photo, Reminder
from handlers.keyboards import MENU_HELP, MENU_PROBLEM, MENU_REPORT, MENU_STATUS
from sandbox.runner import SandboxRun
from tests.onboarding.helpers import (
    LINK_RE,
    CountingPerson,
    account_of,
    make_recipient,
    make_tksk,
    reload_recipient,
)

_ID = CatalogI18n()
MAIN_MENU = [[_ID.gettext(MENU_REPORT, locale="id"), _ID.gettext(MENU_PROBLEM, locale="id")],
             [_ID.gettext(MENU_STATUS, locale="id"), _ID.gettext(MENU_HELP, locale="id")]]


async def test_invitation_to_main_menu_in_six_taps(sandbox: SandboxRun) -> None:
    tksk = await make_tksk(sandbox, 700001)
    r = await make_recipient(sandbox, phone="+6281234567890", name="Siti Aminah")
    # The TKSK gets the link (and its QR code) from /penerima.
    await tksk.command("penerima")
    await tksk.wait_for("Siti Aminah")
    await tksk.press("🔗 Undang 1. Siti Aminah")
    invite = await tksk.wait_for(lambda m: m.kind == "photo")
    assert "Berlaku sampai" in invite.caption and invite.media[:2] == b"\xff\xd8"  # Telegram re-encodes as JPEG
    link = LINK_RE.search(invite.caption).group(0)  # type: ignore[union-attr]

    siti = CountingPerson(sandbox.person(700002, "Siti", phone="+62 812-3456-7890"))
    start = sandbox.emulator.world.events.last_seq
    await siti.open_link(link)
    consent = await siti.wait_for("Apakah Anda setuju?")
    # A short summary (#17 §4); the full text is behind "📄 Baca selengkapnya" (tests/fieldfit).
    for word in ("Dinas Sosial", "nomor HP", "foto", "TKSK", "/privasi"):
        assert word in consent.text, word
    await siti.press("✅ Saya setuju")
    await siti.wait_for("Kirim nomor HP saya")
    await siti.press_reply("📱 Kirim nomor HP saya")
    profile = await siti.wait_for("Apakah sudah benar?")
    assert "Siti Aminah" in profile.text and "Palaran" in profile.text and "Gorengan" in profile.text
    await siti.press("✅ Ya, benar")
    aid = await siti.wait_for("Paket bantuan Anda")
    # A short summary (#17 §4); the list is behind "📄 Lihat daftar barang" (tests/fieldfit).
    assert "Rp4.600.000" in aid.text and "Kompor" not in aid.text and "📄 Lihat daftar barang" in aid.buttons
    await siti.press("✅ Ya, semua sudah diterima")
    await siti.wait_for("Langkah terakhir")
    await siti.send_photo()
    done = await siti.wait_for("Pendaftaran selesai")
    assert "Laporan usaha pertama Anda jatuh pada" in done.text
    assert done.reply_keyboard == MAIN_MENU

    # Six taps: open link, agree, share contact, profile right, all received, photo.
    assert siti.taps == 6, siti.log
    from sandbox.events import USER_UPDATE

    counted = sum(1 for ev in sandbox.emulator.world.events.since(start)
                  if ev.kind == USER_UPDATE and ev.chat_id == 700002)
    assert counted == siti.taps, "counted by the emulator too"
    print(f"\nFIGURE taps from the invitation link to the main menu: {siti.taps}")
    await tksk.wait_for("sudah bergabung di bot")

    await sandbox.settle()
    recipient = await reload_recipient(sandbox, r.id)
    assert recipient.onboarding_state == OnboardingState.ACTIVE and recipient.joined_at is not None
    account = await account_of(sandbox, 700002)
    assert account is not None and account.recipient_id == r.id and not account.is_proxy
    assert account.contact_phone == "+6281234567890"
    async with sandbox.ctx.session_factory() as s:
        record = await s.scalar(select(ConsentRecord).where(ConsentRecord.recipient_id == r.id))
        assert record.decision == ConsentDecision.AGREE
        assert record.text_version == sandbox.ctx.settings.onboarding.consent_version and record.language == "id"
        assert all(i.received for i in await s.scalars(select(AidItem)))
        package = await s.scalar(select(AidPackage).where(AidPackage.recipient_id == r.id))
        assert package.receipt_confirmed_at is not None
        photo = await s.scalar(select(Photo).where(Photo.aid_package_id == package.id))
        assert photo.status == PhotoStatus.PENDING and photo.recipient_id == r.id and photo.file_id
        due = await s.scalar(select(CheckinDue).where(CheckinDue.recipient_id == r.id))
        assert due is not None
        assert await s.scalar(select(func.count()).select_from(Reminder).where(
            Reminder.recipient_id == r.id, Reminder.status == ReminderStatus.PENDING)) >= 1
        inv = await s.scalar(select(Invitation).where(Invitation.recipient_id == r.id))
        assert inv.used_by_account_id == account.id and inv.used_at is not None
        assert await s.scalar(select(func.count()).select_from(Case)) == 0
