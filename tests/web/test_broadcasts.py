"""Broadcasts on the desk: composed with a live count, sent by the bot's delivery worker, scheduled and
cancelled, refused politely when incomplete, and for staff only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.context import AppContext
from db.enums import BroadcastStatus
from db.models import AuditLog, Broadcast
from tests.web.conftest import Desk, People, World, csrf_of


async def test_an_announcement_from_the_desk_reaches_the_recipients(desk: Desk, people: People, world: World,
                                                                   ctx: AppContext) -> None:
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get("/broadcasts/new") as page:
            html = await page.text()
        async with client.get("/broadcasts/count", params=[("recipients", "on"), ("kab", "0")]) as answer:
            counted = await answer.json()
        assert counted["people"] == 2 and counted["reachable"] == 2
        form = {"csrf": csrf_of(html), "text_id": "Pelatihan pembukuan hari Kamis di kantor desa.",
                "recipients": "on", "when": "now"}
        async with client.post("/broadcasts", data=form, allow_redirects=False) as answer:
            assert answer.status == 303
            where = answer.headers["Location"]
    await people.siti.wait_for("Pelatihan pembukuan", timeout=15)
    await people.rahma.wait_for("Pelatihan pembukuan", timeout=15)
    async with ctx.session_factory() as s:
        b = await s.scalar(select(Broadcast))
        assert b.total == 2 and b.created_by.startswith("Budi")
        audit = await s.scalar(select(AuditLog).where(AuditLog.action == "broadcast.create"))
        assert audit.details["via"] == "web"
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get(where) as page:
            assert "Pelatihan pembukuan" in await page.text()
        async with client.get("/broadcasts") as page:
            assert f"#{b.id}" in await page.text()


async def test_a_planned_announcement_can_be_cancelled_once(desk: Desk, people: People, ctx: AppContext) -> None:
    at = (ctx.clock.now() + timedelta(days=2)).astimezone(ctx.settings.program.tz).strftime("%Y-%m-%dT%H:%M")
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get("/broadcasts/new") as page:
            csrf = csrf_of(await page.text())
        form = {"csrf": csrf, "text_id": "Jadwal kunjungan bulan depan.", "workers": "on", "when": "later", "at": at}
        async with client.post("/broadcasts", data=form) as answer:
            html = await answer.text()
            assert "dijadwalkan" in html and "Batalkan pengumuman" in html
        async with ctx.session_factory() as s:
            b = await s.scalar(select(Broadcast))
            assert b.status == BroadcastStatus.SCHEDULED and b.total == 0
        for _ in range(2):
            async with client.post(f"/broadcasts/{b.id}/cancel", data={"csrf": csrf}) as answer:
                assert answer.status == 200
    async with ctx.session_factory() as s:
        assert (await s.get(Broadcast, b.id)).status == BroadcastStatus.CANCELLED
        cancels = await s.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "broadcast.cancel"))
    assert cancels == 1


async def test_an_incomplete_announcement_is_refused_and_nothing_is_made(desk: Desk, people: People,
                                                                        ctx: AppContext) -> None:
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get("/broadcasts/new") as page:
            csrf = csrf_of(await page.text())
        for form, words in (
            ({"text_id": "  ", "recipients": "on"}, "tulis pengumumannya"),
            ({"text_id": "Halo"}, "Pilih siapa yang menerima"),
            ({"text_id": "Halo", "recipients": "on", "when": "later", "at": "2020-01-01T08:00"}, "sudah lewat"),
            ({"text_id": "x" * 5000, "recipients": "on"}, "Terlalu panjang"),
        ):
            async with client.post("/broadcasts", data={"csrf": csrf, **form}) as answer:
                assert answer.status == 422
                assert words in await answer.text()
    async with ctx.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Broadcast)) == 0


async def test_broadcasts_are_for_staff_only(desk: Desk, people: People) -> None:
    client = await desk.signed_in(people.tksk)
    async with client:
        for path in ("/broadcasts", "/broadcasts/new", "/broadcasts/count?recipients=on"):
            async with client.get(path) as page:
                assert page.status == 404
        async with client.get("/cases") as page:
            html = await page.text()
            assert "/broadcasts" not in html
        async with client.post("/broadcasts", data={"csrf": csrf_of(html), "text_id": "x", "recipients": "on"}) as a:
            assert a.status == 404


def _png(width: int = 1200, height: int = 800) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGBA", (width, height), (20, 120, 80, 255)).save(out, "PNG")
    return out.getvalue()


def _form(csrf: str, photo: bytes, filename: str, text: str = "Pasar murah Sabtu di kantor kecamatan.") -> object:
    import aiohttp

    form = aiohttp.FormData()
    for key, value in (("csrf", csrf), ("text_id", text), ("recipients", "on"), ("when", "now")):
        form.add_field(key, value)
    form.add_field("photo", photo, filename=filename, content_type="image/png")
    return form


async def test_a_photo_announcement_from_the_desk_is_sent_with_send_photo(
    desk: Desk, people: People, world: World, ctx: AppContext
) -> None:
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get("/broadcasts/new") as page:
            html = await page.text()
        assert 'enctype="multipart/form-data"' in html and 'type="file" name="photo"' in html
        async with client.post("/broadcasts", data=_form(csrf_of(html), _png(), "poster.png"),
                               allow_redirects=False) as answer:
            assert answer.status == 303, await answer.text()
    for person in (people.siti, people.rahma):
        message = await person.wait_for("Pasar murah Sabtu", timeout=15)
        assert message.data.get("photo"), message.data  # a photo (validated by the emulator), the text its caption
        assert message.caption == "Pasar murah Sabtu di kantor kecamatan."
    stats = desk.run.emulator.stats["by_method"]
    assert stats.get("sendPhoto", 0) == 2
    # Uploaded once; the second message re-used Telegram's file_id, which the broadcast keeps once the
    # delivery worker's write after the first upload is committed (it may trail the messages a little).
    import asyncio

    for _ in range(250):
        async with ctx.session_factory() as s:
            b = await s.scalar(select(Broadcast))
        if b.photo_file_id and not b.photo_file_id.startswith("path:"):
            break
        await asyncio.sleep(0.02)
    assert b.photo_file_id and not b.photo_file_id.startswith("path:"), b.photo_file_id
    stored = list((ctx.settings.storage.media_dir / "broadcasts").glob("*.jpg"))
    assert len(stored) == 1 and stored[0].read_bytes()[:3] == b"\xff\xd8\xff"  # kept as a JPEG


async def test_a_file_that_is_not_a_picture_or_too_long_a_caption_is_refused(
    desk: Desk, people: People, ctx: AppContext
) -> None:
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get("/broadcasts/new") as page:
            csrf = csrf_of(await page.text())
        for form, words in (
            (_form(csrf, b"%PDF-1.4 not a picture", "poster.png"), "bukan gambar"),
            (_form(csrf, _png()[:200], "broken.png"), "bukan gambar"),
            (_form(csrf, _png(9000, 300), "banner.png"), "ukuran atau bentuk"),
            (_form(csrf, _png(), "poster.png", text="x" * 1100), "paling banyak 1024 karakter"),
        ):
            async with client.post("/broadcasts", data=form) as answer:
                assert answer.status == 422
                assert words in await answer.text()
    async with ctx.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Broadcast)) == 0
    assert not (ctx.settings.storage.media_dir / "broadcasts").exists()
