"""§5 of #17: TKSK actions that cannot be undone ask first, and a case card never shows two states at once."""

from __future__ import annotations

from sqlalchemy import select

from db.enums import CaseState
from db.models import CaseEvent
from sandbox.runner import SandboxRun
from tests.cases.conftest import People, case_when
from tests.cases.test_worker_actions import _case, report


async def test_passing_on_asks_a_reason_by_voice_then_confirms(sandbox: SandboxRun, people: People) -> None:
    siti, tksk, budi = people.siti, people.tksk, people.budi
    number = await report(siti, kind="🔧 Peralatan rusak atau hilang", words="Oven rusak, tidak bisa bikin kue")
    alert = await tksk.wait_for(number)
    case = await _case(sandbox, number)

    # Cancel at the reason: nothing changes.
    await tksk.press("⏫ Teruskan ke Dinas Sosial", message=alert)
    why = await tksk.wait_for("kenapa diteruskan ke Dinas Sosial")
    await tksk.press("↩️ Batal", message=why)
    await tksk.wait_for("Tidak ada yang berubah pada kasus")
    await sandbox.settle()
    assert (await _case(sandbox, number)).state == CaseState.NEW
    assert "⏫ Teruskan ke Dinas Sosial" in tksk.chat.messages[alert.message_id].buttons

    # A voice note is the reason; "change" asks again; a typed reason; a typed "ya" confirms.
    await tksk.press("⏫ Teruskan ke Dinas Sosial", message=alert)
    await tksk.wait_for("kenapa diteruskan ke Dinas Sosial")
    await tksk.send_voice(duration=6)
    ask = await tksk.wait_for("Teruskan kasus")
    assert "alasan lewat pesan suara" in ask.text
    assert ask.buttons == ["✅ Ya, teruskan", "✏️ Ubah", "↩️ Batal"]
    await tksk.send("nanti")  # not a yes: the question again, nothing applied
    ask = await tksk.wait_for(lambda m: "Teruskan kasus" in m.content and m.message_id != ask.message_id)
    assert (await _case(sandbox, number)).state == CaseState.NEW
    await tksk.press("✏️ Ubah", message=ask)
    await tksk.wait_for(lambda m: "kenapa diteruskan" in m.content and bool(m.buttons))
    await tksk.send_voice(duration=7)
    ask = await tksk.wait_for(lambda m: "Teruskan kasus" in m.content and "pesan suara" in m.content
                              and bool(m.buttons))
    await tksk.send("ya")
    await tksk.wait_for(lambda m: m.message_id == alert.message_id and "Diteruskan ke Dinas Sosial" in m.content)
    card = await budi.wait_for("meneruskan kasus ini ke Dinas Sosial")
    assert "Alasan: 🎤 alasan lewat pesan suara" in card.text
    await budi.wait_for(lambda m: m.kind == "voice")  # the spoken reason reaches the caseworker
    await sandbox.settle()
    async with sandbox.ctx.session_factory() as s:
        event = await s.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "escalate"))
    assert event is not None and event.voice_file_id and event.note == "🎤 alasan lewat pesan suara"
    buttons = tksk.chat.messages[alert.message_id].buttons
    assert "⏫ Teruskan ke Dinas Sosial" not in buttons and "✅ Selesai" not in buttons and "✋ Ambil" not in buttons
    # The old confirmation's buttons are gone: pressing it again changes nothing.
    assert not tksk.chat.messages[ask.message_id].buttons


