"""The staff web desk in headless Chromium, as a Dinas Sosial caseworker would use it beside the sandbox:

* sign in from the bot's /web link;
* find a person by name and open their photos;
* take a case, and see the recipient told in the sandbox chat;
* refusals: a form without its CSRF token, a reused sign-in link, a TKSK opening another kecamatan's case.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from db.enums import CaseKind, CaseState, PhotoStatus, Urgency
from db.models import Case, Checkin, FieldWorker, Kecamatan, Photo, Recipient
from sandbox.app import SandboxApp
from sandbox.media import make_jpeg
from services.cases.opening import open_case
from services.photos import media_path

from .helpers import open_page, pick_person, send, wait_bot
from .test_flows import TKSK, joined_earlier

pytestmark = pytest.mark.browser

CASEWORKER = "Andi Pratama"


async def sign_in_link(page: Page) -> str:
    """As the person chosen on ``page``: /web in the bot, and the link it answers with."""
    await send(page, "/web")
    message = await wait_bot(page, "/login/")
    return await message.locator("a[href*='/login/']").first.get_attribute("href")


async def sign_in(browser, sandbox_app: SandboxApp, kind: str, query: str, name: str) -> tuple[Page, Page]:  # type: ignore[no-untyped-def]
    chat = await open_page(browser, sandbox_app.url)
    await pick_person(chat, kind, query, name)
    link = await sign_in_link(chat)
    desk = await browser.new_page()
    await desk.goto(link)
    await desk.get_by_role("button", name="Masuk").click()
    await expect(desk.get_by_role("heading", name=re.compile("Kasus"))).to_be_visible()
    return chat, desk


async def a_case_for(app: SandboxApp, recipient: Recipient, kind: CaseKind = CaseKind.EQUIPMENT) -> Case:
    async with app.ctx.session_factory.begin() as s:  # type: ignore[union-attr]
        r = await s.get(Recipient, recipient.id)
        opened = await open_case(s, recipient=r, kind=kind, urgency=Urgency.HIGH, description="Kompor gas bocor",
                                 settings=app.ctx.settings, clock=app.ctx.clock)  # type: ignore[union-attr]
        return opened.case


async def a_checkin_with_a_photo(app: SandboxApp, recipient: Recipient) -> None:
    data = make_jpeg(640, 480, seed=7, label="gorengan")
    sha = hashlib.sha256(data).hexdigest()
    path = media_path(app.ctx.settings.storage.media_dir, sha)  # type: ignore[union-attr]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    now = app.ctx.clock.now()  # type: ignore[union-attr]
    async with app.ctx.session_factory.begin() as s:  # type: ignore[union-attr]
        checkin = Checkin(recipient_id=recipient.id, status="running", days_open=6, sales_bracket="250k_500k",
                          note="Ramai pembeli", submitted_at=now)
        s.add(checkin)
        await s.flush()
        s.add(Photo(recipient_id=recipient.id, checkin_id=checkin.id, file_id="sandbox-photo",
                    file_unique_id="sandbox-photo-u", sha256=sha, path=str(path), status=PhotoStatus.STORED,
                    created_at=now, width=640, height=480))


async def test_caseworker_signs_in_finds_a_person_and_their_photos(sandbox_app: SandboxApp, browser, shots) -> None:
    recipient = await _a_palaran_recipient(sandbox_app)
    await a_checkin_with_a_photo(sandbox_app, recipient)
    chat, desk = await sign_in(browser, sandbox_app, "Dinas Sosial", "", CASEWORKER)
    await shots(chat, "bot-sends-the-link")
    await shots(desk, "desk-cases")
    await desk.get_by_role("link", name="Penerima").click()
    await desk.get_by_role("searchbox", name="Cari").fill(recipient.name.split()[0])
    await desk.get_by_role("button", name="Cari").click()
    await desk.get_by_role("link", name=recipient.name).first.click()
    await expect(desk.get_by_role("heading", name=recipient.name)).to_be_visible()
    photo = desk.locator(".timeline img").first
    await expect(photo).to_be_visible()
    assert await photo.evaluate("img => img.naturalWidth") == 640
    await shots(desk, "person-with-photos")
    await desk.set_viewport_size({"width": 390, "height": 844})
    await shots(desk, "person-on-a-phone")


async def _a_palaran_recipient(app: SandboxApp) -> Recipient:
    async with app.ctx.session_factory() as s:  # type: ignore[union-attr]
        return (await s.scalars(
            select(Recipient).join(Kecamatan).where(Kecamatan.name == "Palaran").order_by(Recipient.id).limit(1)
        )).one()


async def test_caseworker_takes_a_case_and_the_recipient_is_told(sandbox_app: SandboxApp, browser, shots) -> None:
    recipient = await joined_earlier(sandbox_app, (await _a_palaran_recipient(sandbox_app)).name)
    case = await a_case_for(sandbox_app, recipient)
    me = await open_page(browser, sandbox_app.url)  # her chat with the bot is open on her phone
    await pick_person(me, "Penerima", recipient.name.lower(), recipient.name)
    _chat, desk = await sign_in(browser, sandbox_app, "Dinas Sosial", "", CASEWORKER)
    await desk.get_by_role("link", name=case.number).click()
    await expect(desk.locator("blockquote")).to_have_text("Kompor gas bocor")
    await shots(desk, "case-page")
    await desk.get_by_role("button", name="Ambil kasus ini").click()
    await expect(desk.get_by_role("status")).to_contain_text("sudah diberi tahu")
    await expect(desk.locator("dl.facts")).to_contain_text("Diteruskan ke Dinas Sosial")
    await expect(desk.get_by_role("button", name="Ambil kasus ini")).to_have_count(0)  # it is hers now
    await shots(desk, "case-taken")
    async with sandbox_app.ctx.session_factory() as s:  # type: ignore[union-attr]
        assert (await s.get(Case, case.id)).state == CaseState.WITH_DISSOS

    await wait_bot(me, case.number)
    await shots(me, "recipient-told")


async def test_refusals_in_the_browser(sandbox_app: SandboxApp, browser, shots) -> None:
    recipient = await _a_palaran_recipient(sandbox_app)
    async with sandbox_app.ctx.session_factory() as s:  # type: ignore[union-attr]
        elsewhere = (await s.scalars(
            select(Recipient).join(Kecamatan).where(Kecamatan.name != "Palaran").order_by(Recipient.id).limit(1)
        )).one()
    own_case = await a_case_for(sandbox_app, recipient)
    foreign_case = await a_case_for(sandbox_app, elsewhere, CaseKind.NO_BUYERS)

    chat = await open_page(browser, sandbox_app.url)
    await pick_person(chat, "Dinas Sosial", "", CASEWORKER)
    link = await sign_in_link(chat)
    desk = await browser.new_page()
    await desk.goto(link)
    await desk.get_by_role("button", name="Masuk").click()

    # A form posted without its CSRF token: refused, the case unchanged.
    await desk.goto(link.split("/login/")[0] + f"/cases/{own_case.id}")
    await desk.locator("form.action-claim input[name=csrf]").evaluate("input => input.remove()")
    await desk.get_by_role("button", name="Ambil kasus ini").click()
    await expect(desk.get_by_role("alert")).to_contain_text("tidak ada yang dilakukan")
    await shots(desk, "csrf-refused")
    async with sandbox_app.ctx.session_factory() as s:  # type: ignore[union-attr]
        assert (await s.get(Case, own_case.id)).state == CaseState.NEW

    # The same sign-in link a second time, in another browser window.
    again = await browser.new_page()
    await again.goto(link)
    await expect(again.get_by_role("alert")).to_contain_text("sudah dipakai")
    await shots(again, "link-reused")

    # A TKSK guessing another kecamatan's case by its URL.
    tksk_chat = await open_page(browser, sandbox_app.url)
    await pick_person(tksk_chat, "TKSK/PSM", "palaran", TKSK)
    tksk_link = await sign_in_link(tksk_chat)
    tksk_desk = await browser.new_page()
    await tksk_desk.goto(tksk_link)
    await tksk_desk.get_by_role("button", name="Masuk").click()
    response = await tksk_desk.goto(tksk_link.split("/login/")[0] + f"/cases/{foreign_case.id}")
    assert response is not None and response.status == 404
    await expect(tksk_desk.get_by_role("alert")).to_contain_text("bukan untuk Anda")
    assert foreign_case.number not in await tksk_desk.content()
    await shots(tksk_desk, "tksk-other-kecamatan")


async def test_caseworker_sends_a_broadcast_with_a_live_count(sandbox_app: SandboxApp, browser, shots) -> None:
    recipient = await joined_earlier(sandbox_app, (await _a_palaran_recipient(sandbox_app)).name)
    me = await open_page(browser, sandbox_app.url)  # her chat with the bot is open on her phone
    await pick_person(me, "Penerima", recipient.name.lower(), recipient.name)
    _chat, desk = await sign_in(browser, sandbox_app, "Dinas Sosial", "", CASEWORKER)
    await desk.get_by_role("link", name="Pengumuman").click()
    await desk.get_by_role("link", name="Pengumuman baru").click()
    await desk.locator("textarea[name=text_id]").fill("Pelatihan pembukuan usaha hari Kamis, 09.00 di kantor desa.")
    await desk.get_by_label("Penerima", exact=True).check()
    await desk.get_by_label("Kota Samarinda").check()
    count = desk.get_by_role("status")
    await expect(count).to_contain_text(re.compile(r"\d+ orang: 1 di Telegram"))  # the live count, from the server
    await shots(desk, "compose-with-count")
    desk.once("dialog", lambda dialog: dialog.accept())
    await desk.get_by_role("button", name="Kirim", exact=True).click()
    await expect(desk.get_by_role("heading", name=re.compile(r"Pengumuman #\d+"))).to_be_visible()
    await wait_bot(me, "Pelatihan pembukuan usaha")
    await shots(me, "recipient-gets-it")
    await desk.reload()
    await expect(desk.locator("dl.facts")).to_contain_text("1 dari 1")
    await shots(desk, "broadcast-sent")


async def test_a_voice_note_plays_on_the_case_page(sandbox_app: SandboxApp, browser, shots) -> None:
    from sandbox.media import make_ogg_opus

    recipient = await _a_palaran_recipient(sandbox_app)
    voice = sandbox_app.emulator.world.files.add(  # type: ignore[union-attr]
        make_ogg_opus(4, seed=4), "voice", "oga", mime_type="audio/ogg", duration=4)
    async with sandbox_app.ctx.session_factory.begin() as s:  # type: ignore[union-attr]
        r = await s.get(Recipient, recipient.id)
        case = (await open_case(s, recipient=r, kind=CaseKind.EQUIPMENT, urgency=Urgency.NORMAL, description=None,
                                voice_file_id=voice.file_id, settings=sandbox_app.ctx.settings,  # type: ignore[union-attr]
                                clock=sandbox_app.ctx.clock)).case  # type: ignore[union-attr]
    _chat, desk = await sign_in(browser, sandbox_app, "Dinas Sosial", "", CASEWORKER)
    await desk.set_viewport_size({"width": 1366, "height": 768})
    await desk.goto(desk.url.split("/cases")[0] + f"/cases/{case.id}")
    audio = desk.locator("audio.voice")
    await expect(audio).to_be_visible()
    # Chromium fetched it through the desk (the bot's getFile + download) and read the OGG/Opus stream.
    await desk.wait_for_function("() => document.querySelector('audio.voice').readyState >= 1", timeout=10_000)
    duration = await audio.evaluate("a => a.duration")
    assert 3.5 < duration < 4.5, duration
    assert await audio.evaluate("a => a.error") is None
    await shots(desk, "case-voice-note")
    await desk.set_viewport_size({"width": 390, "height": 844})
    await shots(desk, "case-voice-note-on-a-phone")

    # Another kecamatan's TKSK, guessing the voice note's URL: refused, nothing fetched for them.
    async with sandbox_app.ctx.session_factory() as s:  # type: ignore[union-attr]
        outsider = (await s.scalars(
            select(FieldWorker).join(Kecamatan).where(Kecamatan.name != "Palaran", FieldWorker.role == "tksk")
            .order_by(FieldWorker.id).limit(1))).one()
    tksk_chat = await open_page(browser, sandbox_app.url)
    await pick_person(tksk_chat, "TKSK/PSM", outsider.name.split()[0].lower(), outsider.name)
    tksk_link = await sign_in_link(tksk_chat)
    tksk_desk = await browser.new_page()
    await tksk_desk.goto(tksk_link)
    await tksk_desk.get_by_role("button", name="Masuk").click()
    await expect(tksk_desk.get_by_role("heading", name=re.compile("Kasus"))).to_be_visible()  # signed in as them
    response = await tksk_desk.goto(tksk_link.split("/login/")[0] + f"/media/voice/case/{case.id}")
    assert response is not None and response.status == 404
    await expect(tksk_desk.get_by_role("alert")).to_contain_text("bukan untuk Anda")


async def test_caseworker_corrects_a_profile_from_its_case(sandbox_app: SandboxApp, browser, shots) -> None:
    recipient = await joined_earlier(sandbox_app, (await _a_palaran_recipient(sandbox_app)).name)
    case = await a_case_for(sandbox_app, recipient, CaseKind.PROFILE_CORRECTION)
    me = await open_page(browser, sandbox_app.url)  # her chat with the bot is open on her phone
    await pick_person(me, "Penerima", recipient.name.lower(), recipient.name)
    _chat, desk = await sign_in(browser, sandbox_app, "Dinas Sosial", "", CASEWORKER)
    await desk.set_viewport_size({"width": 1366, "height": 768})
    await desk.get_by_role("link", name=case.number).click()
    form = desk.locator("form.correct")
    await expect(form.get_by_label("Desa")).to_have_value(recipient.desa)
    await form.get_by_label("Desa").fill("Bukuan")
    await form.get_by_label("Cara penyelesaiannya").fill("Desa diperbaiki sesuai KTP")
    await form.scroll_into_view_if_needed()
    await shots(desk, "correction-form")
    await desk.set_viewport_size({"width": 390, "height": 844})
    await form.scroll_into_view_if_needed()
    await shots(desk, "correction-form-on-a-phone")
    await form.get_by_role("button", name="Simpan perbaikan dan selesaikan").click()
    await expect(desk.get_by_role("status")).to_contain_text("Profil sudah diperbaiki")
    await expect(desk.locator("ol.history")).to_contain_text("memperbaiki profil — desa")
    await shots(desk, "corrected-and-resolved")
    async with sandbox_app.ctx.session_factory() as s:  # type: ignore[union-attr]
        assert (await s.get(Recipient, recipient.id)).desa == "Bukuan"
    await wait_bot(me, case.number)
    await shots(me, "recipient-told-of-the-correction")


async def test_caseworker_sends_a_photo_announcement(sandbox_app: SandboxApp, browser, shots, tmp_path) -> None:
    recipient = await joined_earlier(sandbox_app, (await _a_palaran_recipient(sandbox_app)).name)
    me = await open_page(browser, sandbox_app.url)  # her chat with the bot is open on her phone
    await pick_person(me, "Penerima", recipient.name.lower(), recipient.name)
    _chat, desk = await sign_in(browser, sandbox_app, "Dinas Sosial", "", CASEWORKER)
    await desk.set_viewport_size({"width": 1366, "height": 768})
    await desk.get_by_role("link", name="Pengumuman").click()
    await desk.get_by_role("link", name="Pengumuman baru").click()
    poster = tmp_path / "pasar-murah.jpg"
    poster.write_bytes(make_jpeg(1280, 720, seed=3, label="Pasar murah"))
    await desk.locator("textarea[name=text_id]").fill("Pasar murah hari Sabtu, 08.00 di kantor kecamatan.")
    await desk.locator("input[name=photo]").set_input_files(str(poster))
    await desk.get_by_label("Penerima", exact=True).check()
    await desk.get_by_label("Kota Samarinda").check()
    await expect(desk.get_by_role("status")).to_contain_text(re.compile(r"\d+ orang: 1 di Telegram"))
    await shots(desk, "compose-with-a-photo")
    desk.once("dialog", lambda dialog: dialog.accept())
    await desk.get_by_role("button", name="Kirim", exact=True).click()
    await expect(desk.get_by_role("heading", name=re.compile(r"Pengumuman #\d+"))).to_be_visible()
    await expect(desk.locator("section.panel").first).to_contain_text("Dikirim sebagai foto")
    message = await wait_bot(me, "Pasar murah hari Sabtu")
    await expect(message.locator("img").first).to_be_visible()
    await shots(me, "recipient-gets-the-photo")
