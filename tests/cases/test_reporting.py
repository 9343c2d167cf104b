"""A recipient reports an obstacle end to end: by voice, in writing, with photos; the duplicate rule; status;
the entry point the check-in flow calls."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from unittest.mock import AsyncMock

from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from sqlalchemy import func, select

from bot.context import AppContext
from conversations.obstacle import ObstacleReport, begin_obstacle_report
from db.enums import CaseState
from db.models import Case, CaseEvent, Checkin, Photo, TelegramAccount
from sandbox.events import USER_UPDATE
from sandbox.people import Person
from sandbox.runner import SandboxRun
from tests.cases.conftest import RECIPIENT_TG, People, World, case_when

PROBLEM = "🆘 Ada kendala"


def user_actions(sandbox: SandboxRun, person: Person, since: int) -> int:
    """Updates the person sent the bot (messages and button presses) since event ``since``."""
    return sum(1 for ev in sandbox.emulator.world.events.since(since)
               if ev.kind == USER_UPDATE and ev.chat_id == person.id)


async def _cases(ctx: AppContext, wait_for: int | None = None) -> list[Case]:
    """All cases (once there are ``wait_for`` of them: an update commits just after its last message)."""
    for _ in range(250):
        async with ctx.session_factory() as s:
            cases = list(await s.scalars(select(Case).order_by(Case.id)))
        if wait_for is None or len(cases) >= wait_for:
            return cases
        await asyncio.sleep(0.02)
    raise AssertionError(f"{len(cases)} case(s), expected {wait_for}")


async def _count(ctx: AppContext, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with ctx.session_factory() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def test_report_by_voice_takes_four_taps(sandbox: SandboxRun, people: People) -> None:
    siti, tksk = people.siti, people.tksk
    await siti.command("start")
    await siti.wait_for("Apa yang ingin")
    assert PROBLEM in sum(siti.reply_keyboard, [])
    start = sandbox.emulator.world.events.last_seq
    await siti.press_reply(PROBLEM)
    await siti.wait_for("Apa kendalanya")
    await siti.press("💰 Modal")
    await siti.wait_for("tahan tombol mikrofon")
    await siti.send_voice(duration=7)
    await siti.wait_for("seberapa mendesak")
    await siti.press("🔴 Sangat mendesak: usaha terhenti")
    done = await siti.wait_for("tersimpan dengan nomor")
    assert user_actions(sandbox, siti, start) == 4, "menu button, kind, voice note, urgency"
    assert "Nurhayati" in done.text and "paling lambat hari ini 13:00" in done.text
    assert PROBLEM in sum(siti.reply_keyboard, []), "back to the main menu"
    await sandbox.settle()
    [case] = await _cases(sandbox.ctx)
    assert case.state == CaseState.NEW and case.kind == "capital" and case.urgency == "high"
    assert case.voice_file_id and case.description is None and case.number in done.text
    alert = await tksk.wait_for(case.number)
    assert "Siti Aminah" in alert.text and "Palaran" in alert.text and "pesan suara" in alert.text
    assert {"✋ Ambil", "📞 Telepon", "🏠 Rencanakan kunjungan", "⏫ Teruskan ke Dinas Sosial", "✅ Selesai"} <= set(
        alert.buttons)
    assert "+6281234567890" not in alert.text, "the phone number only behind the Call button"
    # The voice note follows the card, paced (one message per chat per second) like every message to others.
    await tksk.wait_for(lambda m: m.kind == "voice", timeout=10)
    assert [m.kind for m in tksk.messages] == ["text", "voice"], "the voice note is forwarded to the TKSK"
    # Urgent: Dissos caseworkers are alerted at once too.
    assert "✋ Ambil alih" in (await people.budi.wait_for(case.number)).buttons


async def test_report_in_writing_with_an_album_and_a_captioned_photo(sandbox: SandboxRun, people: People) -> None:
    siti, tksk = people.siti, people.tksk
    await siti.command("kendala")
    await siti.wait_for("Apa kendalanya")
    await siti.press("🧺 Bahan baku langka atau mahal")
    await siti.wait_for("tahan tombol mikrofon")
    await siti.send("ok")
    await siti.wait_for("sedikit lebih banyak")  # too short to be a description
    await siti.send_photo(caption="Harga minyak goreng naik dua kali lipat")
    await siti.wait_for("seberapa mendesak")
    await siti.send_album([None, None, None])
    await sandbox.settle()
    answers = [m.text for m in siti.messages if "Foto diterima" in (m.text or "")]
    assert answers == ["📷 Foto diterima (2 dari 5). Kalau bisa, kirim foto kendalanya sekarang. Lalu pilih "
                       "seberapa mendesak:"], "one answer per album"
    await siti.send("Tepung juga susah dicari")
    await siti.wait_for("Sudah ditambahkan")
    mark = sandbox.emulator.world.events.last_seq
    await siti.send_album([None, None])
    await siti.wait_for("Foto diterima (5 dari 5)", since=mark)
    await siti.send_photo()
    await siti.wait_for("Fotonya sudah cukup (5)")
    await siti.press("🟡 Mendesak, tapi masih bisa jualan")
    await siti.wait_for("tersimpan dengan nomor")
    await sandbox.settle()
    [case] = await _cases(sandbox.ctx)
    assert case.description == "Harga minyak goreng naik dua kali lipat\nTepung juga susah dicari"
    assert case.urgency == "normal" and case.voice_file_id is None
    assert await _count(sandbox.ctx, Photo, Photo.case_id == case.id) == 5
    assert await _count(sandbox.ctx, Photo, Photo.case_id == case.id, Photo.status == "pending",
                        Photo.next_attempt_at.is_not(None)) == 5, "queued for download like check-in photos"
    await tksk.wait_for("Harga minyak goreng")
    assert [m.kind for m in tksk.messages] == ["text"] + ["photo"] * 5, "the photos go to the TKSK as an album"


async def test_disaster_is_always_urgent_and_skips_the_question(sandbox: SandboxRun, people: People) -> None:
    siti = people.siti
    await siti.command("kendala")
    await siti.wait_for("Apa kendalanya")
    await siti.press("🌊 Bencana (banjir, kebakaran)")
    await siti.wait_for("tahan tombol mikrofon")
    await siti.send("Warung kebanjiran setinggi lutut")
    prompt = await siti.wait_for("Kirim laporan")
    assert prompt.buttons == ["📨 Kirim laporan"]
    await siti.press("📨 Kirim laporan")
    await siti.wait_for("tersimpan dengan nomor")
    await sandbox.settle()
    [case] = await _cases(sandbox.ctx)
    assert case.kind == "disaster" and case.urgency == "high"
    assert case.take_due_at == sandbox.ctx.clock.now() + timedelta(hours=4)


async def test_same_kind_again_is_added_to_the_open_case(sandbox: SandboxRun, people: People) -> None:
    siti, tksk = people.siti, people.tksk
    for words, urgency in (("Modal habis", "🟢 Bisa menunggu beberapa hari"),
                           ("Sekarang sudah tidak bisa jualan", "🔴 Sangat mendesak: usaha terhenti")):
        await siti.send(PROBLEM)
        await siti.wait_for("Apa kendalanya")
        await siti.press("💰 Modal")
        await siti.wait_for("tahan tombol mikrofon")
        await siti.send(words)
        await siti.wait_for("seberapa mendesak")
        await siti.press(urgency)
        await siti.wait_for("✅")
        await sandbox.settle()  # the update commits just after its last message
    [case] = await _cases(sandbox.ctx)
    added = siti.messages[-1].text
    assert f"sudah punya laporan terbuka tentang ini: {case.number}" in added and "saya tambahkan" in added
    assert case.urgency == "high", "a more urgent follow-up raises the case"
    assert case.take_due_at == sandbox.ctx.clock.now() + timedelta(hours=4)
    assert await _count(sandbox.ctx, CaseEvent, CaseEvent.case_id == case.id, CaseEvent.action == "added_report",
                        CaseEvent.note == "Sekarang sudah tidak bisa jualan") == 1
    await tksk.wait_for("Penerima menambahkan ke kasus ini")
    # Another kind is another case.
    await siti.send(PROBLEM)
    await siti.wait_for("Apa kendalanya")
    await siti.press("🛒 Sepi pembeli")
    await siti.wait_for("tahan tombol mikrofon")
    await siti.send("Pembeli sepi sejak pasar pindah")
    await siti.wait_for("seberapa mendesak")
    await siti.press("🟢 Bisa menunggu beberapa hari")
    await siti.wait_for("tersimpan dengan nomor")
    await _cases(sandbox.ctx, wait_for=2)


async def test_cancel_and_menu_buttons_leave_nothing_half_written(sandbox: SandboxRun, people: People) -> None:
    siti = people.siti
    await siti.send(PROBLEM)
    await siti.wait_for("Apa kendalanya")
    await siti.send("ok")  # too short to be a description sent before the kind
    await siti.wait_for("Pilih jenis kendala")
    await siti.press("💰 Modal")
    await siti.wait_for("tahan tombol mikrofon")
    await siti.send("📋 Lapor usaha")
    await siti.wait_for("sedang melaporkan kendala")
    await siti.send_sticker()
    await siti.wait_for("pesan suara 🎤 atau beberapa kata")
    await siti.send_voice()
    await siti.wait_for("seberapa mendesak")
    await siti.command("batal")
    await siti.wait_for("Dibatalkan")
    await sandbox.settle()
    assert await _cases(sandbox.ctx) == [] and await _count(sandbox.ctx, Photo) == 0
    # An old urgency button after the cancel only explains.
    old = next(m for m in reversed(siti.messages) if m.buttons)
    await siti.press("🟡 Mendesak, tapi masih bisa jualan", message=old)
    await sandbox.settle()
    assert "tidak berlaku" in siti.callback_answers[-1]["text"]
    assert await _cases(sandbox.ctx) == []


async def test_status_lists_cases_in_plain_words_and_offers_reopen(
    sandbox: SandboxRun, people: People, world: World
) -> None:
    siti = people.siti
    await siti.send("📂 Status laporan")
    empty = await siti.wait_for("belum pernah melaporkan kendala")
    assert not empty.buttons
    await siti.send(PROBLEM)
    await siti.wait_for("Apa kendalanya")
    await siti.press("🏥 Sakit atau urusan keluarga")
    await siti.wait_for("tahan tombol mikrofon")
    await siti.send("Suami sakit, warung tutup seminggu")
    await siti.wait_for("seberapa mendesak")
    await siti.press("🟡 Mendesak, tapi masih bisa jualan")
    await siti.wait_for("tersimpan")
    await siti.command("status")
    status = await siti.wait_for("Laporan Anda:")
    assert "Sakit atau urusan keluarga" in status.text and "Baru, menunggu TKSK" in status.text
    assert "TKSK Anda sudah diberi tahu" in status.text
    [case] = await _cases(sandbox.ctx)
    await people.tksk.send("/kasus")
    listing = await people.tksk.wait_for("Kasus terbuka di Palaran")
    await people.tksk.press("1", message=listing)
    card = await people.tksk.wait_for(lambda m: m.message_id == listing.message_id and "✅ Selesai" in m.buttons)
    await people.tksk.press("✅ Selesai", message=card)
    await people.tksk.wait_for("bagaimana masalahnya")
    await people.tksk.send("Dirujuk ke puskesmas, warung buka lagi")
    await people.tksk.press("✅ Ya, selesai", message=await people.tksk.wait_for("Tandai kasus"))
    await case_when(sandbox.ctx, case.id, lambda c: c.state == CaseState.RESOLVED)
    await siti.command("status")
    status = await siti.wait_for(lambda m: "Laporan Anda:" in m.content and "Selesai ditangani" in m.content)
    assert status.buttons == [f"⚠️ {case.number}: masih bermasalah"]


async def test_english_speaker_reports_in_english(sandbox: SandboxRun, people: People) -> None:
    async with sandbox.ctx.session_factory.begin() as s:
        account = await s.scalar(select(TelegramAccount).where(TelegramAccount.telegram_user_id == RECIPIENT_TG))
        account.language = "en"
    siti = people.siti
    await siti.command("kendala")
    await siti.wait_for("What is the problem?")
    await siti.press("🔧 Equipment broken or lost")
    await siti.wait_for("hold the microphone")
    await siti.send_voice()
    await siti.wait_for("how urgent")
    await siti.press("🟢 It can wait a few days")
    done = await siti.wait_for("Your report is saved as case")
    assert "will contact you by" in done.text
    alert = await people.tksk.wait_for("Peralatan rusak atau hilang")
    assert "Ada laporan kendala baru" in alert.text, "the TKSK reads it in their own language"


async def test_recipient_not_yet_joined_cannot_report(sandbox: SandboxRun, people: People, world: World) -> None:
    async with sandbox.ctx.session_factory.begin() as s:
        from db.models import Recipient

        r = await s.get(Recipient, world.recipient.id)
        r.onboarding_state = "consent"
    await people.siti.command("kendala")
    await people.siti.wait_for("Selesaikan dulu pendaftaran")
    assert await _cases(sandbox.ctx) == []


async def test_from_a_checkin_the_case_remembers_it(sandbox: SandboxRun, people: People, world: World) -> None:
    """The check-in flow calls begin_obstacle_report(..., source_checkin_id=...); what it stores is kept."""
    ctx = sandbox.ctx
    async with ctx.session_factory.begin() as s:
        checkin = Checkin(recipient_id=world.recipient.id, status="paused", submitted_at=ctx.clock.now())
        s.add(checkin)
        await s.flush()
        checkin_id = checkin.id
    bot_id = int(ctx.settings.telegram.token.split(":")[0])
    key = StorageKey(bot_id=bot_id, chat_id=RECIPIENT_TG, user_id=RECIPIENT_TG)
    storage = sandbox.app.dp.storage
    siti = people.siti
    # As the check-in flow would: from its own last message in Siti's chat.
    checkin_message = await sandbox.app.bot.send_message(RECIPIENT_TG, "Laporan usaha tersimpan.")
    with sandbox.app.i18n.context(), sandbox.app.i18n.use_locale("id"):
        await begin_obstacle_report(checkin_message, FSMContext(storage, key), source_checkin_id=checkin_id,
                                    account=await _account(ctx, RECIPIENT_TG))
    assert await storage.get_state(key) == ObstacleReport.kind.state
    question = await siti.wait_for("Apa kendalanya")
    await sandbox.restart_bot()  # the report survives a restart half-way
    await siti.press("🧺 Bahan baku langka atau mahal", message=question)
    await siti.wait_for("tahan tombol mikrofon")
    await siti.send_voice()
    await siti.wait_for("seberapa mendesak")
    await siti.press("🟡 Mendesak, tapi masih bisa jualan")
    await siti.wait_for("tersimpan")
    await sandbox.settle()
    [case] = await _cases(ctx, wait_for=1)
    assert case.source == "checkin" and case.source_checkin_id == checkin_id


async def test_begin_obstacle_report_contract() -> None:
    """The signature the check-in engineer calls, on its own: first state set, first question asked."""
    storage = MemoryStorage()
    state = FSMContext(storage, StorageKey(bot_id=1, chat_id=5, user_id=5))
    message = _fake_message()
    account = TelegramAccount(telegram_user_id=5, chat_id=5)
    from db.models import Recipient

    account.recipient = Recipient(onboarding_state="active")
    from bot.i18n import CatalogI18n

    i18n = CatalogI18n()
    with i18n.context(), i18n.use_locale("id"):
        await begin_obstacle_report(message, state, source_checkin_id=42, account=account, session=None)
    assert await state.get_state() == ObstacleReport.kind.state
    assert (await state.get_data())["source_checkin_id"] == 42
    text = message.answer.await_args.args[0]
    assert "Apa kendalanya" in text
    rows = message.answer.await_args.kwargs["reply_markup"].inline_keyboard
    assert [len(r) for r in rows] == [2, 1, 1, 1, 1, 1, 1, 1], "two a row only when both labels are short"
    assert [b.text for b in rows[0]] == ["💰 Modal", "🛒 Sepi pembeli"]


def _fake_message():  # type: ignore[no-untyped-def]
    message = AsyncMock()
    message.answer = AsyncMock()
    return message


async def _account(ctx: AppContext, tg: int) -> TelegramAccount:
    async with ctx.session_factory() as s:
        return await s.scalar(select(TelegramAccount).where(TelegramAccount.telegram_user_id == tg))
