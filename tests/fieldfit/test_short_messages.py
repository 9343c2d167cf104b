"""§4 and §5 of #17: short plain messages, names and words instead of codes, one date style, Dinas Sosial,
the quiet-hours grace."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from db.models import TelegramAccount
from sandbox.people import Person
from sandbox.runner import SandboxRun
from tests.cases.conftest import OTHER_RECIPIENT_TG, People
from tests.onboarding.helpers import invitation_link, make_recipient

LONG_DATE = re.compile(r"(Senin|Selasa|Rabu|Kamis|Jumat|Sabtu|Minggu), \d{1,2} "
                       r"(Jan|Feb|Mar|Apr|Mei|Jun|Jul|Agu|Sep|Okt|Nov|Des) \d{4}")


async def report(person: Person, words: str, urgency: str = "🟡 Mendesak, tapi masih bisa jualan") -> str:
    await person.command("kendala")
    await person.wait_for("Apa kendalanya")
    await person.press("💰 Modal")
    await person.wait_for("tahan tombol mikrofon")
    await person.send(words)
    await person.press(urgency, message=await person.wait_for("seberapa mendesak"))
    done = await person.wait_for("tersimpan dengan nomor")
    return re.search(r"UEP-\d{4}-\d{5}", done.text).group(0)  # type: ignore[union-attr]


async def test_consent_is_a_short_summary_with_the_full_text_one_tap_away(sandbox: SandboxRun) -> None:
    r = await make_recipient(sandbox, name="Siti Aminah")
    person = sandbox.person(730001, "Siti", phone="+6281234567890")
    await person.command("start", (await invitation_link(sandbox, r.id)).rsplit("=", 1)[1])
    consent = await person.wait_for("Apakah Anda setuju?")
    assert len(consent.text.splitlines()) <= 5, consent.text
    assert "Dinas Sosial" in consent.text and "/privasi" in consent.text and "TKSK" in consent.text
    assert "Berapa lama" not in consent.text, "the full text is behind a button"
    assert "📄 Baca selengkapnya" in consent.buttons
    await person.press("📄 Baca selengkapnya", message=consent)
    full = await person.wait_for("Hak Anda")
    for words in ("nomor HP", "Untuk apa", "Siapa yang melihat", "Berapa lama"):
        assert words in full.text
    await person.press("✅ Saya setuju", message=full)
    await person.wait_for("Kirim nomor HP saya")
    await person.press_callback(consent.message_id, "ob:consentfull:0:0")  # after consent: refused
    await sandbox.settle()
    assert "tidak berlaku" in person.callback_answers[-1]["text"]


async def test_tksk_alert_says_the_words_once_and_names_roles_in_words(
    sandbox: SandboxRun, people: People
) -> None:
    words = "bu oven saya rusak tidak bisa bikin kue"
    number = await report(people.siti, words)
    alert = await people.tksk.wait_for(number)
    assert alert.text.count(words) == 1, alert.text
    assert "(recipient)" not in alert.text and "(penerima)" in alert.text
    assert "Dissos" not in alert.text and "⏫ Teruskan ke Dinas Sosial" in alert.buttons
    await people.tksk.press("📜 Riwayat", message=alert)
    history = await people.tksk.wait_for("Riwayat kasus")
    assert "Siti Aminah (penerima): melapor" in history.text and "recipient" not in history.text


async def test_one_date_style_and_a_stored_notice_stays_true(sandbox: SandboxRun, people: People) -> None:
    siti, tksk = people.siti, people.tksk
    await siti.command("kendala")
    await siti.wait_for("Apa kendalanya")
    await siti.press("💰 Modal")
    await siti.wait_for("tahan tombol mikrofon")
    await siti.send("Modal habis untuk beli tepung")
    await siti.press("🔴 Sangat mendesak: usaha terhenti", message=await siti.wait_for("seberapa mendesak"))
    done = await siti.wait_for("tersimpan dengan nomor")
    assert "paling lambat hari ini 13:00" in done.text, "lower case mid-sentence, in a reply read at once"
    number = re.search(r"UEP-\d{4}-\d{5}", done.text).group(0)  # type: ignore[union-attr]
    alert = await tksk.wait_for(number)
    await tksk.press("✋ Ambil", message=alert)
    await siti.wait_for("sedang menanganinya")
    await tksk.press("🏠 Rencanakan kunjungan", message=alert)
    picker = await tksk.wait_for("hari apa Anda berkunjung")
    await tksk.press("Besok, 3 Mar", message=picker)
    visit = await siti.wait_for("akan berkunjung")
    assert "Selasa, 3 Mar 2026" in visit.text and "Besok" not in visit.text and "besok" not in visit.text
    assert LONG_DATE.search(visit.text), visit.text


async def test_quiet_hours_grace_for_someone_who_just_wrote(sandbox: SandboxRun, people: People) -> None:
    clock = sandbox.ctx.clock
    clock.set(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))  # 22:00 WITA: quiet hours
    number = await report(people.siti, "Modal habis sama sekali")
    alert = await people.tksk.wait_for(number)
    clock.advance(timedelta(minutes=10))
    await people.tksk.press("✋ Ambil", message=alert)
    await people.siti.wait_for("sedang menanganinya")  # she wrote 10 minutes ago: told now

    # Rahma reported at 18:00 and has been silent since: her notice waits for the morning.
    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    other = await report(people.rahma, "Pembeli sepi sekali")
    other_alert = await people.other_tksk.wait_for(other)
    clock.set(datetime(2026, 3, 2, 14, 30, tzinfo=UTC))  # 22:30 WITA
    async with sandbox.ctx.session_factory.begin() as s:  # (her last message was 4.5 hours ago)
        await s.execute(update(TelegramAccount).where(TelegramAccount.telegram_user_id == OTHER_RECIPIENT_TG)
                        .values(last_seen_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC)))
    mark = len(people.rahma.messages)
    await people.other_tksk.press("✋ Ambil", message=other_alert)
    await people.other_tksk.wait_for(lambda m: m.message_id == other_alert.message_id and "Sedang ditangani"
                                     in m.content)
    await sandbox.settle()
    assert all("sedang menanganinya" not in (m.text or "") for m in people.rahma.messages[mark:])


async def test_aid_package_is_a_summary_with_the_list_one_tap_away(sandbox: SandboxRun) -> None:
    r = await make_recipient(sandbox, name="Siti Aminah")
    person = sandbox.person(730011, "Siti", phone="+6281234567890")
    await person.command("start", (await invitation_link(sandbox, r.id)).rsplit("=", 1)[1])
    await person.press("✅ Saya setuju", message=await person.wait_for("Apakah Anda setuju?"))
    await person.wait_for("Kirim nomor HP saya")
    await person.press_reply("📱 Kirim nomor HP saya")
    await person.press("✅ Ya, benar", message=await person.wait_for("Apakah sudah benar?"))
    summary = await person.wait_for("Paket bantuan Anda")
    assert len(summary.text.splitlines()) <= 2 and "barang" in summary.text and "1." not in summary.text
    assert summary.buttons[0] == "📄 Lihat daftar barang" and "✅ Ya, semua sudah diterima" in summary.buttons
    await person.press("📄 Lihat daftar barang", message=summary)
    full = await person.wait_for(lambda m: m.message_id != summary.message_id and "1. " in m.content)
    assert "📄 Lihat daftar barang" not in full.buttons
    await person.press("✅ Ya, semua sudah diterima", message=full)
    await person.wait_for("Langkah terakhir")
