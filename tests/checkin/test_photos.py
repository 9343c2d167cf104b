"""Photos: too large, images sent as files, failed downloads retried by the scan, reuse found and reviewed."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from db.enums import CaseKind, PhotoStatus, ReminderStatus, WorkerRole
from db.models import AuditLog, Case, Checkin, Photo, Reminder
from sandbox.media import make_jpeg
from sandbox.runner import SandboxRun
from scheduler.runner import run_due
from services.photos import REUSE_NOTICE_KIND, hamming, media_path, perceptual_hash
from tests import factories
from tests.checkin.conftest import World
from tests.checkin.test_checkin_flow import running_checkin, wait_photos_stored

TOO_BIG = 25 * 1024 * 1024  # over Telegram's 20 MB download limit for bots


async def to_photo_step(person) -> None:  # type: ignore[no-untyped-def]
    await person.command("lapor")
    await person.wait_for("Bagaimana usaha Anda sekarang?")
    await person.press("✅ Masih jalan")
    await person.wait_for("Berapa hari usaha buka")
    await person.press("5")
    await person.wait_for("berapa penjualan")
    await person.press("Rp250–500 ribu")
    await person.wait_for("Kirim 1 sampai 3 foto")


async def scan(sandbox: SandboxRun) -> dict[str, int]:
    assert sandbox.app is not None
    handled = await run_due(sandbox.ctx, sandbox.app.messenger)
    await sandbox.settle()
    return handled


def recompressed(jpeg: bytes, scale: float = 0.8, quality: int = 60) -> bytes:
    """The same picture as a phone would re-send it: smaller and compressed harder (other bytes, same look)."""
    with Image.open(io.BytesIO(jpeg)) as img:
        small = img.resize((int(img.width * scale), int(img.height * scale)))
        out = io.BytesIO()
        small.save(out, "JPEG", quality=quality)
        return out.getvalue()


async def test_too_large_photo_and_file_are_refused_with_a_request_for_a_smaller_one(
    sandbox: SandboxRun, world: World
) -> None:
    siti = world.siti
    await to_photo_step(siti)
    # Every size Telegram offers is over the limit (a huge panorama): no size can be downloaded.
    f = sandbox.emulator.world.files.add(make_jpeg(320, 240, seed=1), "photo", "jpg", mime_type="image/jpeg",
                                         width=8000, height=6000)
    big = dict(f.as_photo_size(), file_size=TOO_BIG)
    await siti.send_raw({"photo": [big]}, files=[f])
    await siti.wait_for("terlalu besar")
    d = sandbox.emulator.world.files.add(b"\xff\xd8 raw camera file", "document", "jpg", mime_type="image/jpeg",
                                         file_name="IMG_0001.jpg")
    await siti.send_raw({"document": {"file_id": d.file_id, "file_unique_id": d.file_unique_id,
                                      "file_name": "IMG_0001.jpg", "mime_type": "image/jpeg", "file_size": TOO_BIG}},
                        files=[d])
    await siti.wait_for("terlalu besar")
    await siti.share_location(-0.5, 117.15)
    await siti.wait_for("minimal satu foto")  # nothing was kept
    await siti.send_photo()
    await siti.wait_for("Foto diterima")
    await siti.press_reply("➡️ Lanjut tanpa lokasi")
    summary = await siti.wait_for("Periksa laporan Anda")
    assert "Foto: 1" in summary.text


async def test_an_image_sent_as_a_file_is_stored_like_a_photo(sandbox: SandboxRun, world: World) -> None:
    siti = world.siti
    await to_photo_step(siti)
    png = io.BytesIO()
    Image.open(io.BytesIO(make_jpeg(800, 600, seed=9))).save(png, "PNG")
    await siti.send_document(png.getvalue(), "warung.png", "image/png")
    await siti.wait_for("Foto diterima")
    await siti.send_document(b"PK\x03\x04 a zip", "foto.zip", "application/zip")
    await siti.wait_for("hanya bisa memakai foto")
    await siti.press_reply("➡️ Lanjut tanpa lokasi")
    summary = await siti.wait_for("Periksa laporan Anda")
    assert "Foto: 1" in summary.text
    await siti.wait_for("Kirim laporan ini?")
    await siti.press("✅ Kirim")
    await siti.wait_for("Terima kasih")
    [photo] = await wait_photos_stored(sandbox.ctx, 1)
    assert photo.path == str(media_path(Path(sandbox.ctx.settings.storage.media_dir), photo.sha256 or ""))
    assert Path(photo.path).read_bytes()[:4] == b"\x89PNG"  # noqa: ASYNC240 - the bytes as sent


async def test_failed_download_is_retried_by_the_scan_with_backoff(sandbox: SandboxRun, world: World) -> None:
    ctx = sandbox.ctx
    sandbox.emulator.inject_fault("5xx", method="getFile", times=2, status=502)
    await running_checkin(world.siti)  # the report itself is never held up by the download
    await sandbox.settle()
    async with ctx.session_factory() as s:
        photo = await s.scalar(select(Photo))
    assert photo is not None and photo.status == PhotoStatus.PENDING and photo.attempts == 1
    assert photo.next_attempt_at is not None and photo.next_attempt_at > ctx.clock.now()
    await scan(sandbox)  # not due yet: the backoff is respected
    async with ctx.session_factory() as s:
        assert (await s.get(Photo, photo.id)).attempts == 1  # type: ignore[union-attr]
    ctx.clock.advance(timedelta(minutes=3))  # type: ignore[attr-defined]
    await scan(sandbox)  # second attempt: the fault strikes again, the delay grows
    async with ctx.session_factory() as s:
        again = await s.get(Photo, photo.id)
    assert again is not None and again.status == PhotoStatus.PENDING and again.attempts == 2
    assert again.next_attempt_at is not None
    assert again.next_attempt_at - ctx.clock.now() == timedelta(minutes=4)
    ctx.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    await scan(sandbox)
    async with ctx.session_factory() as s:
        stored = await s.get(Photo, photo.id)
    assert stored is not None and stored.status == PhotoStatus.STORED and stored.attempts == 3
    assert stored.path and Path(stored.path).exists()  # noqa: ASYNC240


def test_perceptual_hash_sees_a_recompressed_copy_and_tells_different_pictures_apart() -> None:
    original = make_jpeg(seed=42)
    same_look = perceptual_hash(recompressed(original))
    assert hamming(perceptual_hash(original), same_look) <= 6
    assert hamming(perceptual_hash(original), perceptual_hash(make_jpeg(seed=43))) > 6


async def test_reuse_by_the_same_recipient_is_flagged_and_the_tksk_reviews_it(
    sandbox: SandboxRun, world: World
) -> None:
    ctx = sandbox.ctx
    picture = make_jpeg(seed=42)
    await running_checkin(world.siti, picture)
    await wait_photos_stored(ctx, 1)
    # The same picture again in a later report, re-sent smaller and compressed (other bytes, same look).
    await running_checkin(world.siti, recompressed(picture))
    await wait_photos_stored(ctx, 2)
    async with ctx.session_factory() as s:
        first, second = list(await s.scalars(select(Checkin).order_by(Checkin.id)))
        photos = list(await s.scalars(select(Photo).order_by(Photo.id)))
    assert (first.reuse_flagged, second.reuse_flagged) == (False, True)
    assert photos[0].sha256 != photos[1].sha256 and photos[1].reuse_of_photo_id == photos[0].id
    await scan(sandbox)
    notice = await world.tksk.wait_for("Mohon diperiksa")
    assert "Siti Aminah" in notice.content and "orang yang sama" in notice.content
    await scan(sandbox)
    assert sum("Mohon diperiksa" in (m.content or "") for m in world.tksk.messages) == 1  # told once

    # A recipient forging the TKSK's button is refused on the server.
    await world.rahma.press_callback(notice.message_id, f"cirv:{second.id}:ok")
    await sandbox.settle()
    assert "hanya TKSK" in (world.rahma.callback_answers[-1].get("text") or "")

    await world.tksk.press("✅ Sudah dicek, laporan wajar")
    await world.tksk.wait_for("Sudah diperiksa")
    await sandbox.settle()
    await world.tksk.press_callback(notice.message_id, f"cirv:{second.id}:visit")  # pressed again: stale
    await sandbox.settle()
    assert "sudah diperiksa" in (world.tksk.callback_answers[-1].get("text") or "")
    async with ctx.session_factory() as s:
        reviewed = await s.get(Checkin, second.id)
        assert reviewed is not None and reviewed.reviewed_at is not None
        assert await s.scalar(select(func.count()).select_from(Case)) == 0
        assert await s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "checkin.review"))


async def test_reuse_by_another_recipient_and_a_visit_from_the_tksk(sandbox: SandboxRun, world: World) -> None:
    ctx = sandbox.ctx
    picture = make_jpeg(seed=11)
    await running_checkin(world.siti, picture)
    await wait_photos_stored(ctx, 1)
    await running_checkin(world.rahma, picture)
    await wait_photos_stored(ctx, 2)
    await running_checkin(world.siti, make_jpeg(seed=12))  # a different picture: not flagged
    await wait_photos_stored(ctx, 3)
    await scan(sandbox)
    notice = await world.tksk.wait_for("Mohon diperiksa")
    assert "Rahma" in notice.content and "penerima lain: Siti Aminah" in notice.content

    # A TKSK of another kecamatan cannot review it.
    async with ctx.session_factory.begin() as s:
        other = await factories.region(s, kecamatan="Loa Janan")
        tksk2 = await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=other, role=WorkerRole.TKSK,
                                       name="Budi", phone="+6285711111111")
        await factories.link(s, ctx.clock, 930099, worker=tksk2)
        flagged = await s.scalar(select(Checkin).where(Checkin.reuse_flagged.is_(True)))
        assert flagged is not None and flagged.recipient_id == world.rahma_id
    budi = sandbox.person(930099, "Budi")
    await budi.press_callback(1, f"cirv:{flagged.id}:ok")
    await sandbox.settle()
    assert "hanya TKSK" in (budi.callback_answers[-1].get("text") or "")

    await world.tksk.press("🏠 Saya akan berkunjung")
    await world.tksk.wait_for("Kasus UEP-")
    await sandbox.settle()
    async with ctx.session_factory() as s:
        case = await s.scalar(select(Case))
        notices = list(await s.scalars(select(Reminder).where(Reminder.kind == REUSE_NOTICE_KIND)))
    assert case is not None and case.kind == CaseKind.OTHER and case.recipient_id == world.rahma_id
    assert [n.status for n in notices] == [ReminderStatus.SENT]
