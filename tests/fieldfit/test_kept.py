"""§1 of #17: whatever a recipient sends outside a flow is kept and answered with one question."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.context import AppContext
from db.enums import OnboardingState
from db.models import Case, Checkin, Photo, Recipient
from sandbox.events import USER_UPDATE
from sandbox.people import Person
from sandbox.runner import SandboxRun
from tests.cases.conftest import People, World

PROBLEM = "🆘 Laporkan sebagai kendala"
FOR_REPORT = "📋 Pakai untuk lapor usaha"
NEITHER = "✖️ Tidak keduanya"
REFUSED = ("tidak bisa saya pakai", "belum paham")


def user_actions(sandbox: SandboxRun, person: Person, since: int) -> int:
    return sum(1 for ev in sandbox.emulator.world.events.since(since)
               if ev.kind == USER_UPDATE and ev.chat_id == person.id)


async def cases(ctx: AppContext, wait_for: int = 1) -> list[Case]:
    for _ in range(250):
        async with ctx.session_factory() as s:
            rows = list(await s.scalars(select(Case).order_by(Case.id)))
        if len(rows) >= wait_for:
            return rows
        await asyncio.sleep(0.02)
    raise AssertionError(f"{len(rows)} case(s), expected {wait_for}")


async def home(person: Person) -> None:
    await person.command("start")
    await person.wait_for("Apa yang ingin")


def never_refused(person: Person) -> None:
    for m in person.messages:
        assert not any(r in (m.text or "") for r in REFUSED), m.text


async def test_voice_note_at_the_menu_becomes_a_problem_in_three_taps(sandbox: SandboxRun, people: People) -> None:
    siti, tksk = people.siti, people.tksk
    await home(siti)
    start = sandbox.emulator.world.events.last_seq
    await siti.send_voice(duration=9)
    question = await siti.wait_for("Mau diapakan?")
    assert "Pesan suara" in question.text
    assert question.buttons == [PROBLEM, FOR_REPORT, NEITHER]
    assert all(len(row) == 1 for row in question.inline_keyboard), "big buttons, one per row"
    after_voice = sandbox.emulator.world.events.last_seq
    await siti.press(PROBLEM)
    await siti.wait_for("Kendalanya jenis apa?")
    await siti.press("💰 Modal")
    await siti.wait_for("seberapa mendesak")  # the description is there: only the urgency is missing
    await siti.press("🟡 Mendesak, tapi masih bisa jualan")
    done = await siti.wait_for("tersimpan dengan nomor")
    assert user_actions(sandbox, siti, after_voice) == 3, "report as a problem, kind, urgency"
    assert user_actions(sandbox, siti, start) == 4, "the voice note and three taps"
    print(f"\nFIGURE taps for a problem by voice from the main menu: {user_actions(sandbox, siti, after_voice)} "
          f"after the voice note ({user_actions(sandbox, siti, start)} with it)")
    [case] = await cases(sandbox.ctx)
    assert case.voice_file_id and case.kind == "capital" and case.urgency == "normal" and case.number in done.text
    await tksk.wait_for(case.number)
    never_refused(siti)


async def test_typed_sentence_at_the_menu_is_the_description(sandbox: SandboxRun, people: People) -> None:
    siti = people.siti
    await home(siti)
    words = "bu oven saya rusak tidak bisa bikin kue, tolong"
    await siti.send(words)
    q = await siti.wait_for("Mau diapakan?")
    assert "Pesan Anda" in q.text
    await siti.press(PROBLEM)
    await siti.wait_for("Kendalanya jenis apa?")
    await siti.press("🔧 Peralatan rusak atau hilang")
    await siti.wait_for("seberapa mendesak")
    await siti.press("🔴 Sangat mendesak: usaha terhenti")
    await siti.wait_for("tersimpan dengan nomor")
    [case] = await cases(sandbox.ctx)
    assert case.description == words and case.kind == "equipment"
    await people.tksk.wait_for("oven saya rusak")
    never_refused(siti)


async def test_photo_at_the_menu_starts_the_checkin_with_it(sandbox: SandboxRun, people: People) -> None:
    siti = people.siti
    await home(siti)
    start = sandbox.emulator.world.events.last_seq
    await siti.send_photo()
    await siti.wait_for("Foto Anda sudah saya terima")
    await siti.press(FOR_REPORT)
    await siti.wait_for("Bagaimana usaha Anda sekarang?")
    await siti.press("✅ Masih jalan")
    await siti.wait_for("Berapa hari usaha buka")
    await siti.press("6")
    await siti.wait_for("berapa penjualan")
    await siti.press("Rp500 ribu–1 juta")
    await siti.wait_for("Sudah ada 1 foto")
    await siti.press_reply("➡️ Lanjut tanpa lokasi")
    await siti.wait_for("Foto: 1")
    await siti.wait_for("Kirim laporan ini?")
    await siti.press("✅ Kirim")
    await siti.wait_for("Laporan berikutnya tanggal")
    assert user_actions(sandbox, siti, start) == 7, "photo, use for report, status, days, sales, continue, send"
    await sandbox.settle()
    async with sandbox.ctx.session_factory() as s:
        checkin = await s.scalar(select(Checkin))
        assert checkin is not None and checkin.days_open == 6
        assert await s.scalar(select(func.count()).select_from(Photo).where(Photo.checkin_id == checkin.id)) == 1


async def test_image_as_file_and_album_are_kept_and_asked_once(sandbox: SandboxRun, people: People) -> None:
    from sandbox.media import make_jpeg

    siti = people.siti
    await home(siti)
    mark = sandbox.emulator.world.events.last_seq
    await siti.send_album([None, None, None])
    await siti.wait_for("Mau diapakan?", since=mark)
    await sandbox.settle()
    asked = [m for m in siti.messages if "Mau diapakan?" in (m.text or "")]
    assert len(asked) == 1, "one question per album"
    doc_mark = sandbox.emulator.world.events.last_seq
    await siti.send_document(make_jpeg(seed=5), "oven.jpg", "image/jpeg")
    await siti.wait_for("Mau diapakan?", since=doc_mark)
    await siti.press(PROBLEM)
    await siti.wait_for("Kendalanya jenis apa?")
    await siti.press("🔧 Peralatan rusak atau hilang")
    await siti.wait_for("seberapa mendesak")
    await siti.press("🟢 Bisa menunggu beberapa hari")
    await siti.wait_for("tersimpan dengan nomor")
    [case] = await cases(sandbox.ctx)
    await sandbox.settle()
    async with sandbox.ctx.session_factory() as s:
        n = await s.scalar(select(func.count()).select_from(Photo).where(Photo.case_id == case.id))
    assert n == 3, "the album's photos (an image file cannot be passed on to the TKSK as a photo)"
    assert user_actions(sandbox, siti, mark) == 3 + 1 + 3


async def test_image_sent_as_a_file_goes_into_the_checkin(sandbox: SandboxRun, people: People) -> None:
    from sandbox.media import make_jpeg

    siti = people.siti
    await home(siti)
    await siti.send_document(make_jpeg(seed=9), "warung.jpg", "image/jpeg")
    await siti.wait_for("Foto Anda sudah saya terima")
    await siti.press(FOR_REPORT)
    await siti.wait_for("Bagaimana usaha Anda sekarang?")
    await siti.press("✅ Masih jalan")
    await siti.wait_for("Berapa hari usaha buka")
    await siti.press("5")
    await siti.wait_for("berapa penjualan")
    await siti.press("Rp500 ribu–1 juta")
    await siti.wait_for("Sudah ada 1 foto")
    await siti.press_reply("➡️ Lanjut tanpa lokasi")
    await siti.wait_for("Kirim laporan ini?")
    await siti.press("✅ Kirim")
    await siti.wait_for("Laporan berikutnya tanggal")
    await sandbox.settle()
    async with sandbox.ctx.session_factory() as s:
        checkin = await s.scalar(select(Checkin))
        assert checkin is not None
        assert await s.scalar(select(func.count()).select_from(Photo).where(Photo.checkin_id == checkin.id)) == 1


async def test_neither_keeps_nothing_and_old_buttons_explain(sandbox: SandboxRun, people: People) -> None:
    siti = people.siti
    await home(siti)
    await siti.send("terima kasih bu")
    q = await siti.wait_for("Mau diapakan?")
    await siti.press(NEITHER)
    await siti.wait_for("tidak saya teruskan")
    await siti.press_callback(q.message_id, "kp:problem")  # the old question's button, pressed late
    await sandbox.settle()
    assert "tidak berlaku" in siti.callback_answers[-1]["text"]
    async with sandbox.ctx.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Case)) == 0


async def test_menu_button_while_a_message_waits_takes_it(sandbox: SandboxRun, people: People) -> None:
    siti = people.siti
    await home(siti)
    await siti.send_voice()
    await siti.wait_for("Mau diapakan?")
    await siti.press_reply("🆘 Ada kendala")
    await siti.wait_for("Kendalanya jenis apa?")
    await siti.press("🛒 Sepi pembeli")
    await siti.wait_for("seberapa mendesak")


async def test_video_note_is_kept_never_refused(sandbox: SandboxRun, people: People) -> None:
    """A round video at the menu becomes the problem's description: the case keeps it, the TKSK gets it with
    the alert and again from the card's media button."""
    siti, tksk = people.siti, people.tksk
    await home(siti)
    sent = await siti.send_video_note()
    q = await siti.wait_for("Mau diapakan?")
    assert "Pesan video" in q.text
    await siti.press(PROBLEM, message=q)
    kinds = await siti.wait_for("Kendalanya jenis apa?")  # described already: only the kind, then the urgency
    await siti.press("🔧 Peralatan rusak atau hilang", message=kinds)
    await siti.press("🟡 Mendesak, tapi masih bisa jualan", message=await siti.wait_for("seberapa mendesak"))
    await siti.wait_for("tersimpan dengan nomor")
    [case] = await cases(sandbox.ctx)
    assert case.video_note_file_id == sent.data["video_note"]["file_id"]
    never_refused(siti)
    alert = await tksk.wait_for(case.number)
    assert "🎥 pesan video" in alert.text and "🎧 Suara dan foto" in alert.buttons
    await tksk.wait_for(lambda m: m.kind == "video_note")
    await sandbox.settle()
    last_id = tksk.messages[-1].message_id
    await tksk.press("🎧 Suara dan foto", message=alert)
    again = await tksk.wait_for(lambda m: m.kind == "video_note" and m.message_id > last_id)
    assert again.data["video_note"]["file_id"]


