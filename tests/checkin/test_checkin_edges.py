"""The check-in when people do the unexpected: typing instead of pressing, old buttons, other files, a
problem to report, someone who has not finished joining."""

from __future__ import annotations

from sqlalchemy import func, select

from db.enums import OnboardingState
from db.models import Checkin, FsmRecord, Recipient
from sandbox.runner import SandboxRun
from tests.checkin.conftest import World

ASKED_AGAIN = "Bagaimana usaha Anda sekarang?"
STALE = "Tombol ini sudah tidak berlaku"


async def checkins(sandbox: SandboxRun) -> int:
    await sandbox.settle()
    async with sandbox.ctx.session_factory() as s:
        return int(await s.scalar(select(func.count()).select_from(Checkin)) or 0)


async def test_unexpected_input_in_every_state_gets_a_pointer_back_to_the_question(
    sandbox: SandboxRun, world: World
) -> None:
    siti = world.siti
    await siti.command("lapor")
    status_q = await siti.wait_for("Bagaimana usaha Anda sekarang?")
    await siti.send_sticker()
    again = await siti.wait_for(ASKED_AGAIN)  # the question again, with its buttons (#17 §2)
    assert again.buttons == status_q.buttons and "di atas" not in again.text
    await siti.press("🔄 Ganti usaha lain")
    await siti.wait_for("Usaha apa yang Anda jalankan sekarang?")
    await siti.send("jualan pulsa")  # typed, not chosen
    assert (await siti.wait_for("Usaha apa yang Anda jalankan sekarang?")).buttons
    await siti.press("Usaha jenis lain")
    await siti.wait_for("Berapa hari usaha buka")
    await siti.send("banyak hari")  # not a number ("6 hari" counts like the button: tests/fieldfit)
    await siti.wait_for("Tekan angka 0 sampai 7")
    # An old button of an earlier question changes nothing.
    await siti.press_callback(status_q.message_id, "ci:st:stopped")
    await sandbox.settle()
    assert STALE in (siti.callback_answers[-1].get("text") or "")
    await siti.press("2")
    await siti.wait_for("berapa penjualan")
    await siti.send("300000")  # a typed amount is not taken: brackets only
    assert "Rp250–500 ribu" in (await siti.wait_for("berapa penjualan")).buttons
    await siti.press("Rp250–500 ribu")
    await siti.wait_for("Kirim 1 sampai 3 foto")
    await siti.send_voice()
    await siti.wait_for("kirim foto usaha Anda")
    await siti.send_photo()
    await siti.wait_for("Foto diterima")
    await siti.press_reply("➡️ Lanjut tanpa lokasi")
    confirm = await siti.wait_for("Kirim laporan ini?")
    await siti.send("nanti dulu")  # not a yes ("iya" would send it: tests/fieldfit/test_typed_yes.py)
    await siti.wait_for("Kirim laporan ini?")
    assert await checkins(sandbox) == 0  # nothing is written before the confirmation
    await siti.press("✅ Kirim")
    await siti.wait_for("Terima kasih")
    assert await checkins(sandbox) == 1
    # The confirm button pressed again (a double tap on a slow connection) writes nothing more.
    await siti.press_callback(confirm.message_id, "ci:ok:send")
    await sandbox.settle()
    assert STALE in (siti.callback_answers[-1].get("text") or "")
    assert await checkins(sandbox) == 1


async def test_note_step_takes_only_voice_or_text(sandbox: SandboxRun, world: World) -> None:
    siti = world.siti
    await siti.command("lapor")
    await siti.wait_for("Bagaimana usaha Anda sekarang?")
    await siti.press("⏸ Berhenti sementara")
    await siti.wait_for("Apa alasan utamanya?")
    await siti.send("modal habis")
    await siti.wait_for("Apa alasan utamanya?")
    await siti.press("Tidak ada modal")
    await siti.wait_for("pesan suara")
    await siti.send_sticker()
    await siti.wait_for("pesan suara")
    await siti.press("Lewati")
    summary = await siti.wait_for("Periksa laporan Anda")
    assert "Alasan: Tidak ada modal" in summary.text


async def test_start_again_from_the_summary(sandbox: SandboxRun, world: World) -> None:
    siti = world.siti
    await siti.command("lapor")
    await siti.wait_for("Bagaimana usaha Anda sekarang?")
    await siti.press("⏸ Berhenti sementara")
    await siti.wait_for("Apa alasan utamanya?")
    await siti.press("Bencana")
    await siti.wait_for("pesan suara")
    await siti.press("Lewati")
    await siti.wait_for("Kirim laporan ini?")
    await siti.press("🔁 Ulangi dari awal")
    await siti.wait_for("Bagaimana usaha Anda sekarang?")
    assert await checkins(sandbox) == 0


async def test_send_and_report_a_problem_leads_into_the_obstacle_report(sandbox: SandboxRun, world: World) -> None:
    siti = world.siti
    await siti.press_reply("📋 Lapor usaha")
    await siti.wait_for("Bagaimana usaha Anda sekarang?")
    await siti.press("✅ Masih jalan")
    await siti.wait_for("Berapa hari usaha buka")
    await siti.press("4")
    await siti.wait_for("berapa penjualan")
    await siti.press("Di bawah Rp250 ribu")
    await siti.wait_for("Kirim 1 sampai 3 foto")
    await siti.send_photo()
    await siti.wait_for("Foto diterima")
    await siti.press_reply("➡️ Lanjut tanpa lokasi")
    await siti.wait_for("Jika ada kendala")
    await siti.press("🆘 Kirim dan laporkan kendala")
    await siti.wait_for("Laporan berikutnya tanggal")
    await siti.wait_for("Apa kendalanya?")
    assert await checkins(sandbox) == 1  # the check-in is saved before the problem report starts
    async with sandbox.ctx.session_factory() as s:
        checkin = await s.scalar(select(Checkin))
        fsm = await s.scalar(select(FsmRecord).where(FsmRecord.key.contains(str(world.siti.id)),
                                                     FsmRecord.state.is_not(None)))
    assert checkin is not None and checkin.recipient_id == world.siti_id
    assert fsm is not None and fsm.state is not None and fsm.state.startswith("ObstacleReport:")
    assert fsm.data is not None and fsm.data["source_checkin_id"] == checkin.id  # the case will link to it


async def test_a_recipient_still_joining_is_told_to_finish_first(sandbox: SandboxRun, world: World) -> None:
    async with sandbox.ctx.session_factory.begin() as s:
        r = await s.get(Recipient, world.rahma_id)
        assert r is not None
        r.onboarding_state = OnboardingState.AID_WAITING
    await world.rahma.command("lapor")
    await world.rahma.wait_for("Selesaikan dulu pendaftaran Anda")
    assert await checkins(sandbox) == 0
