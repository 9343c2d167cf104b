"""Voice notes play in the desk: fetched from Telegram through the bot (getFile + download, no transaction open),
kept on disk, served as OGG/Opus to those who may see the case or the recipient, and every play audited."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import bot.speaking
from bot.context import AppContext
from db.enums import CaseKind, Urgency
from db.models import AuditLog, Case, Checkin, Recipient
from sandbox.media import make_ogg_opus
from sandbox.runner import SandboxRun
from services import voice
from services.cases.opening import open_case
from tests.web.conftest import Desk, People, World


def _voice_file(sandbox: SandboxRun, seconds: int = 3) -> tuple[str, bytes]:
    """A voice note as Telegram holds it (what a recipient's message would carry): its file_id and bytes."""
    data = make_ogg_opus(seconds, seed=seconds)
    f = sandbox.emulator.world.files.add(data, "voice", "oga", mime_type="audio/ogg", duration=seconds)
    return f.file_id, data


async def _case_with_voice(ctx: AppContext, recipient: Recipient, file_id: str) -> Case:
    async with ctx.session_factory.begin() as s:
        r = await s.get(Recipient, recipient.id)
        opened = await open_case(s, recipient=r, kind=CaseKind.EQUIPMENT, urgency=Urgency.NORMAL,
                                 description=None, voice_file_id=file_id, settings=ctx.settings, clock=ctx.clock)
        return opened.case


def _get_file_calls(sandbox: SandboxRun) -> int:
    return sandbox.emulator.stats["by_method"].get("getFile", 0)


async def _plays(ctx: AppContext, target: str) -> int:
    async with ctx.session_factory() as s:
        return await s.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "desk.voice_played", AuditLog.target == target)) or 0


async def test_a_case_voice_note_plays_on_the_case_page_fetched_once_and_audited(
    desk: Desk, people: People, world: World, ctx: AppContext, sandbox: SandboxRun,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bot.speaking, "STRICT_OUTSIDE_UPDATES", True)  # a transaction open at getFile fails
    file_id, data = _voice_file(sandbox)
    case = await _case_with_voice(ctx, world.recipient, file_id)
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get(f"/cases/{case.id}") as page:
            html = await page.text()
        assert f'<audio class="voice" controls preload="metadata" src="/media/voice/case/{case.id}">' in html
        before = _get_file_calls(sandbox)
        async with client.get(f"/media/voice/case/{case.id}") as answer:
            assert answer.status == 200, await answer.text()
            assert answer.headers["Content-Type"] == "audio/ogg"
            assert await answer.read() == data
        assert _get_file_calls(sandbox) == before + 1
        assert voice.cached(ctx.settings.storage.media_dir, file_id) is not None
        # Played again: from the disk, not from Telegram. A later byte range is the same play: not audited.
        async with client.get(f"/media/voice/case/{case.id}", headers={"Range": "bytes=0-"}) as answer:
            assert answer.status == 206 and await answer.read() == data
        async with client.get(f"/media/voice/case/{case.id}", headers={"Range": "bytes=100-"}) as answer:
            assert answer.status == 206 and await answer.read() == data[100:]
        assert _get_file_calls(sandbox) == before + 1
    assert await _plays(ctx, f"case:{case.id}") == 2


async def test_another_kecamatans_tksk_cannot_play_it_and_nothing_is_fetched(
    desk: Desk, people: People, world: World, ctx: AppContext, sandbox: SandboxRun
) -> None:
    file_id, data = _voice_file(sandbox)
    case = await _case_with_voice(ctx, world.recipient, file_id)
    before = _get_file_calls(sandbox)
    outsider = await desk.signed_in(people.other_tksk)
    async with outsider:
        async with outsider.get(f"/media/voice/case/{case.id}") as answer:
            assert answer.status == 404
            assert answer.headers["Content-Type"].startswith("text/html")
        async with outsider.get(f"/cases/{case.id}") as page:
            assert page.status == 404
    assert _get_file_calls(sandbox) == before
    assert await _plays(ctx, f"case:{case.id}") == 0
    own = await desk.signed_in(people.tksk)  # the TKSK of the case's kecamatan (read-only) may listen
    async with own:
        async with own.get(f"/media/voice/case/{case.id}") as answer:
            assert answer.status == 200 and await answer.read() == data


