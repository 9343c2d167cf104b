"""/siaran end to end: composing, audience filters, preview, sending now or later, cancelling, refusals."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.context import AppContext
from db.enums import BroadcastStatus, BusinessStatus, OnboardingState, StaffRole, WorkerRole
from db.models import AuditLog, Broadcast, BroadcastDelivery, OutboxMessage, Recipient, Staff
from sandbox.people import Person
from sandbox.runner import SandboxRun
from scheduler.runner import run_due
from services.broadcast import worker as worker_mod
from tests import factories
from tests.broadcast.conftest import STAFF_ID, linked_recipients, linked_staff, linked_worker, received
from tests.broadcast.test_delivery import wait_done

# A hang guard, not a speed check: a few deliveries finish in about a second, but with PostgreSQL on a loaded
# two-core machine one such broadcast took over 10 s. Delivery speed is measured by bench/broadcast.py.
SENDING_DONE_WITHIN = 60


async def n_broadcasts(ctx: AppContext) -> int:
    async with ctx.session_factory() as s:
        return int(await s.scalar(select(func.count()).select_from(Broadcast)) or 0)


async def compose(staff: Person, text: str = "Pelatihan usaha hari Senin", *, english: str | None = None) -> None:
    await staff.command("siaran")
    await staff.wait_for("Pengumuman baru")
    await staff.send(text)
    await staff.wait_for("versi bahasa Inggris")
    if english:
        await staff.press("➕ Tambah versi bahasa Inggris")
        await staff.wait_for("Kirim teks bahasa Inggrisnya")
        await staff.send(english)
    else:
        await staff.press("Lewati ➡️")
    await staff.wait_for("Siapa yang menerima?")


async def preview(staff: Person) -> str:
    await staff.press("👁 Pratinjau")
    msg = await staff.wait_for("Penerima pesan")
    return msg.content


@pytest.fixture
async def world(sandbox: SandboxRun, fast: AppContext) -> dict:  # type: ignore[type-arg]
    """Two kabupaten, three kecamatan, recipients of several kinds, a TKSK and a PSM, one caseworker."""
    ctx = fast
    async with ctx.session_factory.begin() as s:
        palaran = await factories.region(s, "Kota Samarinda", "Palaran")
        sungai = await factories.region(s, "Kota Samarinda", "Sungai Kunjang")
        tenggarong = await factories.region(s, "Kutai Kartanegara", "Tenggarong")
    ids = {
        "palaran_gorengan": await linked_recipients(ctx, 2, start=810000, kecamatan=palaran),
        "palaran_kue": await linked_recipients(ctx, 1, start=811000, kecamatan=palaran, business_type="kue"),
        "sungai": await linked_recipients(ctx, 1, start=812000, kecamatan=sungai),
        "tenggarong": await linked_recipients(ctx, 2, start=813000, kecamatan=tenggarong, business_type="kue"),
    }
    async with ctx.session_factory.begin() as s:
        # Not joined yet (no account), and one declined (never in an audience).
        await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=await s.merge(palaran))
        declined = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=await s.merge(palaran),
                                             onboarding_state=OnboardingState.DECLINED)
        await factories.link(s, ctx.clock, 819999, recipient=declined)
        stopped = await s.get(Recipient, (await s.scalar(
            select(Recipient.id).join(Recipient.kecamatan).where(Recipient.name == "Penerima 812000"))))
        stopped.business_status = BusinessStatus.STOPPED
        aid = await s.get(Recipient, await s.scalar(select(Recipient.id).where(Recipient.name == "Penerima 813001")))
        aid.onboarding_state = OnboardingState.AID_WAITING
    ids["tksk"] = [await linked_worker(ctx, 814000, WorkerRole.TKSK, kecamatan=palaran)]
    ids["psm"] = [await linked_worker(ctx, 814001, WorkerRole.PSM, kecamatan=tenggarong)]
    await linked_staff(ctx)
    for group in ids.values():
        for i in group:
            sandbox.person(i, f"P{i}")
    sandbox.person(819999, "Declined")
    return ids


async def sent_to(ctx: AppContext) -> set[int]:
    async with ctx.session_factory() as s:
        return set((await s.scalars(select(BroadcastDelivery.chat_id))).all())


async def test_text_broadcast_with_preview_and_send_now(sandbox: SandboxRun, fast: AppContext, world: dict) -> None:
    staff = sandbox.person(STAFF_ID, "Budi")
    await compose(staff, "Pelatihan usaha <hari Senin> & Selasa")
    summary = await preview(staff)
    texts = staff.texts
    assert "Pelatihan usaha <hari Senin> & Selasa" in texts, "the preview is the message itself"
    assert "Semua penerima" in summary
    assert "Akan sampai ke: 6 orang" in summary
    assert "Belum bergabung di bot (tidak akan menerima): 1" in summary
    await staff.press("📤 Kirim sekarang")
    await staff.wait_for("sedang dikirim")
    final = await staff.wait_for("selesai", timeout=SENDING_DONE_WITHIN)
    assert "Terkirim: 6 dari 6" in final.content
    await sandbox.settle()
    async with fast.session_factory() as s:  # the final report is durable: an outbox row, the progress message edited
        report = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "broadcast_report"))).scalar_one()
    assert report.status == "sent" and report.payload["edit_message_id"] == final.message_id
    everyone = [i for k, v in world.items() if k not in ("tksk", "psm") for i in v]
    assert set(received(sandbox.emulator, everyone, "Pelatihan usaha <hari Senin> & Selasa").values()) == {1}
    assert received(sandbox.emulator, [819999] + world["tksk"], "Pelatihan")[819999] == 0, "declined: never"
    async with fast.session_factory() as s:
        entry = (await s.execute(select(AuditLog).where(AuditLog.action == "broadcast.create"))).scalar_one()
    assert entry.actor.startswith("Budi Dissos") and entry.details["via"] == "bot"


async def test_photo_with_caption(sandbox: SandboxRun, fast: AppContext, world: dict) -> None:
    staff = sandbox.person(STAFF_ID, "Budi")
    await staff.command("siaran")
    await staff.wait_for("Pengumuman baru")
    await staff.send_photo(caption="Bazar UMKM di Tenggarong")
    await staff.wait_for("versi bahasa Inggris")
    await staff.press("Lewati ➡️")
    await staff.wait_for("Siapa yang menerima?")
    await staff.press("Kabupaten/Kota ▸")
    await sandbox.settle()
    await staff.press("☐ Kutai Kartanegara")
    await staff.wait_for("Akan sampai ke: 2 orang")
    await preview(staff)
    shown = [m for m in staff.messages if m.kind == "photo"]
    assert shown and shown[-1].caption == "Bazar UMKM di Tenggarong"
    await staff.press("📤 Kirim sekarang")
    await staff.wait_for("selesai", timeout=SENDING_DONE_WITHIN)
    for chat_id in world["tenggarong"]:
        msgs = [m for m in sandbox.person(chat_id).messages if m.kind == "photo"]
        assert len(msgs) == 1 and msgs[0].caption == "Bazar UMKM di Tenggarong"
    assert await sent_to(fast) == set(world["tenggarong"])


FILTERS = {
    "kabupaten": (["Kabupaten/Kota ▸", "☐ Kota Samarinda"], ["palaran_gorengan", "palaran_kue", "sungai"]),
    "kecamatan": (["Kecamatan ▸", "Kota Samarinda ▸", "☐ Sungai Kunjang"], ["sungai"]),
    "business_type": (["Jenis usaha ▸", "☐ Kue"], ["palaran_kue", "tenggarong"]),
    "onboarding_state": (["Tahap pendaftaran ▸", "☐ Menunggu bantuan"], [813001]),
    "business_status": (["Kondisi usaha ▸", "☐ Berhenti total"], ["sungai"]),
    "workers_only": (["✅ Penerima", "☐ TKSK dan PSM"], ["tksk", "psm"]),
    "combination": (
        ["☐ TKSK dan PSM", "Kecamatan ▸", "Kota Samarinda ▸", "☐ Palaran", "⬅️ Kembali", "⬅️ Kembali",
         "Jenis usaha ▸", "☐ Gorengan"],
        ["palaran_gorengan", "tksk"],
    ),
}


@pytest.mark.parametrize("name", list(FILTERS))
async def test_audience_filters(sandbox: SandboxRun, fast: AppContext, world: dict, name: str) -> None:
    presses, groups = FILTERS[name]
    expected = {i for g in groups for i in (world[g] if isinstance(g, str) else [g])}
    staff = sandbox.person(STAFF_ID, "Budi")
    await compose(staff)
    for label in presses:
        await staff.press(label)
        await sandbox.settle()
    summary = await preview(staff)
    assert f"Akan sampai ke: {len(expected)} orang" in summary
    await staff.press("📤 Kirim sekarang")
    await staff.wait_for("selesai", timeout=SENDING_DONE_WITHIN)
    assert await sent_to(fast) == expected
    got = received(sandbox.emulator, sorted(expected), "Pelatihan usaha")
    assert set(got.values()) == {1}


async def test_english_version(sandbox: SandboxRun, fast: AppContext, world: dict) -> None:
    en = await linked_recipients(fast, 1, start=815000, language="en")
    sandbox.person(en[0], "Eng")
    staff = sandbox.person(STAFF_ID, "Budi")
    await compose(staff, "Pasar murah Sabtu", english="Market fair on Saturday")
    await preview(staff)
    assert "Market fair on Saturday" in staff.texts and "Pasar murah Sabtu" in staff.texts
    await staff.press("📤 Kirim sekarang")
    await staff.wait_for("selesai", timeout=SENDING_DONE_WITHIN)
    assert received(sandbox.emulator, en, "Market fair")[en[0]] == 1
    assert received(sandbox.emulator, en, "Pasar murah")[en[0]] == 0
    assert received(sandbox.emulator, world["sungai"], "Pasar murah")[world["sungai"][0]] == 1


async def test_schedule_at_a_wita_time(sandbox: SandboxRun, fast: AppContext, world: dict) -> None:
    staff = sandbox.person(STAFF_ID, "Budi")
    await compose(staff, "Jadwal pencairan berubah")
    await preview(staff)
    await staff.press("🕒 Jadwalkan")
    await staff.wait_for("Tulis tanggal dan jam WITA")
    await staff.send("besok pagi")
    await staff.wait_for("tidak terbaca")
    await staff.send("01-03-2026 08:00")
    await staff.wait_for("sudah lewat")
    await staff.send("03-03-2026 08:00")  # WITA = 00:00 UTC
    await staff.wait_for("Selasa, 3 Mar 2026 08:00 WITA")
    await staff.press("✅ Ya, jadwalkan")
    await staff.wait_for("dijadwalkan pada Selasa, 3 Mar 2026 08:00 WITA")
    await sandbox.settle()  # the update commits just after its last message
    async with fast.session_factory() as s:
        b = (await s.execute(select(Broadcast))).scalar_one()
    assert b.status == BroadcastStatus.SCHEDULED and b.scheduled_at == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    assert await sent_to(fast) == set(), "no deliveries before it is due"
    messenger = sandbox.app.messenger
    assert (await run_due(fast, messenger, datetime(2026, 3, 2, 23, 59, tzinfo=UTC)))["broadcast_start"] == 0
    # People who join before the time get it too.
    late = await linked_recipients(fast, 1, start=816000)
    sandbox.person(late[0], "Late")
    fast.clock.set(datetime(2026, 3, 3, 0, 0, 30, tzinfo=UTC))  # type: ignore[attr-defined]
    assert (await run_due(fast, messenger, fast.clock.now()))["broadcast_start"] == 1
    assert await wait_done(fast, b.id) is not None
    await staff.wait_for("selesai", timeout=SENDING_DONE_WITHIN)
    assert received(sandbox.emulator, late + world["sungai"], "Jadwal pencairan").most_common()[-1][1] == 1


CANCEL_AT = ["text", "english", "english_text", "audience", "filter", "preview", "when", "confirm"]


@pytest.mark.parametrize("how", ["button", "command"])
@pytest.mark.parametrize("step", CANCEL_AT)
async def test_cancel_at_every_step(sandbox: SandboxRun, fast: AppContext, world: dict, step: str, how: str) -> None:
    staff = sandbox.person(STAFF_ID, "Budi")
    await staff.command("siaran")
    await staff.wait_for("Pengumuman baru")
    if step != "text":
        await staff.send("Pesan yang batal")
        await staff.wait_for("versi bahasa Inggris")
    if step == "english_text":
        await staff.press("➕ Tambah versi bahasa Inggris")
        await staff.wait_for("Kirim teks bahasa Inggrisnya")
    elif step not in ("text", "english"):
        await staff.press("Lewati ➡️")
        await staff.wait_for("Siapa yang menerima?")
    if step == "filter":
        await staff.press("Jenis usaha ▸")
        await staff.wait_for("Ketuk untuk memilih")
    if step in ("preview", "when", "confirm"):
        await preview(staff)
    if step in ("when", "confirm"):
        await staff.press("🕒 Jadwalkan")
        await staff.wait_for("Tulis tanggal")
    if step == "confirm":
        await staff.send("04-03-2026 09:30")
        await staff.wait_for("Kirim pada")
    if how == "button" and step != "filter":
        await staff.press("✖️ Batal")
        await staff.wait_for("Tidak ada yang dikirim")
    else:
        await staff.command("batal")
        await staff.wait_for("Dibatalkan")
    await sandbox.settle()
    assert await n_broadcasts(fast) == 0
    assert received(sandbox.emulator, world["sungai"], "Pesan yang batal")[world["sungai"][0]] == 0


@pytest.mark.parametrize("who", ["recipient", "tksk"])
async def test_non_staff_are_refused(sandbox: SandboxRun, fast: AppContext, world: dict, who: str) -> None:
    person = sandbox.person(world["sungai"][0] if who == "recipient" else world["tksk"][0])
    await person.command("siaran")
    await person.wait_for("tidak tersedia untuk Anda")
    # Forged or stale composer buttons: refused on the server, nothing created.
    for data in ("bc:now:", "bc:ok:", "bc:tog:bt.kue", "bcf:1"):
        await person.press_callback(person.messages[-1].message_id, data)
        await sandbox.settle()
        assert person.callback_answers[-1]["text"].startswith("Maaf, hanya petugas Dinas Sosial")
    assert await n_broadcasts(fast) == 0


async def test_stale_buttons_and_demoted_staff_change_nothing(
    sandbox: SandboxRun, fast: AppContext, world: dict
) -> None:
    staff = sandbox.person(STAFF_ID, "Budi")
    await compose(staff)
    await preview(staff)
    summary = staff.last
    # The caseworker loses staff rights while the preview is on screen.
    async with fast.session_factory.begin() as s:
        for st in (await s.scalars(select(Staff))).all():
            st.active = False
    await staff.press_callback(summary.message_id, "bc:now:")
    await sandbox.settle()
    assert "hanya petugas" in staff.callback_answers[-1]["text"]
    assert await n_broadcasts(fast) == 0
    async with fast.session_factory.begin() as s:
        for st in (await s.scalars(select(Staff))).all():
            st.active = True
    await staff.press("📤 Kirim sekarang", message=summary)
    await staff.wait_for("selesai", timeout=SENDING_DONE_WITHIN)
    # Pressing "send now" again on the old message: stale, no second broadcast.
    await staff.press_callback(summary.message_id, "bc:now:")
    await sandbox.settle()
    assert "tidak berlaku" in staff.callback_answers[-1]["text"]
    assert await n_broadcasts(fast) == 1


async def test_admin_can_broadcast_too(sandbox: SandboxRun, fast: AppContext, world: dict) -> None:
    admin_id = await linked_staff(fast, 700002, StaffRole.ADMIN)
    admin = sandbox.person(admin_id, "Admin")
    await compose(admin)
    await preview(admin)
    await admin.press("📤 Kirim sekarang")
    await admin.wait_for("selesai", timeout=SENDING_DONE_WITHIN)
    assert await n_broadcasts(fast) == 1


async def test_failed_list_download(sandbox: SandboxRun, fast: AppContext, world: dict) -> None:
    sandbox.person(world["sungai"][0]).block()
    staff = sandbox.person(STAFF_ID, "Budi")
    await compose(staff)
    await preview(staff)
    await staff.press("📤 Kirim sekarang")
    final = await staff.wait_for("selesai", timeout=SENDING_DONE_WITHIN)
    assert "Tidak terjangkau (memblokir bot atau menghapus akun): 1" in final.content
    await staff.press("⬇️ Unduh daftar yang tidak terjangkau (CSV)")
    doc = await staff.wait_for(lambda m: m.kind == "document")
    rows = list(csv.DictReader(io.StringIO(doc.media.decode("utf-8-sig"))))
    assert [(r["status"], r["name"], r["kecamatan"]) for r in rows] == [
        ("blocked", "Penerima 812000", "Sungai Kunjang")]
    await sandbox.settle()
    async with fast.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(AuditLog)
                              .where(AuditLog.action == "broadcast.failed_list")) == 1
    assert worker_mod.running_engines()


async def test_progress_is_edited_never_twice_the_same(ctx: AppContext) -> None:
    """A real, moving clock: the progress message is edited at most every progress_interval, each edit new."""
    import time

    from services.clock import OffsetClock

    ctx.clock = OffsetClock()
    ctx.settings.telegram.global_rate, ctx.settings.telegram.per_chat_interval = 10, 0.0
    ctx.settings.broadcast.progress_interval = 0.4
    run = await SandboxRun.start(ctx)
    try:
        ids = await linked_recipients(ctx, 25)
        for i in ids:
            run.person(i)
        await linked_staff(ctx)
        staff = run.person(STAFF_ID, "Budi")
        edits: list[tuple[float, str]] = []
        run.emulator.subscribe(lambda ev: edits.append((time.monotonic(), ev.message.content))
                               if ev.kind == "bot_edit" and ev.chat_id == STAFF_ID else None)
        await compose(staff)
        await preview(staff)
        edits.clear()
        await staff.press("📤 Kirim sekarang")
        await staff.wait_for("selesai", timeout=15)
        await run.settle()
        progress = [e for e in edits if "sedang dikirim" in e[1]]
        assert len(progress) >= 2, edits
        texts = [t for _, t in edits]
        assert all(a != b for a, b in zip(texts, texts[1:], strict=False)), "never an identical edit"
        gaps = [b[0] - a[0] for a, b in zip(progress, progress[1:], strict=False)]
        assert min(gaps) >= 0.4 * 0.9
        assert "Terkirim: 25 dari 25" in texts[-1]
        run.emulator.assert_no_violations()
    finally:
        await run.stop()
    await asyncio.sleep(0)
    assert timedelta(0) is not None
