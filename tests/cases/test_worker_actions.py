"""Each TKSK action from the alert's buttons, and what the recipient and Dissos are told."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from db.enums import CaseState
from db.models import AuditLog, Case
from sandbox.people import Person
from sandbox.runner import SandboxRun
from tests.cases.conftest import People, case_when


async def report(siti: Person, kind: str = "💰 Modal", words: str = "Modal habis untuk beli tepung",
                 urgency: str = "🟡 Mendesak, tapi masih bisa jualan") -> str:
    """Siti reports a problem in writing; returns the case number."""
    await siti.send("🆘 Ada kendala")
    await siti.wait_for("Apa kendalanya")
    await siti.press(kind)
    await siti.wait_for("tahan tombol mikrofon")
    await siti.send(words)
    await siti.wait_for("Terima kasih")
    await siti.press(urgency)
    done = await siti.wait_for("tersimpan dengan nomor")
    return done.text.split("nomor ")[1].split(".")[0]


async def _case(sandbox: SandboxRun, number: str, state: CaseState | None = None) -> Case:
    """The case, once in ``state`` (the update's transaction commits just after its last message)."""
    async with sandbox.ctx.session_factory() as s:
        case_id = await s.scalar(select(Case.id).where(Case.number == number))
    return await case_when(sandbox.ctx, case_id, lambda c: state is None or c.state == state)


async def test_take_call_visit_resolve_and_reopen(sandbox: SandboxRun, people: People) -> None:
    siti, tksk = people.siti, people.tksk
    number = await report(siti)
    alert = await tksk.wait_for(number)
    assert "Modal habis untuk beli tepung" in alert.text

    await tksk.press("✋ Ambil", message=alert)
    await tksk.wait_for(lambda m: m.message_id == alert.message_id and "Sedang ditangani" in m.content)
    assert "✋ Ambil" not in tksk.chat.messages[alert.message_id].buttons, "the card follows the new state"
    await siti.wait_for("TKSK Anda sedang menanganinya")
    case = await _case(sandbox, number, CaseState.TAKEN)
    assert case.owner_worker_id is not None

    await tksk.press("📞 Telepon", message=alert)
    phone = await tksk.wait_for("📞 Siti Aminah")
    assert "+6281234567890" in phone.text
    entry = None
    for _ in range(250):  # the press's transaction commits just after its reply
        async with sandbox.ctx.session_factory() as s:
            entry = await s.scalar(select(AuditLog).where(AuditLog.action == "case.phone_viewed"))
        if entry is not None:
            break
        await asyncio.sleep(0.02)
    assert entry is not None and entry.target == number and "6281234567890" not in str(entry.details)

    await tksk.press("🏠 Rencanakan kunjungan", message=alert)
    picker = await tksk.wait_for("hari apa Anda berkunjung")
    assert picker.message_id == alert.message_id, "the day is asked on the card: no second card, no stale one"
    assert picker.buttons[:2] == ["Hari ini, 2 Mar", "Besok, 3 Mar"] and "Rabu, 4 Mar" in picker.buttons
    await tksk.press("Rabu, 4 Mar", message=picker)
    planned = await tksk.wait_for("Kunjungan untuk kasus")
    assert planned.message_id == alert.message_id and "Rabu, 4 Mar" not in planned.buttons
    visit = await siti.wait_for("akan berkunjung")
    assert "Rabu, 4 Mar 2026" in visit.text, "a stored notice carries the date itself (#17 §4)"
    assert (await _case(sandbox, number, CaseState.VISIT_PLANNED)).visit_planned_for.isoformat() == "2026-03-04"

    card = alert
    await tksk.press("✅ Selesai", message=card)
    await tksk.wait_for("bagaimana masalahnya diselesaikan")
    await tksk.send("Dibantu modal dari BAZNAS Rp500.000")
    ask = await tksk.wait_for("Tandai kasus")  # cannot be undone: asked once more, with the note
    assert "BAZNAS" in ask.text and ask.buttons[0] == "✅ Ya, selesai"
    assert (await _case(sandbox, number)).state == CaseState.VISIT_PLANNED, "nothing changed before the yes"
    await tksk.press("✅ Ya, selesai", message=ask)
    await tksk.wait_for("dinyatakan selesai")
    resolved = await siti.wait_for("Selesai ditangani")
    assert "BAZNAS" in resolved.text and resolved.buttons == ["⚠️ Masih bermasalah"]

    await _case(sandbox, number, CaseState.RESOLVED)
    await siti.press("⚠️ Masih bermasalah", message=resolved)
    await siti.wait_for("dibuka lagi")
    reopened = await tksk.wait_for("Dibuka lagi oleh penerima")
    assert "✋ Ambil" in reopened.buttons
    case = await _case(sandbox, number, CaseState.REOPENED)
    assert case.taken_at is None


async def test_pass_to_dissos_and_a_note(sandbox: SandboxRun, people: People) -> None:
    siti, tksk = people.siti, people.tksk
    number = await report(siti, kind="🔧 Peralatan rusak atau hilang", words="Kompor meledak, tidak bisa jualan")
    alert = await tksk.wait_for(number)
    await tksk.press("⏫ Teruskan ke Dinas Sosial", message=alert)
    why = await tksk.wait_for("kenapa diteruskan ke Dinas Sosial")
    assert "Perlu dana atau alat baru" in why.buttons and "↩️ Batal" in why.buttons
    await tksk.press("Perlu dana atau alat baru", message=why)
    ask = await tksk.wait_for("Teruskan kasus")
    assert "Alasan: Perlu dana atau alat baru" in ask.text and "tidak bisa ditarik kembali" in ask.text
    assert (await _case(sandbox, number)).state == CaseState.NEW, "nothing changed before the yes"
    await tksk.press("✅ Ya, teruskan", message=ask)
    await tksk.wait_for(lambda m: m.message_id == alert.message_id and "Diteruskan ke Dinas Sosial" in m.content)
    for staff in (people.budi, people.dewi, people.admin):
        card = await staff.wait_for("meneruskan kasus ini ke Dinas Sosial")
        assert number in card.text and "✋ Ambil alih" in card.buttons
        assert "Alasan: Perlu dana atau alat baru" in card.text, "the caseworker sees the TKSK's reason"
    await siti.wait_for("Dinas Sosial sedang menanganinya")
    case = await _case(sandbox, number, CaseState.WITH_DISSOS)
    assert case.escalated_at is not None
    # Still the TKSK's kecamatan: a note reaches Dissos.
    await tksk.press("📝 Tambah catatan", message=alert)
    await tksk.wait_for("tulis catatan atau kabar terbaru")
    await tksk.send("Sudah saya cek, kompor rusak total")
    await tksk.wait_for("Catatan tersimpan")
    await people.budi.wait_for("rusak total")
    # The TKSK may no longer take or resolve it.
    assert "✋ Ambil" not in tksk.last.buttons and "✅ Selesai" not in tksk.last.buttons


async def test_voice_and_photos_button_forwards_the_media(sandbox: SandboxRun, people: People) -> None:
    siti, tksk = people.siti, people.tksk
    await siti.command("kendala")
    await siti.wait_for("Apa kendalanya")
    await siti.press("🛒 Sepi pembeli")
    await siti.wait_for("tahan tombol mikrofon")
    await siti.send_voice(duration=4)
    await siti.wait_for("Terima kasih")
    await siti.send_photo()
    await siti.wait_for("Foto diterima (1 dari 5)")
    await siti.press("🟢 Bisa menunggu beberapa hari")
    await siti.wait_for("tersimpan dengan nomor")
    await sandbox.settle()
    card = next(m for m in tksk.messages if m.buttons)
    assert [m.kind for m in tksk.messages] == ["text", "voice", "photo"]
    before = len(tksk.messages)
    await tksk.press("🎧 Suara dan foto", message=card)
    # Uploading the files can outlast a quiet gap on a loaded machine: wait for the last one itself.
    await tksk.wait_for(lambda m: m.kind == "photo", timeout=15)
    await sandbox.settle()
    assert [m.kind for m in tksk.messages[before:]] == ["voice", "photo"]
    await tksk.press("📜 Riwayat", message=card)
    history = await tksk.wait_for("Riwayat kasus")
    assert "Siti Aminah (penerima): melapor" in history.text, "the role in words, never a code"