async def test_a_check_in_voice_note_plays_on_the_recipients_timeline(
    desk: Desk, people: People, world: World, ctx: AppContext, sandbox: SandboxRun
) -> None:
    file_id, data = _voice_file(sandbox, 5)
    async with ctx.session_factory.begin() as s:
        checkin = Checkin(recipient_id=world.recipient.id, status="active", days_open=5, voice_file_id=file_id,
                          submitted_at=ctx.clock.now())
        s.add(checkin)
        await s.flush()
        checkin_id = checkin.id
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get(f"/people/{world.recipient.id}") as page:
            assert f'src="/media/voice/checkin/{checkin_id}"' in await page.text()
        async with client.get(f"/media/voice/checkin/{checkin_id}") as answer:
            assert answer.status == 200 and await answer.read() == data
    outsider = await desk.signed_in(people.other_tksk)
    async with outsider:
        async with outsider.get(f"/media/voice/checkin/{checkin_id}") as answer:
            assert answer.status == 404
    assert await _plays(ctx, f"checkin:{checkin_id}") == 1


async def test_a_voice_note_telegram_no_longer_has_is_a_clear_error(
    desk: Desk, people: People, world: World, ctx: AppContext, sandbox: SandboxRun
) -> None:
    sandbox.emulator.expect_violation("invalid file_id", method="getFile")
    case = await _case_with_voice(ctx, world.recipient, "AgACVOforgotten")
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get(f"/media/voice/case/{case.id}") as answer:
            assert answer.status == 502
            assert "Telegram tidak memberikan pesan suara ini" in await answer.text()


async def test_a_voice_reason_in_the_case_history_plays_for_those_who_may_see_the_case(
    desk: Desk, people: People, world: World, ctx: AppContext, sandbox: SandboxRun
) -> None:
    from db.models import CaseEvent

    file_id, data = _voice_file(sandbox, 2)
    case = await _case_with_voice(ctx, world.recipient, None)  # type: ignore[arg-type]
    async with ctx.session_factory.begin() as s:
        event = CaseEvent(case_id=case.id, at=ctx.clock.now(), actor="Nurhayati (tksk)", action="escalate",
                          voice_file_id=file_id)
        s.add(event)
        await s.flush()
        event_id = event.id
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get(f"/cases/{case.id}") as page:
            html = await page.text()
        assert f'src="/media/voice/event/{event_id}"' in html and "/media/voice/case/" not in html
        async with client.get(f"/media/voice/event/{event_id}") as answer:
            assert answer.status == 200 and await answer.read() == data
        async with client.get(f"/media/voice/case/{case.id}") as answer:
            assert answer.status == 404  # the case itself has no voice note
    outsider = await desk.signed_in(people.other_tksk)
    async with outsider:
        async with outsider.get(f"/media/voice/event/{event_id}") as answer:
            assert answer.status == 404
    assert await _plays(ctx, f"case_event:{event_id}") == 1


async def test_a_case_round_video_plays_on_the_case_page_for_those_who_may_see_it(
    desk: Desk, people: People, world: World, ctx: AppContext, sandbox: SandboxRun,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bot.speaking, "STRICT_OUTSIDE_UPDATES", True)
    data = b"\x00\x00\x00\x18ftypmp42" + bytes(range(200))  # an MP4 as Telegram holds a video_note
    video = sandbox.emulator.world.files.add(data, "video_note", "mp4", mime_type="video/mp4", duration=5)
    async with ctx.session_factory.begin() as s:
        r = await s.get(Recipient, world.recipient.id)
        case = (await open_case(s, recipient=r, kind=CaseKind.EQUIPMENT, urgency=Urgency.NORMAL, description=None,
                                video_note_file_id=video.file_id, settings=ctx.settings, clock=ctx.clock)).case
    outsider = await desk.signed_in(people.other_tksk)
    async with outsider:
        async with outsider.get(f"/media/video/case/{case.id}") as answer:
            assert answer.status == 404
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get(f"/cases/{case.id}") as page:
            html = await page.text()
        assert f'<video class="video-note" controls preload="metadata" src="/media/video/case/{case.id}">' in html
        assert "/media/voice/case/" not in html  # no voice note on this case
        async with client.get(f"/media/video/case/{case.id}") as answer:
            assert answer.status == 200 and answer.headers["Content-Type"] == "video/mp4"
            assert await answer.read() == data
    assert voice.cached(ctx.settings.storage.media_dir, video.file_id, "video") is not None
    async with ctx.session_factory() as s:
        plays = await s.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "desk.video_played", AuditLog.target == f"case:{case.id}"))
    assert plays == 1
    assert voice.forget(ctx.settings.storage.media_dir, [video.file_id]) == 1  # anonymising removes the copy
