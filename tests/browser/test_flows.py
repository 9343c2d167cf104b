"""The real flows in the browser, as a trainer would show them: several people in tabs side by side.

* a recipient joins from the TKSK's invitation to the main menu;
* a recipient reports an obstacle (with a recorded voice note) and it appears live in the TKSK's tab;
* the clock moves past a case deadline and the escalation reaches Dissos and the recipient.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from db.enums import CaseState, ConsentDecision, OnboardingState
from db.models import Case, ConsentRecord, Kecamatan, Recipient, TelegramAccount
from sandbox.app import SandboxApp
from sandbox.media import make_jpeg
from sandbox.personas import RECIPIENT_BASE
from tests import factories

from .helpers import open_page, pick_person, press_inline, press_reply, send, wait_bot

pytestmark = pytest.mark.browser

TKSK = "Aisyah Ramadhan"  # TKSK of Palaran, Kota Samarinda


async def recipient_in_palaran(app: SandboxApp, name: str) -> Recipient:
    async with app.ctx.session_factory() as s:  # type: ignore[union-attr]
        return (await s.scalars(
            select(Recipient).join(Kecamatan).where(Recipient.name == name, Kecamatan.name == "Palaran")
        )).one()


async def joined_earlier(app: SandboxApp, name: str) -> Recipient:
    """A recipient who finished onboarding before the session (account linked, main menu)."""
    r = await recipient_in_palaran(app, name)
    async with app.ctx.session_factory.begin() as s:  # type: ignore[union-attr]
        r = await s.get(Recipient, r.id)
        await factories.link(s, app.ctx.clock, RECIPIENT_BASE + r.id, recipient=r)  # type: ignore[union-attr]
    return r


async def test_recipient_joins_from_the_tksk_invitation_to_the_main_menu(
    sandbox_app: SandboxApp, browser, shots, tmp_path
) -> None:
    tksk = await open_page(browser, sandbox_app.url)
    await pick_person(tksk, "TKSK/PSM", "palaran", TKSK)
    await send(tksk, "/penerima AHMAD")
    await press_inline(tksk, re.compile(r"Undang \d+\. AHMAD NUGROHO"))
    invitation = await wait_bot(tksk, "Berlaku sampai")
    await expect(invitation.locator("img.photo")).to_be_visible()  # the QR code
    await expect(invitation.locator("a.deeplink")).to_have_count(1)
    await shots(tksk, "tksk-invitation")
    await invitation.locator(".copy-link").click()  # as if sent to her over WhatsApp

    me = await open_page(browser, sandbox_app.url)
    await pick_person(me, "Penerima", "ahmad palaran", "AHMAD NUGROHO")
    await expect(me.locator("#persona-card")).to_contain_text("belum bergabung")
    await me.locator("#link-chip").get_by_text("Buka di sini").click()
    consent = await wait_bot(me, "Apakah Anda setuju?")
    await shots(me, "consent")
    await press_inline(me, "Saya setuju")
    await wait_bot(me, "Kirim nomor HP saya")
    await expect(me.locator("#reply-kb")).to_be_visible()
    await shots(me, "share-phone-keyboard")
    await press_reply(me, "Kirim nomor HP saya")
    await expect(me.locator("#alert-dialog")).to_be_visible()  # Telegram asks before sharing the number
    await me.click("#alert-ok")
    profile = await wait_bot(me, "Apakah sudah benar?")
    await expect(profile).to_contain_text("Palaran")
    await expect(me.locator(".msg.out .bubble").last).to_contain_text("+628228833230")  # the shared contact
    await press_inline(me, "Ya, benar")
    await wait_bot(me, "Paket bantuan Anda")
    await shots(me, "aid-package")
    await press_inline(me, "Ya, semua sudah diterima")
    await wait_bot(me, "Langkah terakhir")
    picture = tmp_path / "bantuan.jpg"
    picture.write_bytes(make_jpeg(1200, 900, seed=11))
    await me.set_input_files("#file-photo", str(picture))
    await me.click("#upload-send")
    done = await wait_bot(me, "Pendaftaran selesai")
    await expect(done).to_contain_text("Laporan usaha pertama Anda jatuh pada")
    menu = me.locator("#reply-kb button")
    await expect(menu).to_have_count(4)
    await expect(me.locator("#reply-kb")).to_contain_text("Ada kendala")
    await shots(me, "main-menu")
    await wait_bot(tksk, "sudah bergabung di bot")  # live in the TKSK's tab
    await shots(tksk, "tksk-told")
    assert consent is not None

    await sandbox_app.emulator.wait_until_processed(10)  # type: ignore[union-attr]
    r = await recipient_in_palaran(sandbox_app, "AHMAD NUGROHO")
    assert r.onboarding_state == OnboardingState.ACTIVE
    async with sandbox_app.ctx.session_factory() as s:  # type: ignore[union-attr]
        account = await s.scalar(select(TelegramAccount).where(TelegramAccount.recipient_id == r.id))
        record = await s.scalar(select(ConsentRecord).where(ConsentRecord.recipient_id == r.id))
    assert account is not None and account.telegram_user_id == RECIPIENT_BASE + r.id
    assert record is not None and record.decision == ConsentDecision.AGREE
    # Her first check-in is scheduled: the clock panel offers to jump to its reminder.
    await expect(me.locator('#sidebar .clock-step[data-step="next_reminder"]')).to_be_enabled()


async def test_obstacle_report_appears_live_in_the_tksk_tab(sandbox_app: SandboxApp, browser, shots) -> None:
    r = await joined_earlier(sandbox_app, "Erna Sinaga")
    tksk = await open_page(browser, sandbox_app.url)
    await pick_person(tksk, "TKSK/PSM", "palaran", TKSK)
    dissos = await open_page(browser, sandbox_app.url)
    await pick_person(dissos, "Dinas Sosial", "", "Andi Pratama")

    me = await open_page(browser, sandbox_app.url)
    await pick_person(me, "Penerima", "erna palaran", "Erna Sinaga")
    await send(me, "/start")
    await wait_bot(me, "Apa yang ingin")
    await press_reply(me, "Ada kendala")
    await wait_bot(me, "Apa kendalanya")
    await shots(me, "obstacle-kinds")
    await press_inline(me, "Modal")
    await wait_bot(me, "tahan tombol mikrofon")
    await me.click("#mic")  # a real recording from the (fake) microphone
    await me.wait_for_timeout(1500)
    await me.click("#rec-send")
    await wait_bot(me, "seberapa mendesak")
    await press_inline(me, "Sangat mendesak")
    done = await wait_bot(me, "tersimpan dengan nomor")
    await shots(me, "reported")

    await sandbox_app.emulator.wait_until_processed(10)  # type: ignore[union-attr]
    async with sandbox_app.ctx.session_factory() as s:  # type: ignore[union-attr]
        case = await s.scalar(select(Case).where(Case.recipient_id == r.id))
    assert case is not None and case.kind == "capital" and case.urgency == "high" and case.voice_file_id
    await expect(done).to_contain_text(case.number)

    alert = await wait_bot(tksk, "Erna Sinaga")  # arrived live, no reload
    await expect(alert).to_contain_text(case.number)
    await expect(alert.locator(".inline-kb button", has_text="Ambil")).to_be_visible()
    await expect(tksk.locator(".msg.in audio").last).to_be_attached()  # her voice note, forwarded
    await shots(tksk, "tksk-alert")
    await wait_bot(dissos, case.number)  # urgent: Dissos is told at once too
    await shots(dissos, "dissos-alert")

    await alert.locator(".inline-kb button", has_text="Ambil").click()
    await expect(alert).to_contain_text("Sedang ditangani")  # the card is edited in place
    await wait_bot(me, "TKSK Anda sedang menanganinya")
    await shots(me, "recipient-told")
    await sandbox_app.emulator.wait_until_processed(10)  # type: ignore[union-attr]
    async with sandbox_app.ctx.session_factory() as s:  # type: ignore[union-attr]
        assert (await s.get(Case, case.id)).state == CaseState.TAKEN  # type: ignore[union-attr]


async def test_moving_the_clock_past_a_case_deadline_escalates_it(sandbox_app: SandboxApp, browser, shots) -> None:
    r = await joined_earlier(sandbox_app, "Erna Sinaga")
    tksk = await open_page(browser, sandbox_app.url)
    await pick_person(tksk, "TKSK/PSM", "palaran", TKSK)
    dissos = await open_page(browser, sandbox_app.url)
    await pick_person(dissos, "Dinas Sosial", "", "Andi Pratama")
    me = await open_page(browser, sandbox_app.url)
    await pick_person(me, "Penerima", "erna palaran", "Erna Sinaga")
    await send(me, "🆘 Ada kendala")
    await wait_bot(me, "Apa kendalanya")
    await press_inline(me, "Modal")
    await wait_bot(me, "tahan tombol mikrofon")
    await send(me, "Modal habis untuk beli bahan")
    await wait_bot(me, "Terima kasih")
    await press_inline(me, "Mendesak, tapi masih bisa jualan")
    await wait_bot(me, "tersimpan dengan nomor")
    await sandbox_app.emulator.wait_until_processed(10)  # type: ignore[union-attr]
    async with sandbox_app.ctx.session_factory() as s:  # type: ignore[union-attr]
        case = await s.scalar(select(Case).where(Case.recipient_id == r.id))
    assert case is not None and case.state == CaseState.NEW
    await wait_bot(tksk, case.number)

    # Nobody takes it. The trainer jumps to its deadline: the scan escalates it to Dissos at once.
    button = dissos.locator('#sidebar .clock-step[data-step="next_case_deadline"]')
    await expect(button).to_be_enabled()
    await button.click()
    local = case.take_due_at.astimezone(sandbox_app.settings.program.tz)  # type: ignore[union-attr]
    await expect(dissos.locator("#sidebar .clock-now")).to_contain_text(re.compile(rf"{local:%H}[:.]{local:%M} WITA"))
    await expect(dissos.locator("#sidebar .clock-note")).to_contain_text("case_deadlines: 1")
    escalated = await wait_bot(dissos, "Tidak diambil sampai batas waktu")
    await expect(escalated).to_contain_text(case.number)
    await shots(dissos, "escalated-to-dissos")
    await wait_bot(me, "Diteruskan ke Dinas Sosial")
    await expect(me.locator("#sidebar .clock-now")).to_contain_text(re.compile(rf"{local:%H}[:.]{local:%M} WITA"))
    await shots(me, "recipient-told")
    await sandbox_app.emulator.wait_until_processed(10)  # type: ignore[union-attr]
    async with sandbox_app.ctx.session_factory() as s:  # type: ignore[union-attr]
        assert (await s.get(Case, case.id)).state == CaseState.WITH_DISSOS  # type: ignore[union-attr]