async def test_video_note_in_the_obstacle_flow_is_attached(sandbox: SandboxRun, people: People) -> None:
    siti = people.siti
    await siti.command("kendala")
    await siti.press("🛒 Sepi pembeli", message=await siti.wait_for("Apa kendalanya"))
    await siti.wait_for("tahan tombol mikrofon")
    await siti.send_video_note()  # the description, like a voice note
    details = await siti.wait_for("seberapa mendesak")
    await siti.send_video_note()  # one is kept; a second is told so, never refused
    await siti.wait_for("Pesan video untuk laporan ini sudah ada")
    await siti.press("🟢 Bisa menunggu beberapa hari", message=details)
    await siti.wait_for("tersimpan dengan nomor")
    [case] = await cases(sandbox.ctx)
    assert case.video_note_file_id and case.voice_file_id is None
    never_refused(siti)
    # Before the kind, too.
    await siti.command("kendala")
    await siti.wait_for("Apa kendalanya")
    await siti.send_video_note()
    again = await siti.wait_for("Kendalanya jenis apa?")
    await siti.press("💰 Modal", message=again)
    await siti.press("🟢 Bisa menunggu beberapa hari", message=await siti.wait_for("seberapa mendesak"))
    await siti.wait_for("tersimpan dengan nomor")
    second = (await cases(sandbox.ctx, wait_for=2))[1]
    assert second.video_note_file_id


