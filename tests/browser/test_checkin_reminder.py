"""Check-ins in the browser: a report with a photo upload, and a reminder fired by moving the clock."""

from __future__ import annotations

import pytest
from playwright.async_api import expect
from sqlalchemy import func, select

from db.models import Checkin, Photo, Recipient
from sandbox.app import SandboxApp
from sandbox.media import make_jpeg
from services.schedule import schedule_next_checkin

from .helpers import open_page, pick_person, press_inline, press_reply, send, wait_bot
from .test_flows import joined_earlier

pytestmark = pytest.mark.browser


async def with_schedule(app: SandboxApp, recipient: Recipient) -> None:
    async with app.ctx.session_factory.begin() as s:  # type: ignore[union-attr]
        r = await s.get(Recipient, recipient.id)
        await schedule_next_checkin(s, r, settings=app.ctx.settings, now=app.ctx.clock.now())  # type: ignore[union-attr, arg-type]


async def test_checkin_with_a_photo_upload(sandbox_app: SandboxApp, browser, shots, tmp_path) -> None:
    r = await joined_earlier(sandbox_app, "Erna Sinaga")
    await with_schedule(sandbox_app, r)
    me = await open_page(browser, sandbox_app.url)
    await pick_person(me, "Penerima", "erna palaran", "Erna Sinaga")
    await send(me, "/start")
    await wait_bot(me, "Apa yang ingin")
    await press_reply(me, "Lapor usaha")
    await wait_bot(me, "Bagaimana usaha Anda sekarang?")
    await shots(me, "status")
    await press_inline(me, "Masih jalan")
    await wait_bot(me, "Berapa hari usaha buka")
    await press_inline(me, "6")
    await wait_bot(me, "berapa penjualan")
    await press_inline(me, "Rp500 ribu–1 juta")
    await wait_bot(me, "Kirim 1 sampai 3 foto")
    picture = tmp_path / "usaha.jpg"
    picture.write_bytes(make_jpeg(1200, 900, seed=21))
    await me.set_input_files("#file-photo", str(picture))
    await me.click("#upload-send")
    await wait_bot(me, "Foto diterima")
    await shots(me, "photo-received")
    await press_reply(me, "Lanjut tanpa lokasi")
    await wait_bot(me, "Kirim laporan ini?")
    await shots(me, "summary")
    await press_inline(me, "✅ Kirim")
    thanks = await wait_bot(me, "Terima kasih! Laporan Anda sudah disimpan.")
    await expect(thanks).to_contain_text("Laporan berikutnya tanggal")
    await shots(me, "thank-you")
    await sandbox_app.emulator.wait_until_processed(10)  # type: ignore[union-attr]
    async with sandbox_app.ctx.session_factory() as s:  # type: ignore[union-attr]
        assert await s.scalar(select(func.count()).select_from(Checkin).where(Checkin.recipient_id == r.id)) == 1
        assert await s.scalar(select(func.count()).select_from(Photo).where(Photo.recipient_id == r.id)) == 1


async def test_moving_the_clock_fires_a_reminder(sandbox_app: SandboxApp, browser, shots) -> None:
    r = await joined_earlier(sandbox_app, "Erna Sinaga")
    await with_schedule(sandbox_app, r)
    me = await open_page(browser, sandbox_app.url)
    await pick_person(me, "Penerima", "erna palaran", "Erna Sinaga")
    await send(me, "/start")
    await wait_bot(me, "Apa yang ingin")
    button = me.locator('#sidebar .clock-step[data-step="next_reminder"]')
    await expect(button).to_be_enabled()
    await button.click()
    reminder = await wait_bot(me, "Saatnya melaporkan usaha Anda")
    await expect(reminder.locator(".inline-kb button", has_text="Lapor sekarang")).to_be_visible()
    await shots(me, "reminder")
    await press_inline(me, "Lapor sekarang")
    await wait_bot(me, "Bagaimana usaha Anda sekarang?")
    await shots(me, "checkin-opened")
