"""The bot core end to end: the real application polling the emulator over HTTP."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

import handlers.common
from db.enums import StaffRole
from sandbox.people import Person
from sandbox.runner import SandboxRun
from tests import factories


async def test_unknown_person_start_explains_how_to_join(sandbox: SandboxRun) -> None:
    stranger = sandbox.person(900001, "Asing")
    await stranger.command("start")
    reply = await stranger.wait_for("bergabung")
    assert "/start NIK TANGGAL-LAHIR" in reply.text
    # Default menu for people the bot does not know yet.
    assert [c["command"] for c in stranger.commands][:1] == ["start"]


@pytest.mark.parametrize(
    ("kind", "expected", "command"),
    [
        ("recipient", "Lapor usaha", "lapor"),
        ("tksk", "/penerima", "penerima"),
        ("caseworker", "/antrian", "antrian"),
        ("admin", "/undang", "undang"),
    ],
)
async def test_help_per_role_and_chat_commands(sandbox: SandboxRun, kind: str, expected: str, command: str) -> None:
    ctx = sandbox.ctx
    async with ctx.session_factory.begin() as s:
        if kind == "recipient":
            r = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings)
            await factories.link(s, ctx.clock, 900010, recipient=r)
        elif kind == "tksk":
            w = await factories.worker(s, ctx.cipher, ctx.clock)
            await factories.link(s, ctx.clock, 900010, worker=w)
        else:
            role = StaffRole.ADMIN if kind == "admin" else StaffRole.CASEWORKER
            st = await factories.staff(s, ctx.clock, role=role)
            await factories.link(s, ctx.clock, 900010, staff=st)
    person = sandbox.person(900010, "Orang")
    await person.command("help")
    reply = await person.wait_for(expected)
    assert expected in reply.text
    await sandbox.settle()
    assert command in [c["command"] for c in person.commands], "the chat's command menu follows the role"


async def test_language_switch_is_remembered(sandbox: SandboxRun) -> None:
    person = sandbox.person(900020, "Ana")
    await person.command("bahasa")
    await person.wait_for("Pilih bahasa")
    await person.press("🇬🇧 English")
    await person.wait_for("Language set to English.")
    await person.command("help")
    reply = await person.wait_for("To join, open the invitation link")
    assert "Hello!" in reply.text
    await person.command("bahasa")
    await person.wait_for("Choose your language")
    await person.press("🇮🇩 Bahasa Indonesia")
    await person.wait_for("Bahasa diganti ke Bahasa Indonesia.")


async def _active_recipient(sandbox: SandboxRun, user_id: int, name: str) -> Person:
    ctx = sandbox.ctx
    async with ctx.session_factory.begin() as s:
        r = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings)
        await factories.link(s, ctx.clock, user_id, recipient=r)
    return sandbox.person(user_id, name)


async def test_unexpected_input_gets_a_helpful_reply(sandbox: SandboxRun) -> None:
    person = await _active_recipient(sandbox, 900030, "Siti")
    await person.send_sticker()
    reply = await person.wait_for("tidak bisa saya pakai")
    assert reply.reply_keyboard[0][0] == "📋 Lapor usaha", "an active recipient is shown the main menu again"
    await person.send("asdfgh")  # kept and asked about (#17 §1), never "not understood"
    await person.wait_for("Mau diapakan?")
    await person.press("✖️ Tidak keduanya")
    await person.command("antrian")
    await person.wait_for("tidak tersedia untuk Anda")
    stranger = sandbox.person(900031, "X")
    await stranger.send_photo()
    await stranger.wait_for("tidak bisa saya pakai")


async def test_main_menu_comes_in_the_persons_language(sandbox: SandboxRun) -> None:
    """The menu is built once per language and shared: after a switch it comes in the new one, and back."""
    person = await _active_recipient(sandbox, 900032, "Rina")
    steps = [("🇬🇧 English", "cannot use this", "📋 Report my business"),
             ("🇮🇩 Bahasa Indonesia", "tidak bisa saya pakai", "📋 Lapor usaha")]
    for button, reply_text, first_menu_button in steps:
        await person.command("bahasa")
        await person.press(button, message=await person.wait_for(lambda m, b=button: m.find_button(b) is not None))
        await person.send_sticker()
        reply = await person.wait_for(reply_text)
        assert reply.reply_keyboard[0][0] == first_menu_button


async def test_stale_or_forged_button_changes_nothing(sandbox: SandboxRun) -> None:
    person = sandbox.person(900040, "Y")
    await person.command("help")
    msg = await person.wait_for("bergabung")
    await person.press_callback(msg.message_id if hasattr(msg, "message_id") else msg.data["message_id"],
                                "case:take:1")
    await sandbox.settle()
    assert person.callback_answers[-1].get("show_alert") is True
    assert "tidak berlaku" in person.callback_answers[-1]["text"]


async def test_handler_failure_apologises_and_bot_goes_on(
    sandbox: SandboxRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(role):  # type: ignore[no-untyped-def]
        raise RuntimeError("simulated bug with 6472050809768748")

    monkeypatch.setattr(handlers.common, "help_text", broken)
    person = sandbox.person(900050, "Z")
    await person.command("help")
    await person.wait_for("Maaf, ada gangguan")
    monkeypatch.undo()
    await person.command("help")
    await person.wait_for("bergabung")


async def test_settle_waits_for_a_handler_that_makes_no_api_call(sandbox: SandboxRun) -> None:
    """A handler busy in the database longer than the quiet period is still "not done" for ``settle``."""
    assert sandbox.app is not None

    async def slow(handler, event, data):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.6)  # more than twice settle's quiet period, without a request to the emulator
        return await handler(event, data)

    sandbox.app.dp.update.outer_middleware(slow)
    person = sandbox.person(900060, "Lambat")
    await person.command("help")
    await sandbox.settle()
    assert any("bergabung" in t for t in person.texts), "settle returned before the bot answered"


async def test_conversation_state_survives_a_restart(sandbox: SandboxRun) -> None:
    from aiogram.fsm.storage.base import StorageKey

    person = sandbox.person(900060, "W")
    await person.command("start")
    await sandbox.settle()
    bot_id = int(sandbox.ctx.settings.telegram.token.split(":")[0])
    key = StorageKey(bot_id=bot_id, chat_id=900060, user_id=900060)
    await sandbox.app.dp.storage.set_state(key, "SomeFlow:waiting")
    await sandbox.app.dp.storage.set_data(key, {"step": 2})
    await sandbox.restart_bot()  # a fresh process: empty caches, state only in the database
    assert await sandbox.app.dp.storage.get_state(key) == "SomeFlow:waiting"
    assert await sandbox.app.dp.storage.get_data(key) == {"step": 2}
    await person.send("hello")
    await person.wait_for("Jawab dengan tombol pertanyaan terakhir")
    await person.command("batal")
    await person.wait_for("Dibatalkan")
    assert await sandbox.app.dp.storage.get_state(key) is None


async def test_emulator_refusal_fails_the_test(sandbox: SandboxRun) -> None:
    """The bot's requests are checked: a message Telegram would reject is recorded as a violation."""
    from aiogram.exceptions import TelegramBadRequest

    person = sandbox.person(900070, "V")
    with pytest.raises(TelegramBadRequest):
        await sandbox.app.bot.send_message(person.id, "x" * 4097)
    with pytest.raises(AssertionError):
        sandbox.emulator.assert_no_violations()
    sandbox.emulator.clear_violations()


async def test_webhook_mode_refuses_a_wrong_or_missing_secret(ctx) -> None:  # type: ignore[no-untyped-def]
    run = await SandboxRun.start(ctx, mode="webhook")
    try:
        person = run.person(900080, "U")
        await person.command("help")
        await person.wait_for("bergabung")  # delivered by the emulator's webhook with the right secret
        tg = ctx.settings.telegram
        url = f"http://127.0.0.1:{tg.webhook_port}{tg.webhook_path}"
        forged = {"update_id": 777, "message": {"message_id": 1, "date": 0, "text": "/help",
                                                "chat": {"id": 900081, "type": "private"},
                                                "from": {"id": 900081, "is_bot": False, "first_name": "F"}}}
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=forged) as resp:
                assert resp.status == 401
            async with http.post(url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as resp:
                assert resp.status == 401
        await run.settle()
        intruder = run.emulator.find_person(900081)
        assert intruder is None or not intruder.messages, "a forged update must not be processed"
        run.emulator.assert_no_violations()
    finally:
        await run.stop()