async def test_voice_or_text_before_the_kind_is_the_description(sandbox: SandboxRun, people: People) -> None:
    siti = people.siti
    await siti.command("kendala")
    await siti.wait_for("Apa kendalanya")
    await siti.send_voice()
    again = await siti.wait_for("Kendalanya jenis apa?")
    assert "💰 Modal" in again.buttons, "the question again, with its buttons"
    await siti.press("💰 Modal", message=again)
    await siti.wait_for("seberapa mendesak")
    await siti.press("🟢 Bisa menunggu beberapa hari")
    await siti.wait_for("tersimpan dengan nomor")
    [case] = await cases(sandbox.ctx)
    assert case.voice_file_id
    never_refused(siti)


async def test_waiting_for_aid_may_report_but_not_check_in(
    sandbox: SandboxRun, people: People, world: World
) -> None:
    async with sandbox.ctx.session_factory.begin() as s:
        r = await s.get(Recipient, world.recipient.id)
        assert r is not None
        r.onboarding_state = OnboardingState.AID_WAITING
    siti = people.siti
    await siti.send_voice()
    q = await siti.wait_for("Mau diapakan?")
    assert q.buttons == [PROBLEM, NEITHER]


async def test_not_joined_people_are_not_asked(sandbox: SandboxRun) -> None:
    stranger = sandbox.person(799999, "Orang")
    await stranger.send_voice()
    reply = await stranger.wait_for()
    assert "Mau diapakan?" not in reply.text
