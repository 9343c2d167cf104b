"""Conversations through a real aiogram Dispatcher polling the emulator."""

from __future__ import annotations

import asyncio
from datetime import UTC

import pytest
from aiogram import Bot

from sandbox import TelegramEmulator

pytestmark = pytest.mark.asyncio


async def test_echo_round_trip(emu: TelegramEmulator, echo_bot: Bot) -> None:
    alice = emu.person(1001, "Alice", language_code="id", phone="+628121111")
    await alice.send("halo")
    reply = await alice.wait_for("halo")
    assert reply.text == "halo" and reply.outgoing
    await emu.wait_until_processed()
    assert [m.text for m in alice.messages] == ["halo"]
    emu.assert_no_violations()


async def test_start_renders_html_and_inline_press(emu: TelegramEmulator, echo_bot: Bot) -> None:
    alice = emu.person(1001, "Alice")
    await alice.command("start")
    welcome = await alice.wait_for("Welcome")
    assert welcome.text == "Welcome, choose:"
    assert welcome.raw_text == "<b>Welcome</b>, choose:"
    assert welcome.entities == [{"type": "bold", "offset": 0, "length": 7}]
    assert welcome.buttons == ["Yes", "No"]

    await alice.press("Yes")
    edited = await alice.wait_for("You chose yes")
    assert edited is welcome and edited.edited
    assert edited.history[0]["data"]["text"] == "Welcome, choose:"
    assert edited.buttons == []  # editMessageText without reply_markup drops the keyboard, as Telegram does
    await emu.wait_until_processed()
    assert alice.callback_answers[-1]["text"] == "Noted"
    emu.assert_no_violations()


async def test_edit_history(emu: TelegramEmulator, echo_bot: Bot) -> None:
    alice = emu.person(1001, "Alice")
    await alice.command("edit")
    msg = await alice.wait_for("final")
    assert [h["data"]["text"] for h in msg.history] == ["draft"]
    assert "edit_date" in msg.data
    emu.assert_no_violations()


async def test_stale_callback_answer_is_violation(emu: TelegramEmulator, echo_bot: Bot) -> None:
    alice = emu.person(1001, "Alice")
    await alice.command("start")
    welcome = await alice.wait_for("Welcome")
    # A forged press on a message that does not exist: the bot answers fine but its edit fails.
    emu.expect_violation("message to edit not found")
    await alice.press_callback(welcome.message_id + 50, "answer:no")
    await emu.wait_until_processed()
    assert [v.description for v in emu.violations] == ["Bad Request: message to edit not found"]
    emu.assert_no_violations()  # it was expected


async def test_long_poll_returns_promptly(emu: TelegramEmulator, bot: Bot) -> None:
    alice = emu.person(1001, "Alice")
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    assert not poll.done()
    await alice.send("wake up")
    updates = await asyncio.wait_for(poll, 2)
    assert loop.time() - started < 1.5
    assert [u.message.text for u in updates if u.message] == ["wake up"]
    # offset confirms
    again = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert again == []
    assert emu.bot.updates.pending == 0


async def test_long_poll_timeout_empty(emu: TelegramEmulator, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 <= loop.time() - t0 < 2.0


async def test_allowed_updates_filter(emu: TelegramEmulator, bot: Bot) -> None:
    alice = emu.person(1001, "Alice")
    await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    await alice.send("ignored")
    assert await bot.get_updates(timeout=0) == []


async def test_wait_until_processed_times_out_without_poller(emu: TelegramEmulator) -> None:
    alice = emu.person(1001, "Alice")
    await alice.send("anyone?")
    with pytest.raises(TimeoutError):
        await emu.wait_until_processed(timeout=0.3)


async def test_commands_per_chat_scope(emu: TelegramEmulator, bot: Bot) -> None:
    from aiogram.types import BotCommand, BotCommandScopeChat

    alice = emu.person(1001, "Alice", language_code="id")
    bob = emu.person(1002, "Bob", language_code="en")
    await alice.send("hi")
    await bot.set_my_commands([BotCommand(command="start", description="Mulai")])
    await bot.set_my_commands([BotCommand(command="report", description="Lapor")],
                              scope=BotCommandScopeChat(chat_id=alice.id))
    await bot.set_my_commands([BotCommand(command="start", description="Start")], language_code="en")
    assert [c["command"] for c in alice.commands] == ["report"]
    assert bob.commands == [{"command": "start", "description": "Start"}]
    got = await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=alice.id))
    assert [c.command for c in got] == ["report"]
    await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=alice.id))
    assert alice.commands == [{"command": "start", "description": "Mulai"}]
    emu.assert_no_violations()


async def test_reply_keyboard_contact_and_location(emu: TelegramEmulator, bot: Bot) -> None:
    from aiogram.types import KeyboardButton, ReplyKeyboardMarkup

    alice = emu.person(1001, "Alice", phone="+6281234567")
    await alice.send("hi")
    kb = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Share phone", request_contact=True)],
                                       [KeyboardButton(text="Where", request_location=True),
                                        KeyboardButton(text="Help")]])
    await bot.send_message(alice.id, "Please share", reply_markup=kb)
    assert alice.reply_keyboard == [["Share phone"], ["Where", "Help"]]
    contact = await alice.press_reply("Share phone")
    assert contact.data["contact"]["phone_number"] == "+6281234567"
    assert contact.data["contact"]["user_id"] == alice.id
    loc = await alice.press_reply("Where")
    assert "location" in loc.data
    txt = await alice.press_reply("Help")
    assert txt.text == "Help"
    with pytest.raises(LookupError):
        await alice.press_reply("Nope")
    updates = await bot.get_updates(timeout=0)
    kinds = [("contact" if u.message.contact else "location" if u.message.location else u.message.text)
             for u in updates if u.message]
    assert kinds == ["hi", "contact", "location", "Help"]


async def test_bot_cannot_write_first_and_blocked(emu: TelegramEmulator, bot: Bot) -> None:
    from aiogram.exceptions import TelegramForbiddenError

    alice = emu.person(1001, "Alice")
    with pytest.raises(TelegramForbiddenError, match="can't initiate"):
        await bot.send_message(alice.id, "hello")
    await alice.send("hi")
    alice.block()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(alice.id, "hello")
    updates = await bot.get_updates(timeout=0)
    assert updates[-1].my_chat_member is not None
    assert updates[-1].my_chat_member.new_chat_member.status == "kicked"
    emu.assert_no_violations()  # 403s are life, not bot mistakes


async def test_subscribe_sees_both_directions(emu: TelegramEmulator, echo_bot: Bot) -> None:
    seen: list[str] = []
    emu.subscribe(lambda ev: seen.append(ev.kind))
    alice = emu.person(1001, "Alice")
    await alice.send("x")
    await alice.wait_for("x")
    assert seen[:2] == ["user_update", "bot_message"]


async def test_injected_clock(emu: TelegramEmulator, bot: Bot) -> None:
    from datetime import datetime

    fixed = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    emu2 = TelegramEmulator(clock=lambda: fixed)
    emu2.add_bot("1:" + "a" * 30, "b")
    await emu2.start()
    try:
        p = emu2.person(5, "P")
        m = await p.send("t")
        assert m.date == int(fixed.timestamp())
    finally:
        await emu2.stop()