async def test_an_old_card_follows_the_case(sandbox: SandboxRun, people: People) -> None:
    """The alert card and a card opened from /kasus are the same case: acting on one edits the other, and a
    Dinas Sosial claim edits the TKSK's card too (only the buttons that now make sense)."""
    siti, tksk, budi = people.siti, people.tksk, people.budi
    number = await report(siti)
    alert = await tksk.wait_for(number)
    await sandbox.settle()
    await tksk.command("kasus")
    listing = await tksk.wait_for("Kasus terbuka di Palaran")
    await tksk.press("1", message=listing)
    card = await tksk.wait_for(lambda m: m.message_id == listing.message_id and "✋ Ambil" in m.buttons)
    await tksk.press("✋ Ambil", message=card)
    await tksk.wait_for(lambda m: m.message_id == card.message_id and "Sedang ditangani" in m.content)
    old = await tksk.wait_for(lambda m: m.message_id == alert.message_id and "Diperbarui" in m.content)
    assert "Sedang ditangani" in old.text and "✋ Ambil" not in old.buttons and "✅ Selesai" in old.buttons
    assert "Baru" not in old.text.split("\n")[3], "one state on the card"

    case = await _case(sandbox, number)
    await budi.command("antrian")
    queue = await budi.wait_for("Antrian kasus")
    await budi.press_callback(queue.message_id, f"case:claim:{case.id}:")
    await case_when(sandbox.ctx, case.id, lambda c: c.state == CaseState.WITH_DISSOS)
    await sandbox.settle()
    for message_id in (alert.message_id,):
        shown = tksk.chat.messages[message_id]
        assert "Diteruskan ke Dinas Sosial" in shown.content, shown.content
        assert "✅ Selesai" not in shown.buttons and "⏫ Teruskan ke Dinas Sosial" not in shown.buttons


async def test_taps_to_pass_a_case_on_with_a_preset_reason(sandbox: SandboxRun, people: People) -> None:
    """The TKSK's taps: ⏫, a preset reason, ✅ Yes = 3 (one more than before, the price of asking first)."""
    from sandbox.events import USER_UPDATE

    siti, tksk = people.siti, people.tksk
    number = await report(siti)
    alert = await tksk.wait_for(number)
    start = sandbox.emulator.world.events.last_seq
    await tksk.press("⏫ Teruskan ke Dinas Sosial", message=alert)
    await tksk.press("Penerima tidak bisa saya hubungi", message=await tksk.wait_for("kenapa diteruskan"))
    await tksk.press("✅ Ya, teruskan", message=await tksk.wait_for("Teruskan kasus"))
    await tksk.wait_for(lambda m: m.message_id == alert.message_id and "Diteruskan ke Dinas Sosial" in m.content)
    taps = sum(1 for ev in sandbox.emulator.world.events.since(start)
               if ev.kind == USER_UPDATE and ev.chat_id == tksk.id)
    assert taps == 3
    print(f"\nFIGURE TKSK taps to pass a case to Dinas Sosial with a preset reason: {taps}")
    case = await case_when(sandbox.ctx, (await _case(sandbox, number)).id, lambda c: c.state == CaseState.WITH_DISSOS)
    async with sandbox.ctx.session_factory() as s:
        note = await s.scalar(select(CaseEvent.note).where(CaseEvent.case_id == case.id,
                                                           CaseEvent.action == "escalate"))
    assert note == "Penerima tidak bisa saya hubungi"


async def test_the_scan_passing_a_case_on_edits_the_tksk_card(sandbox: SandboxRun, people: People) -> None:
    """Not taken in time: the deadline scan passes the case to Dinas Sosial, and the TKSK's alert card shows
    that, without the Take button (a press on it would only be refused)."""
    from datetime import timedelta

    from scheduler.runner import run_due

    siti, tksk = people.siti, people.tksk
    number = await report(siti)
    alert = await tksk.wait_for(number)
    assert "✋ Ambil" in alert.buttons
    await sandbox.settle()
    later = sandbox.ctx.clock.now() + timedelta(hours=25)
    sandbox.ctx.clock.set(later)  # type: ignore[attr-defined]
    assert (await run_due(sandbox.ctx, sandbox.app.messenger, later))["case_deadlines"] == 1
    await sandbox.settle()
    card = tksk.chat.messages[alert.message_id]
    assert "Diperbarui" in card.content and "Diteruskan ke Dinas Sosial" in card.content, card.content
    assert "✋ Ambil" not in card.buttons and "⏫ Teruskan ke Dinas Sosial" not in card.buttons
