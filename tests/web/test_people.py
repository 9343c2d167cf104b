"""People on the desk: search by name, desa or NIK, a recipient's page, masked NIK, audited look-ups, and
photos only for those who may see them."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from bot.context import AppContext
from db.enums import PhotoStatus
from db.models import AuditLog, Checkin, Photo, Recipient
from services.crypto import mask_nik
from services.photos import media_path
from tests.web.conftest import Desk, People, World, csrf_of


async def _nik_of(ctx: AppContext, recipient: Recipient) -> str:
    async with ctx.session_factory() as s:
        r = await s.get(Recipient, recipient.id)
        return ctx.cipher.decrypt(r.nik_encrypted)


async def _actions(ctx: AppContext) -> list[str]:
    async with ctx.session_factory() as s:
        return list(await s.scalars(select(AuditLog.action).order_by(AuditLog.id)))


async def test_search_by_name_desa_and_typed_nik(desk: Desk, people: People, world: World, ctx: AppContext) -> None:
    nik = await _nik_of(ctx, world.recipient)
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get("/people", params={"q": "siti"}) as page:
            html = await page.text()
        assert "Siti Aminah" in html and "Rahmawati" not in html
        async with client.get("/people", params={"q": "Loa Janan"}) as page:
            html = await page.text()
        assert "Rahmawati" in html and "Siti Aminah" not in html
        typed = f"{nik[:6]} {nik[6:12]}.{nik[12:]}"
        async with client.post("/people/find", data={"csrf": csrf_of(html), "q": typed},
                               allow_redirects=False) as answer:
            assert answer.status == 303  # straight to the one person with this NIK; no NIK in the URL
            assert answer.headers["Location"] == f"/people/{world.recipient.id}"
        async with client.post("/people/find", data={"csrf": csrf_of(html), "q": "6472 0000 0000 9999"}) as answer:
            html = await answer.text()
        assert "Tidak ada yang cocok" in html and "9999" not in html
        async with client.post("/people/find", data={"csrf": csrf_of(html), "q": "Siti"},
                               allow_redirects=False) as answer:
            assert answer.headers["Location"] == "/people?q=Siti"


async def test_a_caseworker_sees_a_masked_nik_and_an_admin_reveals_it_audited(
    desk: Desk, people: People, world: World, ctx: AppContext
) -> None:
    nik = await _nik_of(ctx, world.recipient)
    budi = await desk.signed_in(people.budi)
    async with budi:
        async with budi.get(f"/people/{world.recipient.id}") as page:
            html = await page.text()
        assert mask_nik(nik) in html and nik not in html
        assert "Tampilkan NIK lengkap" not in html
        # The risk score and why (services/monitoring/risk.py): never visited since the aid.
        assert "Risiko 1: kunjungan terlambat" in html
        async with budi.post(f"/people/{world.recipient.id}/nik", data={"csrf": csrf_of(html)}) as answer:
            assert answer.status == 404 and nik not in await answer.text()
        async with budi.post(f"/people/{world.recipient.id}/phone", data={"csrf": csrf_of(html)}) as answer:
            html = await answer.text()
        assert 'href="tel:+6281234567890"' in html
    admin = await desk.signed_in(people.admin)
    async with admin:
        async with admin.get(f"/people/{world.recipient.id}") as page:
            html = await page.text()
        async with admin.post(f"/people/{world.recipient.id}/nik", data={"csrf": csrf_of(html)}) as answer:
            assert nik in await answer.text()
    actions = await _actions(ctx)
    assert actions.count("desk.nik_viewed") == 1
    assert actions.count("desk.phone_viewed") == 1
    assert actions.count("desk.recipient_viewed") >= 3


async def test_a_tksk_finds_only_people_of_their_kecamatan(desk: Desk, people: People, world: World) -> None:
    client = await desk.signed_in(people.tksk)
    async with client:
        async with client.get("/people", params={"q": "Rahmawati"}) as page:
            html = await page.text()
        assert "Rahmawati</a>" not in html and "Tidak ada yang cocok" in html
        async with client.get(f"/people/{world.other_recipient.id}") as page:
            assert page.status == 404 and "Rahmawati" not in await page.text()
        async with client.get(f"/people/{world.recipient.id}") as page:
            assert page.status == 200


async def test_check_in_photos_show_on_the_timeline_and_only_to_those_allowed(
    desk: Desk, people: People, world: World, ctx: AppContext
) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, "JPEG")
    data = buffer.getvalue()
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    path = media_path(ctx.settings.storage.media_dir, sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    now = ctx.clock.now()
    async with ctx.session_factory.begin() as s:
        checkin = Checkin(recipient_id=world.recipient.id, status="running", days_open=6, submitted_at=now)
        s.add(checkin)
        await s.flush()
        photo = Photo(recipient_id=world.recipient.id, checkin_id=checkin.id, file_id="f1", file_unique_id="u1",
                      sha256=sha, path=str(path), status=PhotoStatus.STORED, created_at=now)
        s.add(photo)
        await s.flush()
        photo_id = photo.id
    budi = await desk.signed_in(people.budi)
    async with budi:
        async with budi.get(f"/people/{world.recipient.id}") as page:
            html = await page.text()
        assert f"/media/photos/{photo_id}" in html and "buka 6 hari" in html
        async with budi.get(f"/media/photos/{photo_id}") as image:
            assert image.status == 200 and await image.read() == data
    other = await desk.signed_in(people.other_tksk)
    async with other:
        async with other.get(f"/media/photos/{photo_id}") as image:
            assert image.status == 404
    async with desk.client() as stranger:
        async with stranger.get(f"/media/photos/{photo_id}", allow_redirects=False) as image:
            assert image.status == 303


async def test_the_gallery_shows_reused_photos_side_by_side_within_the_viewers_area(
    desk: Desk, people: People, world: World, ctx: AppContext
) -> None:
    import hashlib

    now = ctx.clock.now()
    stored = []
    for colour in ((10, 200, 30), (12, 198, 33)):
        buffer = io.BytesIO()
        Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
        data = buffer.getvalue()
        sha = hashlib.sha256(data).hexdigest()
        path = media_path(ctx.settings.storage.media_dir, sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        stored.append((sha, path))
    async with ctx.session_factory.begin() as s:
        first = Checkin(recipient_id=world.recipient.id, status="running", days_open=5, submitted_at=now)
        second = Checkin(recipient_id=world.recipient.id, status="running", days_open=5, submitted_at=now,
                         reuse_flagged=True)
        s.add_all([first, second])
        await s.flush()
        old = Photo(recipient_id=world.recipient.id, checkin_id=first.id, file_id="a", file_unique_id="a",
                    sha256=stored[0][0], path=str(stored[0][1]), status=PhotoStatus.STORED, created_at=now)
        s.add(old)
        await s.flush()
        new = Photo(recipient_id=world.recipient.id, checkin_id=second.id, file_id="b", file_unique_id="b",
                    sha256=stored[1][0], path=str(stored[1][1]), status=PhotoStatus.STORED, created_at=now,
                    reuse_of_photo_id=old.id)
        s.add(new)
        await s.flush()
        old_id, new_id = old.id, new.id
    budi = await desk.signed_in(people.budi)
    async with budi:
        async with budi.get("/photos") as page:
            html = await page.text()
        assert f"/media/photos/{old_id}" in html and f"/media/photos/{new_id}" in html
        async with budi.get("/photos", params={"kind": "reused"}) as page:
            html = await page.text()
        assert html.index(f"/media/photos/{new_id}") < html.index(f"/media/photos/{old_id}")
        assert "Belum diperiksa" in html
    other = await desk.signed_in(people.other_tksk)
    async with other:
        async with other.get("/photos") as page:
            html = await page.text()
        assert "/media/photos/" not in html and "Tidak ada foto" in html


async def test_the_timeline_shows_visits_and_marks_a_check_in_made_through_one(
    desk: Desk, people: People, world: World, ctx: AppContext
) -> None:
    from db.models import Visit

    now = ctx.clock.now()
    async with ctx.session_factory.begin() as s:
        checkin = Checkin(recipient_id=world.recipient.id, status="running", days_open=4, submitted_at=now)
        s.add(checkin)
        await s.flush()
        s.add(Visit(recipient_id=world.recipient.id, kecamatan_id=world.recipient.kecamatan_id,
                    worker_id=world.tksk.id, visited_at=now, observed_status="running", days_open=4,
                    advice="Catat penjualan harian", checkin_id=checkin.id, created_at=now))
    budi = await desk.signed_in(people.budi)
    async with budi:
        async with budi.get(f"/people/{world.recipient.id}") as page:
            html = await page.text()
    assert "lewat kunjungan" in html and "Catat penjualan harian" in html and "tanpa lokasi" in html
