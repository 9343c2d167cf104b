"""Forbidden and stale buttons are refused on the server: an explanation, and nothing changes."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.context import AppContext
from db.enums import CaseState
from db.models import Case, CaseEvent, Recipient
from sandbox.people import Person
from sandbox.runner import SandboxRun
from services.cases.opening import open_case
from tests.cases.conftest import People, World, case_when


async def _open(ctx: AppContext, world: World) -> Case:
    async with ctx.session_factory.begin() as s:
        r = await s.get(Recipient, world.recipient.id)
        return (await open_case(s, recipient=r, kind="capital", description="Modal habis",
                                settings=ctx.settings, clock=ctx.clock)).case


async def _snapshot(ctx: AppContext, case_id: int) -> tuple[str, int]:
    async with ctx.session_factory() as s:
        case = await s.get(Case, case_id)
        events = await s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id))
        return case.state, events or 0


async def _press(sandbox: SandboxRun, person: Person, data: str) -> dict:  # type: ignore[type-arg]
    """Press a button with ``data`` on a message of the person's own chat (a forged or replayed press)."""
    await person.command("help")
    msg = await person.wait_for(None)
    await person.press_callback(msg.message_id, data)
    await sandbox.settle()
    return person.callback_answers[-1]


async def test_people_who_may_not_act_are_refused(sandbox: SandboxRun, people: People, world: World) -> None:
    ctx = sandbox.ctx
    case = await _open(ctx, world)
    before = await _snapshot(ctx, case.id)
    expectations = [
        (people.siti, f"case:take:{case.id}:", "tidak tersedia untuk Anda"),           # recipient, TKSK button
        (people.siti, f"case:resolve:{case.id}:", "tidak tersedia untuk Anda"),
        (people.other_tksk, f"case:take:{case.id}:", "bukan di kecamatan Anda"),      # TKSK elsewhere
        (people.other_tksk, f"case:call:{case.id}:", "bukan di kecamatan Anda"),      # no phone number either
        (people.other_tksk, f"case:hist:{case.id}:", "bukan di kecamatan Anda"),
        (people.psm, f"case:take:{case.id}:", "tidak tersedia untuk Anda"),           # PSM
        (people.psm, f"case:call:{case.id}:", "tidak tersedia untuk Anda"),
        (people.rahma, f"case:reopen:{case.id}:", "bukan laporan Anda"),              # not hers
        (people.tksk, "case:take:987654:", "Kasus ini tidak ada"),                     # forged id
        (people.tksk, f"case:auto_escalate:{case.id}:", "tidak tersedia untuk Anda"),  # system action
        (people.tksk, f"case:claim:{case.id}:", "tidak tersedia untuk Anda"),         # Dissos-only action
        (people.budi, f"case:take:{case.id}:", "tidak tersedia untuk Anda"),          # TKSK-only action
        (people.siti, "cq:p:0:0:::0:", "tidak tersedia untuk Anda"),                  # the queue
        (people.psm, f"cq:o:0:0:::{case.id}:", "tidak tersedia untuk Anda"),
        (people.other_tksk, f"cq:o:0:0:::{case.id}:", "bukan di kecamatan Anda"),
    ]
    for person, data, expected in expectations:
        answer = await _press(sandbox, person, data)
        assert answer.get("show_alert") is True, (person, data)
        assert expected in answer["text"], (person, data, answer)
    assert await _snapshot(ctx, case.id) == before
    assert not any("+6281234567890" in (m.text or "") for p in (people.other_tksk, people.psm) for m in p.messages)


async def test_stale_card_explains_and_shows_the_case_as_it_is(
    sandbox: SandboxRun, people: People, world: World
) -> None:
    ctx = sandbox.ctx
    case = await _open(ctx, world)
    await people.tksk.command("kasus")
    listing = await people.tksk.wait_for("Kasus terbuka di Palaran")
    await people.tksk.press("1", message=listing)
    card = await people.tksk.wait_for(lambda m: m.message_id == listing.message_id and case.number in m.content
                                      and "✋ Ambil" in m.buttons)
    # Dissos claims it meanwhile; the TKSK's card still shows "Take".
    await people.budi.press_callback((await _any(people.budi)).message_id, f"case:claim:{case.id}:")
    await case_when(ctx, case.id, lambda c: c.state == CaseState.WITH_DISSOS)
    await people.tksk.press("✋ Ambil", message=card)
    await sandbox.settle()
    answer = people.tksk.callback_answers[-1]
    assert answer["show_alert"] and 'sekarang "Diteruskan ke Dinas Sosial"' in answer["text"]
    refreshed = people.tksk.chat.messages[card.message_id]
    assert "✋ Ambil" not in refreshed.buttons and "Diteruskan ke Dinas Sosial" in refreshed.content
    assert "⬅️ Kembali ke daftar" in refreshed.buttons, "the way back to the list survives the refresh"
    assert (await _snapshot(ctx, case.id))[0] == CaseState.WITH_DISSOS


async def test_note_refused_when_the_case_moved_on_meanwhile(sandbox: SandboxRun, people: People, world: World) -> None:
    ctx = sandbox.ctx
    case = await _open(ctx, world)
    await people.tksk.command("kasus")
    listing = await people.tksk.wait_for("Kasus terbuka di Palaran")
    await people.tksk.press("1", message=listing)
    card = await people.tksk.wait_for(lambda m: m.message_id == listing.message_id and "✅ Selesai" in m.buttons)
    await people.tksk.press("✅ Selesai", message=card)
    await people.tksk.wait_for("bagaimana masalahnya diselesaikan")
    await people.budi.press_callback((await _any(people.budi)).message_id, f"case:claim:{case.id}:")
    await case_when(ctx, case.id, lambda c: c.state == CaseState.WITH_DISSOS)
    before = await _snapshot(ctx, case.id)
    await people.tksk.send("Sudah beres")
    await people.tksk.press("✅ Ya, selesai", message=await people.tksk.wait_for("Tandai kasus"))
    reply = await people.tksk.wait_for("Tidak ada yang disimpan")
    assert "sudah tidak berlaku" in reply.text
    assert await _snapshot(ctx, case.id) == before


async def _any(person: Person):  # type: ignore[no-untyped-def]
    await person.command("help")
    return await person.wait_for(None)
