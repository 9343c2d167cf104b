"""TKSK, PSM and Dissos staff joining; /penerima and /undang; server-side refusals."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from db.enums import StaffRole
from db.models import AuditLog, Invitation, Staff
from sandbox.runner import SandboxRun
from tests import factories
from tests.onboarding.helpers import LINK_RE, account_of, make_recipient, make_tksk

WORKER_NIK = "6401020304050607"


async def _admin(run: SandboxRun, user_id: int, role: StaffRole = StaffRole.ADMIN):  # type: ignore[no-untyped-def]
    ctx = run.ctx
    async with ctx.session_factory.begin() as s:
        st = await factories.staff(s, ctx.clock, role=role, name="Bu Admin")
        await factories.link(s, ctx.clock, user_id, staff=st)
    return run.person(user_id, "Admin")


async def _worker_row(run: SandboxRun, **kw):  # type: ignore[no-untyped-def]
    ctx = run.ctx
    async with ctx.session_factory.begin() as s:
        return await factories.worker(s, ctx.cipher, ctx.clock, nik=WORKER_NIK, **kw)


async def _count(run: SandboxRun, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with run.ctx.session_factory() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def test_admin_invites_a_tksk_who_joins_with_the_roster_number(sandbox: SandboxRun) -> None:
    admin = await _admin(sandbox, 720001)
    worker = await _worker_row(sandbox, name="Pak Yusuf", phone="0857-1234-5678")
    await admin.command("undang")
    await admin.wait_for("Siapa yang ingin Anda undang?")
    await admin.press("🧑‍🤝‍🧑 TKSK atau PSM (dengan NIK)")
    await admin.wait_for("Ketik NIK TKSK atau PSM")
    nik_message = await admin.send(WORKER_NIK)
    invite = await admin.wait_for(lambda m: m.kind == "photo")
    assert "Pak Yusuf (TKSK, Palaran)" in invite.caption
    assert sandbox.emulator.world.chat(sandbox.emulator.bots[0], admin.id).messages[nik_message.message_id].deleted
    link = LINK_RE.search(invite.caption).group(0)  # type: ignore[union-attr]

    # Someone else's phone (a colleague's number typed in, or a wrong contact) is refused.
    yusuf = sandbox.person(720002, "Yusuf", phone="+6285700000000")
    await yusuf.command("start", link.rsplit("=", 1)[1])
    await yusuf.wait_for("Anda diundang sebagai TKSK Kecamatan Palaran")
    await yusuf.send("085712345678")
    await yusuf.wait_for("jangan mengetik nomor")
    await yusuf.share_contact(own=False, phone="+6285712345678", user_id=999)
    await yusuf.wait_for("kontak orang lain")
    await yusuf.press_reply("📱 Kirim nomor HP saya")  # his own Telegram number differs from the roster
    await yusuf.wait_for("tidak sama dengan nomor Anda di Dinas Sosial")
    await sandbox.settle()
    assert (await account_of(sandbox, 720002)).worker_id is None

    # After the admin fixes the roster, the same link from the same phone works.
    async with sandbox.ctx.session_factory.begin() as s:
        from db.models import FieldWorker

        (await s.get(FieldWorker, worker.id)).phone = "+6285700000000"
    await yusuf.command("start", link.rsplit("=", 1)[1])
    await yusuf.wait_for("Kirim nomor HP saya")
    await yusuf.press_reply("📱 Kirim nomor HP saya")
    await yusuf.wait_for("Anda terdaftar sebagai TKSK Kecamatan Palaran")
    await admin.wait_for("sudah membuka undangan Anda")
    await sandbox.settle()
    assert (await account_of(sandbox, 720002)).worker_id == worker.id
    assert "penerima" in [c["command"] for c in yusuf.commands]
    # The link is spent for anyone else.
    other = sandbox.person(720003, "Lain", phone="+6285700000000")
    await other.command("start", link.rsplit("=", 1)[1])
    await other.wait_for("sudah pernah dipakai")


async def test_admin_invites_staff_and_only_admins_may(sandbox: SandboxRun) -> None:
    admin = await _admin(sandbox, 720011)
    await admin.command("undang")
    await admin.wait_for("Siapa yang ingin Anda undang?")
    await admin.press("👤 Petugas kasus Dinas Sosial")
    await admin.wait_for("nama lengkap")
    await admin.send("Dewi   Lestari")
    invite = await admin.wait_for(lambda m: m.kind == "photo")
    assert "Dewi Lestari (petugas kasus Dinas Sosial)" in invite.caption
    link = LINK_RE.search(invite.caption).group(0)  # type: ignore[union-attr]
    dewi = sandbox.person(720012, "Dewi")
    await dewi.command("start", link.rsplit("=", 1)[1])
    await dewi.wait_for("Selamat datang, Dewi Lestari! Anda sekarang terdaftar sebagai petugas kasus Dinas Sosial")
    await admin.wait_for("Dewi Lestari (petugas kasus Dinas Sosial) sudah membuka undangan Anda")
    await sandbox.settle()
    account = await account_of(sandbox, 720012)
    async with sandbox.ctx.session_factory() as s:
        staff = await s.get(Staff, account.staff_id)
    assert staff.role == StaffRole.CASEWORKER and staff.name == "Dewi Lestari"

    # The new caseworker may not invite; a recipient pressing the admin's old button changes nothing.
    await dewi.command("undang")
    await dewi.wait_for("tidak tersedia untuk Anda")
    r = await make_recipient(sandbox)
    async with sandbox.ctx.session_factory.begin() as s:
        await factories.link(s, sandbox.ctx.clock, 720013, recipient=await s.get(type(r), r.id))
    recipient = sandbox.person(720013, "Penerima")
    await recipient.press_callback(invite.message_id, "und:admin")
    await recipient.press_callback(invite.message_id, "und:worker")
    await sandbox.settle()
    assert all("tidak berlaku" in a["text"] and a.get("show_alert") for a in recipient.callback_answers[-2:])
    await recipient.send("Budi Baru")
    await sandbox.settle()
    assert await _count(sandbox, Invitation) == 1


async def test_penerima_lists_pages_searches_and_masks(sandbox: SandboxRun) -> None:
    tksk = await make_tksk(sandbox, 720021)
    ctx = sandbox.ctx
    async with ctx.session_factory.begin() as s:
        palaran = await factories.region(s)
        other = await factories.region(s, kecamatan="Loa Janan")
        for i in range(23):
            await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=palaran,
                                      nik=f"64720101018{i:05d}", name=f"Warga {i:02d}")
        joined = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=palaran,
                                           nik="6472010101899999", name="Zaenab Aktif")
        await factories.link(s, ctx.clock, 720022, recipient=joined)
        stranger = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=other,
                                             nik="6472010101877777", name="Warga Seberang")
        from db.models import Checkin

        s.add(Checkin(recipient_id=joined.id, status="running", submitted_at=ctx.clock.now()))
    await tksk.command("penerima")
    page1 = await tksk.wait_for("halaman 1 dari 3")
    assert "Warga 00" in page1.text and "Warga 10" not in page1.text and "Warga Seberang" not in page1.text
    assert "6472*********0000" not in page1.text and "6472********0000" in page1.text  # masked
    assert "64720101018" not in page1.text
    assert "belum bergabung · laporan terakhir: -" in page1.text
    await tksk.press("▶️")
    await tksk.wait_for("halaman 2 dari 3")
    await tksk.press("▶️")
    page3 = await tksk.wait_for("halaman 3 dari 3")
    assert "Zaenab Aktif" in page3.text and "aktif · laporan terakhir: Senin, 2 Mar 2026" in page3.text
    assert not any("Zaenab" in b for b in page3.buttons), "no invitation button for someone who joined"
    await tksk.send("warga 1")
    found = await tksk.wait_for("cari:")
    assert "Warga 10" in found.text and "Warga 19" in found.text and "Warga 00" not in found.text
    # A forged button for a recipient of another kecamatan is refused and creates nothing.
    await tksk.press_callback(found.message_id, f"pn:inv:0:{stranger.id}")
    await tksk.press_callback(found.message_id, "pn:inv:0:999999")
    await sandbox.settle()
    assert all("bukan di kecamatan Anda" in a["text"] for a in tksk.callback_answers[-2:])
    assert await _count(sandbox, Invitation) == 0
    # A recipient cannot use the list at all, nor its buttons.
    recipient = sandbox.person(720022, "Zaenab")
    await recipient.command("penerima")
    await recipient.wait_for("tidak tersedia untuk Anda")
    await recipient.press_callback(found.message_id, f"pn:inv:0:{joined.id}")
    await sandbox.settle()
    assert "tidak berlaku" in recipient.callback_answers[-1]["text"]
    assert await _count(sandbox, Invitation) == 0


async def test_admin_sees_full_niks_and_the_view_is_audited(sandbox: SandboxRun) -> None:
    admin = await _admin(sandbox, 720031)
    await make_recipient(sandbox, nik="6472010101800042", name="Lengkap")
    await admin.command("penerima", "lengkap")
    listing = await admin.wait_for("Lengkap")
    assert "6472010101800042" in listing.text
    await sandbox.settle()
    assert await _count(sandbox, AuditLog, AuditLog.action == "nik.view") == 1


def test_cli_workers_invite_prints_a_link_and_writes_a_qr(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from bot.cli import app
    from bot.context import AppContext

    async def seed() -> None:
        ctx = AppContext.build(settings)
        async with ctx.session_factory.begin() as s:
            await factories.worker(s, ctx.cipher, ctx.clock, nik=WORKER_NIK, name="Bu Rina")
        await ctx.close()

    asyncio.run(seed())
    qr = tmp_path / "rina.png"
    result = CliRunner().invoke(app, ["workers", "invite", WORKER_NIK, "--qr", str(qr), "--bot-username", "uep_bot"])
    assert result.exit_code == 0, result.output
    assert LINK_RE.search(result.output).group(1) == "uep_bot"  # type: ignore[union-attr]
    assert "Bu Rina (TKSK" in result.output and WORKER_NIK not in result.output
    assert qr.read_bytes()[:4] == b"\x89PNG"
    unknown = CliRunner().invoke(app, ["workers", "invite", "6401999999999999", "--bot-username", "uep_bot"])
    assert unknown.exit_code == 1 and "6401********9999" in unknown.output
    bad = CliRunner().invoke(app, ["workers", "invite", "12345", "--bot-username", "uep_bot"])
    assert bad.exit_code == 2
