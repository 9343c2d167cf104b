"""Requests Telegram would refuse are refused and recorded as violations."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramUnauthorizedError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from sandbox import TelegramEmulator

pytestmark = pytest.mark.asyncio


async def raw(emu: TelegramEmulator, method: str, *, json_body: Any = None, data: Any = None,
              token: str | None = None, http: str = "POST") -> tuple[int, dict[str, Any]]:
    token = token or emu.bot.token
    async with aiohttp.ClientSession() as s:
        async with s.request(http, f"{emu.base_url}/bot{token}/{method}", json=json_body, data=data) as r:
            return r.status, await r.json()


@pytest.fixture
def alice(emu: TelegramEmulator):  # type: ignore[no-untyped-def]
    p = emu.person(1001, "Alice", started=True)
    return p


async def test_missing_required_param(emu: TelegramEmulator, alice: Any) -> None:
    status, body = await raw(emu, "sendMessage", json_body={"chat_id": alice.id})
    assert status == 400
    assert body == {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
    status, body = await raw(emu, "deleteMessage", json_body={"chat_id": alice.id})
    assert body["description"] == "Bad Request: message_id is empty"
    assert len(emu.violations) == 2
    with pytest.raises(AssertionError, match="message text is empty"):
        emu.assert_no_violations()


async def test_wrong_type(emu: TelegramEmulator, alice: Any) -> None:
    status, body = await raw(emu, "sendMessage", json_body={"chat_id": alice.id, "text": {"a": 1}})
    assert status == 400 and "text" in body["description"]
    status, body = await raw(emu, "deleteMessage", data={"chat_id": str(alice.id), "message_id": "abc"})
    assert status == 400 and "message_id" in body["description"]
    status, body = await raw(emu, "sendMessage", json_body={
        "chat_id": alice.id, "text": "x", "reply_markup": {"inline_keyboard": [[{"text": 5, "callback_data": []}]]}})
    assert status == 400 and "inline_keyboard[0][0]" in body["description"]
    assert [v.error_code for v in emu.violations] == [400, 400, 400]


async def test_form_values_are_coerced_like_telegram(emu: TelegramEmulator, alice: Any) -> None:
    markup = json.dumps({"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]})
    status, body = await raw(emu, "SENDMESSAGE", data={"chat_id": str(alice.id), "text": "hi",
                                                       "disable_notification": "true", "reply_markup": markup,
                                                       "unknown_param": "ignored"})
    assert status == 200 and body["ok"], body
    assert alice.last.buttons == ["A"]
    status, body = await raw(emu, "getMe", http="GET")
    assert body["result"]["username"] == "aid_test_bot"
    emu.assert_no_violations()


async def test_too_long_text_and_caption(emu: TelegramEmulator, bot: Bot, alice: Any) -> None:
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(alice.id, "x" * 4097)
    await bot.send_message(alice.id, "x" * 4096)
    # Emoji outside the BMP count twice (UTF-16), like Telegram's entity offsets.
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(alice.id, "😀" * 2049)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(alice.id, "   ")
    assert len(emu.violations) == 3


async def test_callback_data_over_64_bytes(emu: TelegramEmulator, bot: Bot, alice: Any) -> None:
    kb = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="é" * 33)]])
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(alice.id, "pick", reply_markup=kb)
    assert emu.violations[-1].description == "Bad Request: BUTTON_DATA_INVALID"
    assert alice.messages == []


async def test_inline_button_needs_exactly_one_action(emu: TelegramEmulator, alice: Any) -> None:
    for button in ({"text": "no action"}, {"text": "two", "url": "https://x.org", "callback_data": "d"}):
        status, body = await raw(emu, "sendMessage", json_body={
            "chat_id": alice.id, "text": "x", "reply_markup": {"inline_keyboard": [[button]]}})
        assert status == 400 and "inline keyboard button" in body["description"]


async def test_edit_missing_and_not_modified(emu: TelegramEmulator, bot: Bot, alice: Any) -> None:
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(chat_id=alice.id, message_id=999, text="new")
    sent = await bot.send_message(alice.id, "same")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(chat_id=alice.id, message_id=sent.message_id, text="same")
    user_msg = await alice.send("mine")
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text(chat_id=alice.id, message_id=user_msg.message_id, text="x")
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(alice.id, 12345)
    assert await bot.delete_message(alice.id, sent.message_id)
    assert alice.messages[0].deleted and alice.last is None
    assert len(emu.violations) == 4


async def test_edit_reply_markup_and_caption(emu: TelegramEmulator, bot: Bot, alice: Any) -> None:
    kb = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="a")]])
    sent = await bot.send_message(alice.id, "t", reply_markup=kb)
    await bot.edit_message_reply_markup(chat_id=alice.id, message_id=sent.message_id, reply_markup=None)
    assert alice.last.buttons == []
    with pytest.raises(TelegramBadRequest, match="there is no caption"):
        await bot.edit_message_caption(chat_id=alice.id, message_id=sent.message_id, caption="c")
    emu.expect_violation("no caption")
    emu.assert_no_violations()


async def test_unknown_chat_method_token(emu: TelegramEmulator, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(424242, "hi")
    status, body = await raw(emu, "sendTelepathy", json_body={})
    assert (status, body["description"]) == (404, "Not Found")
    status, body = await raw(emu, "getMe", token="1:wrong")
    assert (status, body["description"]) == (401, "Unauthorized")
    other = Bot("999:" + "b" * 35, session=bot.session)
    with pytest.raises(TelegramUnauthorizedError):
        await other.get_me()
    assert {v.error_code for v in emu.violations} == {400, 404, 401}


async def test_unimplemented_spec_method_validated_then_true(emu: TelegramEmulator, alice: Any) -> None:
    status, body = await raw(emu, "setMessageReaction", json_body={"chat_id": alice.id, "message_id": 1})
    assert body == {"ok": True, "result": True}
    status, body = await raw(emu, "banChatMember", json_body={"chat_id": alice.id})
    assert status == 400 and body["description"] == "Bad Request: user_id is empty"


async def test_html_parse_errors(emu: TelegramEmulator, bot: Bot, alice: Any) -> None:
    for text, fragment in [("<b>bold", "Can't find end tag"), ("<div>x</div>", 'Unsupported start tag "div"'),
                           ("<b><i>x</b></i>", "Unmatched end tag")]:
        with pytest.raises(TelegramBadRequest, match="can't parse entities") as exc:
            await bot.send_message(alice.id, text, parse_mode="HTML")
        assert fragment in str(exc.value)
    ok = await bot.send_message(alice.id, 'a &lt; b <a href="https://x.org">link</a> <tg-spoiler>s</tg-spoiler>',
                                parse_mode="HTML")
    assert ok.text == "a < b link s"
    assert [e.type for e in ok.entities or []] == ["text_link", "spoiler"]
    with pytest.raises(TelegramBadRequest, match="reserved and must be escaped"):
        await bot.send_message(alice.id, "Total: 5.", parse_mode="MarkdownV2")
    assert (await bot.send_message(alice.id, r"*Total:* 5\.", parse_mode="MarkdownV2")).text == "Total: 5."
    assert len(emu.violations) == 4


async def test_callback_query_answer_rules(emu: TelegramEmulator, bot: Bot, alice: Any) -> None:
    sent = await bot.send_message(alice.id, "q", reply_markup=InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Go", callback_data="go")]]))
    qid = await alice.press("Go")
    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(qid, text="x" * 201)
    assert await bot.answer_callback_query(qid, text="ok")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(qid)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("123")
    assert alice.callback_answers == [{"callback_query_id": qid, "text": "ok"}]
    updates = await bot.get_updates(timeout=0)
    assert updates[-1].callback_query.data == "go"
    assert updates[-1].callback_query.message.message_id == sent.message_id
    with pytest.raises(LookupError):
        await alice.press("Missing")


async def test_set_my_commands_limits(emu: TelegramEmulator, alice: Any) -> None:
    status, body = await raw(emu, "setMyCommands", json_body={"commands": [{"command": "Bad-Cmd", "description": "d"}]})
    assert body["description"] == "Bad Request: BOT_COMMAND_INVALID"
    cmds = [{"command": f"c{i}", "description": "d"} for i in range(101)]
    status, body = await raw(emu, "setMyCommands", json_body={"commands": cmds})
    assert body["description"] == "Bad Request: too many commands"
    status, body = await raw(emu, "setMyCommands", json_body={
        "commands": [{"command": "ok", "description": "d"}], "scope": {"type": "galaxy"}})
    assert status == 400 and "scope" in body["description"]


async def test_webhook_blocks_get_updates(emu: TelegramEmulator, bot: Bot) -> None:
    from aiogram.exceptions import TelegramConflictError

    await bot.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == []
    assert len(emu.violations) == 1
