"""§2 of #17: the bot understands what people type, and asks its question again with its buttons."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from db.enums import OnboardingState
from db.models import Checkin, ConsentRecord
from sandbox.events import USER_UPDATE
from sandbox.people import Person
from sandbox.runner import SandboxRun
from tests.cases.conftest import People
from tests.onboarding.helpers import NIK, make_recipient, reload_recipient


def user_actions(sandbox: SandboxRun, person: Person, since: int) -> int:
    return sum(1 for ev in sandbox.emulator.world.events.since(since)
               if ev.kind == USER_UPDATE and ev.chat_id == person.id)


async def test_nik_typed_at_the_welcome_starts_the_nik_path(sandbox: SandboxRun) -> None:
    r = await make_recipient(sandbox, nik=NIK, name="Hasanah", phone="+6281234567890")
    person = sandbox.person(720001, "Hasanah", phone="+6281234567890")
    start = sandbox.emulator.world.events.last_seq
    await person.send("6472.0101.0180-0001")  # no /start, dots and a dash
    asked = await person.wait_for("tanggal lahir")
    assert "belum paham" not in asked.text
    await person.send("17-05-1980")
    await person.wait_for("Apakah Anda setuju?")
    await person.send("setuju")  # typed, not pressed
    await person.wait_for("Kirim nomor HP saya")
    await person.press_reply("📱 Kirim nomor HP saya")
    await person.wait_for("Apakah sudah benar?")
    await person.send("iya benar")
    await person.wait_for("Paket bantuan Anda")
    await person.press("✅ Ya, semua sudah diterima")
    await person.wait_for("Langkah terakhir")
    await person.send_photo()
    await person.wait_for("Pendaftaran selesai")
    taps = user_actions(sandbox, person, start)
    # NIK path: NIK, date of birth, agree, share contact, profile right, all received, photo.
    assert taps == 7
    await sandbox.settle()
    assert (await reload_recipient(sandbox, r.id)).onboarding_state == OnboardingState.ACTIVE
    async with sandbox.ctx.session_factory() as s:
        assert await s.scalar(select(ConsentRecord).where(ConsentRecord.recipient_id == r.id)) is not None
    print(f"\nFIGURE taps on the NIK path (typed at the welcome) to the main menu: {taps}")


async def test_a_date_first_asks_for_the_nik(sandbox: SandboxRun) -> None:
    await make_recipient(sandbox, nik=NIK, name="Rahmawati")
    person = sandbox.person(720002, "Rahma", phone="+6281234567890")
    await person.send("17 Mei 1980")
    await person.wait_for("ketik NIK")
    await person.send("6472 0101 0180 0001")
    await person.wait_for("Halo, Rahmawati (")
    # A wrong NIK length is told politely, never "not understood".
    other = sandbox.person(720003, "X")
    await other.send("6472 0101 0180")
    refused = await other.wait_for("16 angka")
    assert "belum paham" not in refused.text


async def test_typed_number_and_a_bad_answer_gets_the_question_again(sandbox: SandboxRun, people: People) -> None:
    siti = people.siti
    await siti.command("lapor")
    status = await siti.wait_for("Bagaimana usaha Anda sekarang?")
    await siti.send_sticker()
    again = await siti.wait_for("Bagaimana usaha Anda sekarang?")
    assert again.message_id != status.message_id and again.buttons == status.buttons, "asked again, with buttons"
    assert "di atas" not in " ".join(siti.texts)
    await siti.press("✅ Masih jalan")
    await siti.wait_for("Berapa hari usaha buka")
    await siti.send("9")
    refused = await siti.wait_for("Tekan angka 0 sampai 7")
    assert refused
    days = await siti.wait_for("Berapa hari usaha buka")
    assert "7" in days.buttons
    await siti.send("6 hari")
    await siti.wait_for("berapa penjualan")
    await siti.press("Rp500 ribu–1 juta")
    await siti.wait_for("Kirim 1 sampai 3 foto")
    await siti.send_photo()
    await siti.wait_for("Foto diterima")
    await siti.press_reply("➡️ Lanjut tanpa lokasi")
    await siti.wait_for("Kirim laporan ini?")
    await siti.press("✅ Kirim")
    await siti.wait_for("Laporan berikutnya")
    await sandbox.settle()
    async with sandbox.ctx.session_factory() as s:
        assert (await s.scalar(select(Checkin))).days_open == 6  # type: ignore[union-attr]


async def test_menu_button_mid_flow_asks_once_and_keeps_the_answers(sandbox: SandboxRun, people: People) -> None:
    siti = people.siti
    await siti.command("lapor")
    await siti.wait_for("Bagaimana usaha Anda sekarang?")
    await siti.press("✅ Masih jalan")
    await siti.wait_for("Berapa hari usaha buka")
    await siti.press("5")
    await siti.wait_for("berapa penjualan")
    await siti.send("🆘 Ada kendala")
    leave = await siti.wait_for("Tinggalkan dan lapor kendala?")
    assert leave.buttons == ["✅ Ya, lapor kendala", "↩️ Tidak, lanjutkan"]
    await siti.press("↩️ Tidak, lanjutkan")
    again = await siti.wait_for("berapa penjualan")
    assert "Rp500 ribu–1 juta" in again.buttons, "the question again, with its buttons"
    await siti.press_callback(leave.message_id, "lv:obstacle")  # an old leave button: refused, nothing changes
    await sandbox.settle()
    assert "tidak berlaku" in siti.callback_answers[-1]["text"]
    await siti.send("🆘 Ada kendala")
    await siti.wait_for("Tinggalkan dan lapor kendala?")
    await siti.send("🆘 Ada kendala")  # asked once: the same button again means yes
    await siti.wait_for("Apa kendalanya")
    await siti.press("🛒 Sepi pembeli")
    await siti.wait_for("tahan tombol mikrofon")
    await siti.send("Pembeli sepi sejak pasar pindah")
    await siti.press("🟢 Bisa menunggu beberapa hari", message=await siti.wait_for("seberapa mendesak"))
    await siti.wait_for("tersimpan dengan nomor")
    await siti.send("📋 Lapor usaha")  # back the same day: the answers are there
    await siti.wait_for("Jawaban Anda tadi masih tersimpan")
    await siti.press("Rp500 ribu–1 juta", message=await siti.wait_for("berapa penjualan"))
    await siti.wait_for("Kirim 1 sampai 3 foto")
    await siti.send_photo()
    await siti.wait_for("Foto diterima")
    await siti.press_reply("➡️ Lanjut tanpa lokasi")
    summary = await siti.wait_for("Periksa laporan Anda")
    assert "5" in summary.text
    await siti.press("✅ Kirim", message=await siti.wait_for("Kirim laporan ini?"))
    await siti.wait_for("Laporan berikutnya")
    await sandbox.settle()
    async with sandbox.ctx.session_factory() as s:
        assert (await s.scalar(select(Checkin))).days_open == 5  # type: ignore[union-attr]


async def test_answers_put_aside_are_not_taken_up_the_next_day(sandbox: SandboxRun, people: People) -> None:
    siti = people.siti
    await siti.command("kendala")
    await siti.wait_for("Apa kendalanya")
    await siti.press("💰 Modal")
    await siti.wait_for("tahan tombol mikrofon")
    await siti.command("lapor")
    await siti.wait_for("Tinggalkan dan lapor usaha?")
    await siti.press("✅ Ya, lapor usaha")
    await siti.wait_for("Bagaimana usaha Anda sekarang?")
    await siti.command("batal")
    await siti.wait_for("Dibatalkan")
    sandbox.ctx.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    await siti.send("🆘 Ada kendala")
    fresh = await siti.wait_for("Apa kendalanya")
    assert "masih tersimpan" not in " ".join(m.text or "" for m in siti.messages[-2:])
    assert "💰 Modal" in fresh.buttons
