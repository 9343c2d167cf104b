"""§2 of #17: "iya / ya / setuju / oke / siap" typed at a yes/no step means yes (one parser:
services/answers.py): the check-in's "✅ Kirim", the hand-over's "✅ Catat", the aid-receipt question."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from db.enums import OnboardingState
from db.models import AidItem, Checkin, Handover, Recipient
from sandbox.runner import SandboxRun
from scheduler.runner import run_due
from services.answers import is_yes, typed_number
from tests.cases.conftest import People
from tests.preaid.test_handover_bast import OTHER_TG, REC_TG, TKSK_TG, _setup


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.throttling.rate = 100  # the tests tap faster than people do
    return settings


YES = ["iya", "Ya", "setuju", "oke", "siap", "Siap!", "ya, sudah", "oke 👍", "iya benar", "ya pak",
       "siap bu, terima kasih", "ya kirim"]


@pytest.mark.parametrize("text", YES)
def test_yes_words(text: str) -> None:
    assert is_yes(text)


@pytest.mark.parametrize("text", ["tidak", "belum", "/batal", "", "ya tapi mixer belum sampai", "yakin tidak",
                                  "ya tapi kurang", "ya belum", "oke nanti"])
def test_not_yes(text: str) -> None:
    assert not is_yes(text)


def test_typed_numbers() -> None:
    assert typed_number("6", 0, 7) == 6 and typed_number("6 hari", 0, 7) == 6
    assert typed_number("9", 0, 7) is None and typed_number("enam", 0, 7) is None


async def test_typed_iya_sends_the_checkin(sandbox: SandboxRun, people: People) -> None:
    siti = people.siti
    await siti.command("lapor")
    await siti.press("✅ Masih jalan", message=await siti.wait_for("Bagaimana usaha Anda sekarang?"))
    await siti.wait_for("Berapa hari usaha buka")
    await siti.send("5")
    await siti.press("Rp500 ribu–1 juta", message=await siti.wait_for("berapa penjualan"))
    await siti.wait_for("Kirim 1 sampai 3 foto")
    await siti.send_photo()
    await siti.wait_for("Foto diterima")
    await siti.press_reply("➡️ Lanjut tanpa lokasi")
    question = await siti.wait_for("Kirim laporan ini?")
    await siti.send("tidak tahu")  # not a yes: the question again, nothing stored
    again = await siti.wait_for("Kirim laporan ini?")
    assert again.message_id != question.message_id
    async with sandbox.ctx.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Checkin)) == 0
    await siti.send("iya")
    await siti.wait_for("Laporan berikutnya")
    await sandbox.settle()
    async with sandbox.ctx.session_factory() as s:
        assert (await s.scalar(select(Checkin))).days_open == 5  # type: ignore[union-attr]
    answered = siti.chat.messages[again.message_id]
    assert answered is not None and "Laporan terkirim" in (answered.text or "") and not answered.buttons, \
        "the question's buttons are taken away"
    await siti.send("iya")  # a second yes stores nothing twice
    await sandbox.settle()
    async with sandbox.ctx.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Checkin)) == 1


async def test_typed_siap_records_the_handover_and_sudah_confirms_receipt(sandbox: SandboxRun) -> None:
    ctx = sandbox.ctx
    recipient_id, _candidate = await _setup(ctx)
    tksk, other = sandbox.person(TKSK_TG, "Nur"), sandbox.person(OTHER_TG, "Yohanes")
    rusmini = sandbox.person(REC_TG, "Rusmini")
    await other.send("siap")  # a yes with no question pending records nothing
    await tksk.command("serahterima")
    await tksk.press("Rusmini · Rp4.750.000", message=await tksk.wait_for("Paket bantuan yang perlu diserahkan"))
    await tksk.press("☑ Semua sudah diserahkan", message=await tksk.wait_for("Centang setiap barang"))
    await tksk.wait_for("☑ 7. Bahan baku awal")
    await tksk.press("➡️ Lanjut")
    await tksk.wait_for("Kirim foto Rusmini bersama barangnya")
    await tksk.send_photo()
    await tksk.wait_for("kirim lokasi serah terima")
    await tksk.press_reply("📍 Kirim lokasi")
    await tksk.wait_for("Catat serah terima sekarang?")
    await tksk.send("Siap!")
    done = await tksk.wait_for("Serah terima tercatat")
    async with ctx.session_factory() as s:
        handover = await s.scalar(select(Handover))
        assert handover is not None and handover.number in done.text
        assert await s.scalar(select(func.count()).select_from(Handover)) == 1

    assert (await run_due(ctx, sandbox.app.messenger))["onboarding_aid_arrived"] == 1
    await rusmini.wait_for("Kabar baik")
    await rusmini.send("sudah tapi kompor belum")  # a yes with a "but": not taken as all received
    await rusmini.wait_for("jawab dengan tombol")
    await rusmini.send("iya sudah")
    await rusmini.wait_for("semua barang sudah diterima")
    await rusmini.wait_for("Langkah terakhir")
    await rusmini.send_photo()
    await rusmini.wait_for("Pendaftaran selesai")
    async with ctx.session_factory() as s:
        assert set(await s.scalars(select(AidItem.received))) == {True}
        r = await s.get(Recipient, recipient_id)
        assert r is not None and r.onboarding_state == OnboardingState.ACTIVE


async def test_typed_ya_at_leave_the_flow(sandbox: SandboxRun, people: People) -> None:
    """ "ya" right after "Leave it and report a problem?" leaves; once the flow moved on, "iya" is the step's
    answer (here: send the report), not a late answer to the leave question."""
    siti = people.siti
    await siti.command("lapor")
    await siti.press("✅ Masih jalan", message=await siti.wait_for("Bagaimana usaha Anda sekarang?"))
    await siti.wait_for("Berapa hari usaha buka")
    await siti.send("🆘 Ada kendala")
    leave = await siti.wait_for("Tinggalkan dan lapor kendala?")
    await siti.send("4")  # the flow's answer instead: the leave question is passed over
    await siti.press("Rp500 ribu–1 juta", message=await siti.wait_for("berapa penjualan"))
    await siti.wait_for("Kirim 1 sampai 3 foto")
    await siti.send_photo()
    await siti.wait_for("Foto diterima")
    await siti.press_reply("➡️ Lanjut tanpa lokasi")
    await siti.wait_for("Kirim laporan ini?")
    await siti.send("iya")
    await siti.wait_for("Laporan berikutnya")
    await sandbox.settle()
    async with sandbox.ctx.session_factory() as s:
        assert (await s.scalar(select(Checkin))).days_open == 4  # type: ignore[union-attr]
    assert leave.message_id
    await siti.command("lapor")
    await siti.wait_for("Bagaimana usaha Anda sekarang?")
    await siti.send("🆘 Ada kendala")
    await siti.wait_for("Tinggalkan dan lapor kendala?")
    await siti.send("ya")
    await siti.wait_for("Apa kendalanya")
