"""A press in the check-in is answered in one round trip to Telegram (``bot.speaking.together``): the callback
answer, the edit of the pressed message and the next question leave at once, after the conversation state was
committed. With 100 ms to Telegram, three requests one after another kept the person waiting 300 ms per press
and held the update (its concurrency slot, its person's lock) that long (``bench/checkin_burst.py``)."""

from __future__ import annotations

from sqlalchemy import select

from db.models import FsmRecord
from sandbox.runner import SandboxRun
from tests.checkin.conftest import World


async def test_the_next_question_does_not_wait_for_the_callback_answer(sandbox: SandboxRun, world: World) -> None:
    siti = world.siti
    await siti.press_reply("📋 Lapor usaha")
    await siti.wait_for("Bagaimana usaha Anda sekarang?")
    # Telegram takes its time with the answer to the press (the spinner on the button): the question is not held.
    sandbox.emulator.inject_fault("hang", method="answerCallbackQuery", hang_seconds=12)
    await siti.press("✅ Masih jalan")
    await siti.wait_for("Berapa hari usaha buka", timeout=6)  # one after another: only after the 12 s
    edited = await siti.wait_for("Usaha: ", timeout=6)  # the pressed message shows the answer, no buttons
    assert not edited.buttons
    # Commit, then speak: what the question follows from was stored before it left.
    async with sandbox.ctx.session_factory() as s:
        states = list(await s.scalars(select(FsmRecord.state).where(FsmRecord.key.contains(str(siti.id)))))
    assert "Checkin:days" in states
    await sandbox.emulator.wait_until_processed(60)  # the answer, at last
