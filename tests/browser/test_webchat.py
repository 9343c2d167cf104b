"""The web chat itself: choosing who to be, talking, buttons, live edits, uploads, voice, deep links, the clock,
phone and desktop widths. The flows of onboarding, check-ins and cases are in test_flows.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from db.models import Kecamatan, Recipient
from sandbox.app import SandboxApp
from sandbox.media import make_jpeg
from services.schedule import schedule_next_checkin

from .conftest import PHONE
from .helpers import open_page, pick_person, press_inline, send, wait_bot

pytestmark = pytest.mark.browser

RECIPIENT = "AHMAD NUGROHO"  # Palaran, Kota Samarinda; not joined yet
TKSK = "Aisyah Ramadhan"  # TKSK of Palaran


async def palaran_recipient(session) -> Recipient:  # type: ignore[no-untyped-def]
    return (await session.scalars(
        select(Recipient).join(Kecamatan).where(Recipient.name == RECIPIENT, Kecamatan.name == "Palaran")
    )).one()


async def test_choose_a_recipient_start_and_switch_language(sandbox_app: SandboxApp, browser, shots) -> None:
    page = await open_page(browser, sandbox_app.url)
    await expect(page.locator("#people-list li").first).to_be_visible()
    await page.fill("#people-search", "palaran")
    await expect(page.locator("#people-list")).to_have_attribute("data-query", "recipient:palaran")
    await expect(page.locator("#people-list li", has_text=RECIPIENT)).to_be_visible()
    await expect(page.locator("#people-list li").first).to_contain_text("Palaran")
    await shots(page, "choose-person")

    await pick_person(page, "Penerima", "palaran", RECIPIENT)
    card = page.locator("#persona-card")
    await expect(card).to_be_visible()
    async with sandbox_app.ctx.session_factory() as s:  # type: ignore[union-attr]
        r = await palaran_recipient(s)
        nik = sandbox_app.ctx.cipher.decrypt(r.nik_encrypted)  # type: ignore[union-attr]
    await expect(card).to_contain_text(nik)
    await expect(card.locator("a", has_text=TKSK)).to_be_visible()  # "open their TKSK"
    await shots(page, "persona-card")

    await send(page, "/start")
    await wait_bot(page, "/start NIK")
    await send(page, "/bahasa")
    choose = await wait_bot(page, "Pilih bahasa")
    await expect(choose.locator(".inline-kb button")).to_have_count(2)
    await shots(page, "language-buttons")
    bot_messages_before = await page.locator(".msg.in").count()
    await press_inline(page, "English")
    # The bot edits the message in place: same bubble, new text, buttons gone, marked edited.
    await expect(choose).to_contain_text("Language set to English.")
    await expect(choose.locator(".inline-kb")).to_have_count(0)
    await expect(choose.locator(".edited")).to_be_visible()
    assert await page.locator(".msg.in").count() == bot_messages_before
    await send(page, "/help")
    await wait_bot(page, "To join, open the invitation link")
    await shots(page, "english-help")

    # The command menu lists what the bot registered for this chat.
    await page.click("#menu-btn")
    await expect(page.locator("#commands-pop .cmd", has_text="/start")).to_be_visible()
    await shots(page, "command-menu")
    await page.locator("#commands-pop button", has_text="/bahasa").click()
    await wait_bot(page, "Choose your language")


async def test_photo_upload_arrives_as_a_telegram_photo(sandbox_app: SandboxApp, browser, shots, tmp_path) -> None:
    page = await open_page(browser, sandbox_app.url)
    await pick_person(page, "TKSK/PSM", "palaran", TKSK)
    picture = tmp_path / "warung.jpg"
    picture.write_bytes(make_jpeg(1600, 1200, seed=7))
    await page.click("#attach")
    await shots(page, "attach-menu")
    await page.set_input_files("#file-photo", str(picture))
    dialog = page.locator("#upload-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#upload-preview")).to_be_visible()
    await page.fill("#upload-caption", "Warung buka hari ini")
    await shots(page, "photo-dialog")
    await page.click("#upload-send")
    bubble = page.locator(".msg.out .bubble", has=page.locator("img.photo")).last
    await expect(bubble).to_contain_text("Warung buka hari ini")
    await page.wait_for_function(
        "() => [...document.querySelectorAll('.msg.out img.photo')].some(i => i.complete && i.naturalWidth > 0)"
    )
    await sandbox_app.emulator.wait_until_processed(10)  # type: ignore[union-attr]
    await shots(page, "photo-sent")

    person = sandbox_app.emulator.find_person(int(page.url.rsplit("=", 1)[1]))  # type: ignore[union-attr]
    sent = [m for m in person.history if not m.outgoing and m.kind == "photo"][-1]
    widths = [s["width"] for s in sent.data["photo"]]
    assert widths == sorted(widths) and widths[-1] == 1280, "Telegram's PhotoSize ladder, largest 1280 px"
    assert sent.caption == "Warung buka hari ini"

    # Something that is not a picture is refused with a clear message, and nothing is sent.
    bogus = tmp_path / "not-a-photo.jpg"
    bogus.write_bytes(b"this is text, not a JPEG")
    count = len(person.history)
    await page.set_input_files("#file-photo", str(bogus))
    await page.click("#upload-send")
    await expect(page.locator("#toast")).to_contain_text("not a picture")
    assert len(person.history) == count


async def test_voice_note_recorded_in_the_browser_is_ogg_opus(sandbox_app: SandboxApp, browser, shots) -> None:
    page = await open_page(browser, sandbox_app.url, viewport=PHONE)
    await expect(page.locator("#sidebar")).to_be_visible()
    await expect(page.locator("#chat")).to_be_hidden()
    await pick_person(page, "TKSK/PSM", "palaran", TKSK)
    await expect(page.locator("#sidebar")).to_be_hidden()
    await page.click("#mic")
    await expect(page.locator("#recorder")).to_be_visible()
    await page.wait_for_timeout(1600)
    await shots(page, "recording")
    await page.click("#rec-send")
    voice = page.locator(".msg.out .bubble audio").last
    await expect(voice).to_be_attached()
    await sandbox_app.emulator.wait_until_processed(10)  # type: ignore[union-attr]
    await shots(page, "voice-sent")
    person = sandbox_app.emulator.find_person(int(page.url.rsplit("=", 1)[1]))  # type: ignore[union-attr]
    sent = [m for m in person.history if not m.outgoing and m.kind == "voice"][-1]
    assert sent.media[:4] == b"OggS" and b"OpusHead" in sent.media[:100]
    assert sent.data["voice"]["duration"] >= 1 and sent.data["voice"]["mime_type"] == "audio/ogg"
    # Back to the list: the chat is there.
    await page.click("#back")
    await expect(page.locator("#chat-list li", has_text=TKSK)).to_be_visible()


async def test_bot_html_is_rendered_safely_and_deep_links_open_in_any_tab(
    sandbox_app: SandboxApp, browser, shots
) -> None:
    tksk_page = await open_page(browser, sandbox_app.url)
    await pick_person(tksk_page, "TKSK/PSM", "palaran", TKSK)
    tksk_id = int(tksk_page.url.rsplit("=", 1)[1])
    bot = sandbox_app.run.app.bot  # type: ignore[union-attr]
    await bot.send_message(
        tksk_id,
        "<b>Undangan</b> untuk <i>Ahmad</i>: https://t.me/uep_kaltim_bot?start=inv_abc123\n"
        "&lt;script&gt;alert(1)&lt;/script&gt; <a href=\"https://dinsos.kaltimprov.go.id\">Dinas Sosial</a>",
        parse_mode="HTML",
    )
    msg = await wait_bot(tksk_page, "Undangan")
    await expect(msg.locator("b", has_text="Undangan")).to_be_visible()
    await expect(msg.locator("i", has_text="Ahmad")).to_be_visible()
    await expect(msg).to_contain_text("<script>alert(1)</script>")
    assert await tksk_page.locator("#messages script").count() == 0
    await expect(msg.locator("a.deeplink")).to_have_attribute("data-payload", "inv_abc123")
    await expect(msg.locator('a[href="https://dinsos.kaltimprov.go.id"]')).to_have_attribute("target", "_blank")
    await shots(tksk_page, "bot-html")

    # Copy the invitation and open it in the recipient's tab, as if sent over WhatsApp.
    await msg.locator(".copy-link").click()
    recipient_page = await open_page(browser, sandbox_app.url)
    await pick_person(recipient_page, "Penerima", "palaran", RECIPIENT)
    chip = recipient_page.locator("#link-chip")
    await expect(chip).to_be_visible()
    await shots(recipient_page, "copied-link-offered")
    await chip.get_by_text("Buka di sini").click()
    await expect(recipient_page.locator(".msg.out .bubble").last).to_contain_text("/start inv_abc123")
    recipient = sandbox_app.emulator.find_person(int(recipient_page.url.rsplit("=", 1)[1]))  # type: ignore[union-attr]
    assert any(m.content == "/start inv_abc123" for m in recipient.history if not m.outgoing)
    # Clicking the link itself sends /start TOKEN from whoever is looking at it.
    await msg.locator("a.deeplink").click()
    await expect(tksk_page.locator(".msg.out .bubble").last).to_contain_text("/start inv_abc123")
    await sandbox_app.emulator.wait_until_processed(10)  # type: ignore[union-attr]
    await shots(recipient_page, "link-opened")


async def test_clock_panel_moves_time_for_every_tab(sandbox_app: SandboxApp, browser, shots) -> None:
    page = await open_page(browser, sandbox_app.url)
    other = await open_page(browser, sandbox_app.url)
    clock = page.locator("#sidebar .clock-now")
    await expect(clock).to_contain_text(re.compile(r"Sen, 2 Mar 2026.*09[:.]0\d WITA"))
    # Nothing pending yet: the "next reminder" button says so.
    await expect(page.locator('#sidebar .clock-step[data-step="next_reminder"]')).to_be_disabled()
    await page.locator("#sidebar .clock-step", has_text="+1 jam").click()
    await expect(clock).to_contain_text(re.compile(r"10[:.]0\d WITA"))
    await page.locator("#sidebar .clock-step", has_text="+1 hari").click()
    await expect(clock).to_contain_text("Sel, 3 Mar 2026")
    await expect(page.locator("#sidebar .clock-note")).to_contain_text("Pemindaian dijalankan")
    await expect(other.locator("#sidebar .clock-now")).to_contain_text("Sel, 3 Mar 2026")  # live in the other tab
    assert sandbox_app.now() - (sandbox_app.emulator.world.clock()) < timedelta(seconds=1)  # type: ignore[union-attr]
    await shots(page, "a-day-later")

    # A recipient with a check-in period has reminder rows; the button jumps to the earliest one.
    async with sandbox_app.ctx.session_factory.begin() as s:  # type: ignore[union-attr]
        r = await palaran_recipient(s)
        await schedule_next_checkin(s, r, settings=sandbox_app.settings, now=sandbox_app.now())
    due = await sandbox_app.next_reminder_at()
    assert due is not None and due > sandbox_app.now()
    await page.reload()
    button = page.locator('#sidebar .clock-step[data-step="next_reminder"]')
    await expect(button).to_be_enabled()
    await button.click()
    local = due.astimezone(sandbox_app.settings.program.tz)
    await expect(clock).to_contain_text(f"{local.day} ")
    await expect(clock).to_contain_text(re.compile(rf"{local:%H}[:.]{local:%M} WITA"))
    assert sandbox_app.now() >= due
    await shots(page, "jumped-to-reminder")
