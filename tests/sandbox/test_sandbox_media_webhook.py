"""Files, photos, albums, voice, webhook delivery, flood control, fault injection, control API."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter, TelegramServerError
from aiogram.types import BufferedInputFile, InputMediaPhoto
from aiohttp import web
from PIL import Image

from sandbox import TelegramEmulator
from sandbox.media import make_jpeg, make_ogg_opus

pytestmark = pytest.mark.asyncio


async def test_person_photo_has_telegram_size_ladder(emu: TelegramEmulator, bot: Bot) -> None:
    alice = emu.person(1001, "Alice")
    await alice.send_photo(caption="KTP")
    [update] = await bot.get_updates(timeout=0)
    msg = update.message
    assert msg is not None and msg.caption == "KTP"
    sizes = msg.photo or []
    assert [max(s.width, s.height) for s in sizes] == [90, 320, 800, 1280]
    assert len({s.file_id for s in sizes}) == 4
    largest = sizes[-1]
    f = await bot.get_file(largest.file_id)
    assert f.file_size == largest.file_size and f.file_path
    buf = io.BytesIO()
    await bot.download_file(f.file_path, buf)
    img = Image.open(io.BytesIO(buf.getvalue()))
    assert img.format == "JPEG" and img.size == (largest.width, largest.height)


async def test_small_photo_is_not_upscaled(emu: TelegramEmulator, bot: Bot) -> None:
    alice = emu.person(1001, "Alice")
    await alice.send_photo(make_jpeg(200, 100, seed=1))
    [update] = await bot.get_updates(timeout=0)
    assert [(s.width, s.height) for s in update.message.photo] == [(90, 45), (200, 100)]


async def test_bot_upload_get_file_download(emu: TelegramEmulator, bot: Bot) -> None:
    alice = emu.person(1001, "Alice", started=True)
    doc = await bot.send_document(alice.id, BufferedInputFile(b"%PDF-1.4 hello", filename="form.pdf"),
                                  caption="Form")
    assert doc.document.file_name == "form.pdf" and doc.document.mime_type == "application/pdf"
    assert alice.last.media == b"%PDF-1.4 hello" and alice.last.caption == "Form"
    f = await bot.get_file(doc.document.file_id)
    buf = io.BytesIO()
    await bot.download_file(f.file_path, buf)
    assert buf.getvalue() == b"%PDF-1.4 hello"
    photo = await bot.send_photo(alice.id, BufferedInputFile(make_jpeg(1000, 500, seed=3), "p.jpg"))
    assert [p.width for p in photo.photo] == [90, 320, 800, 1000]
    again = await bot.send_photo(alice.id, photo.photo[-1].file_id)  # re-send by file_id
    assert again.photo[-1].file_id == photo.photo[-1].file_id
    voice = await bot.send_voice(alice.id, BufferedInputFile(make_ogg_opus(2), "v.ogg"), duration=2)
    assert voice.voice.duration == 2 and alice.last.media.startswith(b"OggS")
    emu.assert_no_violations()


async def test_bad_image_and_unknown_file_id(emu: TelegramEmulator, bot: Bot) -> None:
    from aiogram.exceptions import TelegramBadRequest

    alice = emu.person(1001, "Alice", started=True)
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(alice.id, BufferedInputFile(b"not a jpeg", "x.jpg"))
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(alice.id, "AgACdoesnotexist")
    emu.expect_violation(times=None)


async def test_media_group_with_attach(emu: TelegramEmulator, bot: Bot) -> None:
    from aiogram.exceptions import TelegramBadRequest

    alice = emu.person(1001, "Alice", started=True)
    media = [InputMediaPhoto(media=BufferedInputFile(make_jpeg(400, 300, seed=i), f"{i}.jpg"),
                             caption="Album" if i == 0 else None) for i in range(3)]
    sent = await bot.send_media_group(alice.id, media)
    assert len(sent) == 3 and len({m.media_group_id for m in sent}) == 1
    assert sent[0].caption == "Album" and len(alice.messages) == 3
    with pytest.raises(TelegramBadRequest, match="from 2 to 10"):
        await bot.send_media_group(alice.id, media[:1])
    emu.expect_violation("from 2 to 10")
    emu.assert_no_violations()


async def test_person_album_voice_document_sticker_forward(emu: TelegramEmulator, bot: Bot) -> None:
    alice = emu.person(1001, "Alice")
    bob = emu.person(1002, "Bob")
    await alice.send_album([None, None], caption="two")
    await alice.send_voice(duration=4)
    await alice.send_document(b"a,b\n1,2\n", "data.csv", "text/csv")
    await alice.send_sticker()
    await alice.forward_voice(bob)
    updates = await bot.get_updates(timeout=0)
    msgs = [u.message for u in updates]
    assert msgs[0].media_group_id == msgs[1].media_group_id and msgs[0].caption == "two"
    assert msgs[2].voice.duration == 4 and msgs[2].voice.mime_type == "audio/ogg"
    assert msgs[3].document.file_name == "data.csv"
    assert msgs[4].sticker.emoji == "👍"
    assert msgs[5].forward_origin.sender_user.id == bob.id
    # The bot forwards the voice note to a TKSK (Bob), who receives it as a forwarded message.
    bob.chat.started = True
    fwd = await bot.forward_message(bob.id, alice.id, msgs[5].message_id)
    assert fwd.voice is not None and bob.last.media.startswith(b"OggS")
    copy = await bot.copy_message(bob.id, alice.id, msgs[3].message_id, caption="copied")
    assert bob.last.message_id == copy.message_id and bob.last.caption == "copied"
    emu.assert_no_violations()


async def test_webhook_delivery_with_secret_and_retry(emu: TelegramEmulator, bot: Bot) -> None:
    received: list[tuple[dict[str, Any], str | None]] = []
    fail_first = {"left": 1}

    async def hook(request: web.Request) -> web.Response:
        if fail_first["left"]:
            fail_first["left"] -= 1
            return web.Response(status=500)
        received.append((await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return web.json_response({"method": "sendMessage", "chat_id": 1001, "text": "via webhook reply"})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        alice = emu.person(1001, "Alice")
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret_token")
        await alice.send("hello hook")
        await alice.wait_for("via webhook reply", timeout=5)
        await emu.wait_until_processed()
        assert received[0][0]["message"]["text"] == "hello hook"
        assert received[0][1] == "s3cret_token"
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        assert info.last_error_message and "500" in info.last_error_message
        await bot.delete_webhook(drop_pending_updates=True)
        assert (await bot.get_webhook_info()).url == ""
    finally:
        await runner.cleanup()
    emu.assert_no_violations()


async def test_flood_control_strict_mode(emu: TelegramEmulator, bot: Bot) -> None:
    alice = emu.person(1001, "Alice", started=True)
    emu.set_flood(True, per_chat_rate=1.0, per_chat_burst=3)
    for i in range(3):
        await bot.send_message(alice.id, f"m{i}")
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(alice.id, "too fast")
    assert exc.value.retry_after >= 1
    assert emu.stats["flood_429"] == 1
    emu.set_flood(False)
    await bot.send_message(alice.id, "fine again")
    emu.assert_no_violations()  # 429 is not a malformed request


async def test_global_flood_limit(emu: TelegramEmulator, bot: Bot) -> None:
    people = [emu.person(2000 + i, f"P{i}", started=True) for i in range(5)]
    emu.set_flood(True, global_rate=3.0, global_burst=3)
    results = []
    for p in people:
        try:
            await bot.send_message(p.id, "broadcast")
            results.append("ok")
        except TelegramRetryAfter:
            results.append("429")
    assert results == ["ok", "ok", "ok", "429", "429"]


async def test_fault_injection(emu: TelegramEmulator, bot: Bot) -> None:
    alice = emu.person(1001, "Alice", started=True)
    emu.inject_fault("429", method="sendMessage", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(alice.id, "x")
    assert exc.value.retry_after == 7
    await bot.send_message(alice.id, "x")  # only once

    emu.inject_fault("5xx", chat_id=alice.id, times=2, status=502)
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(alice.id, "y")
    await bot.send_message(alice.id, "y")

    fault = emu.inject_fault("deactivated", chat_id=alice.id, times=None)
    for _ in range(3):
        with pytest.raises(TelegramForbiddenError, match="user is deactivated"):
            await bot.send_message(alice.id, "z")
    emu.clear_faults(fault)
    emu.inject_fault("blocked", method="sendPhoto")
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_photo(alice.id, BufferedInputFile(make_jpeg(100, 100), "a.jpg"))

    emu.inject_fault("hang", method="sendMessage", hang_seconds=2)
    with pytest.raises(Exception):  # noqa: B017 - aiogram wraps the client time-out in several ways
        await bot.send_message(alice.id, "slow", request_timeout=1)
    assert emu.stats["faults_fired"] == 8
    emu.assert_no_violations()


async def test_control_api(emu: TelegramEmulator, echo_bot: Bot) -> None:
    base = f"{emu.base_url}/_emulator"
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{base}/people", json={"user_id": 77, "first_name": "Citra", "phone": "+62877"}) as r:
            assert (await r.json())["result"]["user_id"] == 77
        async with s.post(f"{base}/people/77/send", json={"text": "ping"}) as r:
            assert r.status == 200
        async with s.post(f"{base}/wait_idle", json={"timeout": 5}) as r:
            assert (await r.json())["ok"]
        async with s.get(f"{base}/people/77/messages") as r:
            assert [m["text"] for m in (await r.json())["result"]] == ["ping"]
        async with s.post(f"{base}/flood", json={"enabled": True, "per_chat_burst": 1}) as r:
            assert (await r.json())["result"]["enabled"] is True
        async with s.post(f"{base}/faults", json={"kind": "429", "method": "getMe"}) as r:
            assert (await r.json())["result"]["kind"] == "429"
        async with s.delete(f"{base}/faults") as r:
            assert r.status == 200
        async with s.get(f"{base}/stats") as r:
            stats = (await r.json())["result"]
            assert stats["requests"] > 0 and stats["flood_enabled"] is True
        async with s.get(f"{base}/events?since=0") as r:
            kinds = [e["kind"] for e in (await r.json())["result"]]
            assert "user_update" in kinds and "bot_message" in kinds
        async with s.post(f"{base}/people/999/send", json={"text": "x"}) as r:
            assert r.status == 404


async def test_chat_action_and_misc_methods(emu: TelegramEmulator, bot: Bot) -> None:
    from aiogram.exceptions import TelegramBadRequest
    from aiogram.types import MenuButtonCommands

    alice = emu.person(1001, "Alice", started=True)
    assert await bot.send_chat_action(alice.id, "typing")
    assert alice.chat_actions == ["typing"]
    assert await bot.set_chat_menu_button(chat_id=alice.id, menu_button=MenuButtonCommands())
    assert alice.menu_button == {"type": "commands"}
    assert await bot.set_my_description("Bantuan sosial", language_code="id")
    assert (await bot.get_my_description(language_code="id")).description == "Bantuan sosial"
    assert await bot.set_my_short_description("Bansos")
    chat = await bot.get_chat(alice.id)
    assert chat.first_name == "Alice" and chat.type == "private"
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await bot.send_chat_action(alice.id, "dancing")
    emu.expect_violation("wrong parameter action")
    emu.assert_no_violations()


async def test_many_updates_flow(emu: TelegramEmulator, echo_bot: Bot) -> None:
    people = [emu.person(3000 + i, f"P{i}") for i in range(20)]
    for round_ in range(5):
        await asyncio.gather(*(p.send(f"r{round_}") for p in people))
    await emu.wait_until_processed(timeout=10)
    assert all(len(p.messages) == 5 for p in people)
    emu.assert_no_violations()
