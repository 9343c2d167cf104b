"""Limits the Bot API states only in prose, checked in code.

Why: the JSON spec says ``text: String`` but Telegram also refuses an empty text, a 4097-character
text, 65-byte callback_data or an inline button with two actions.  These checks are pure functions
of the request parameters (no state), so they are testable on their own.

Lengths are counted in UTF-16 code units — the unit Telegram uses for entity offsets and, in
practice, for the 4096/1024 limits (an emoji outside the BMP counts as 2).
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ApiError, bad_request
from .formatting import Rendered, render, utf16_len

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_TEXT = 200
MAX_COMMANDS = 100
MAX_COMMAND_LEN = 32
MAX_COMMAND_DESCRIPTION = 256
MAX_DESCRIPTION = 512
MAX_SHORT_DESCRIPTION = 120
MAX_BOT_NAME = 64
MEDIA_GROUP_MIN, MEDIA_GROUP_MAX = 2, 10
MAX_INLINE_BUTTONS_PER_ROW, MAX_INLINE_BUTTONS = 8, 100
MAX_REPLY_BUTTONS_PER_ROW, MAX_REPLY_BUTTONS = 12, 300

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_INLINE_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)
_REPLY_REQUESTS = (
    "request_users", "request_chat", "request_managed_bot", "request_contact", "request_location",
    "request_poll", "web_app",
)
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
})


def check_text(text: str | None, parse_mode: str | None, entities: list[dict[str, Any]] | None) -> Rendered:
    """A message text: parse markup, then 1–4096 UTF-16 units after parsing and trimming."""
    if text is None or not text.strip():
        raise bad_request("message text is empty")
    rendered = render(text, None if entities else parse_mode)
    if entities:
        rendered = Rendered(rendered.text, list(entities))
    if not rendered.text:
        raise bad_request("message text is empty")
    if utf16_len(rendered.text) > MAX_TEXT:
        raise bad_request("message is too long")
    return rendered


def check_caption(
    caption: str | None, parse_mode: str | None, entities: list[dict[str, Any]] | None
) -> Rendered | None:
    """Captions are optional; when present at most 1024 UTF-16 units after parsing."""
    if caption is None:
        return None
    rendered = render(caption, None if entities else parse_mode)
    if entities:
        rendered = Rendered(rendered.text, list(entities))
    if utf16_len(rendered.text) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return rendered


def check_reply_markup(markup: dict[str, Any] | None) -> None:
    if not markup:
        return
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
    elif "keyboard" in markup:
        _check_reply_keyboard(markup["keyboard"])


def _check_inline_keyboard(rows: list[list[dict[str, Any]]]) -> None:
    total = 0
    for row in rows:
        if len(row) > MAX_INLINE_BUTTONS_PER_ROW:
            raise bad_request("too many buttons in a row of the inline keyboard")
        total += len(row)
        for button in row:
            if not str(button.get("text", "")).strip():
                raise bad_request("BUTTON_TEXT_INVALID")
            actions = [a for a in _INLINE_ACTIONS if button.get(a) is not None]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            if len(actions) > 1:
                raise bad_request(
                    "can't parse inline keyboard button: exactly one of the optional fields must be used, "
                    f"got {', '.join(actions)}"
                )
            if "callback_data" in button:
                size = len(str(button["callback_data"]).encode("utf-8"))
                if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in button and not re.match(r"^(https?|tg)://", str(button["url"])):
                raise bad_request("BUTTON_URL_INVALID")
    if total > MAX_INLINE_BUTTONS:
        raise bad_request("reply markup is too long")


def _check_reply_keyboard(rows: list[list[Any]]) -> None:
    total = 0
    for row in rows:
        if len(row) > MAX_REPLY_BUTTONS_PER_ROW:
            raise bad_request("too many buttons in a row of the keyboard")
        total += len(row)
        for button in row:
            if isinstance(button, str):
                if not button.strip():
                    raise bad_request("BUTTON_TEXT_INVALID")
                continue
            if not str(button.get("text", "")).strip():
                raise bad_request("BUTTON_TEXT_INVALID")
            requests = [r for r in _REPLY_REQUESTS if button.get(r) not in (None, False)]
            if len(requests) > 1:
                raise bad_request(f"can't parse keyboard button: only one of {', '.join(requests)} may be used")
    if total > MAX_REPLY_BUTTONS:
        raise bad_request("reply markup is too long")


def check_callback_answer_text(text: str | None) -> None:
    if text is not None and utf16_len(text) > MAX_CALLBACK_ANSWER_TEXT:
        raise bad_request("MESSAGE_TOO_LONG")


def check_commands(commands: list[dict[str, Any]]) -> None:
    if len(commands) > MAX_COMMANDS:
        raise bad_request("too many commands")
    for cmd in commands:
        name = str(cmd.get("command", ""))
        if not _COMMAND_RE.match(name):
            raise bad_request("BOT_COMMAND_INVALID")
        desc = str(cmd.get("description", ""))
        if not desc.strip() or len(desc) > MAX_COMMAND_DESCRIPTION:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID" if desc.strip() else "command description is empty")


def check_length(value: str | None, limit: int, what: str) -> None:
    if value is not None and len(value) > limit:
        raise bad_request(f"{what} is too long")


def check_media_group(media: list[dict[str, Any]]) -> None:
    if not MEDIA_GROUP_MIN <= len(media) <= MEDIA_GROUP_MAX:
        raise bad_request("media group must contain from 2 to 10 items")
    kinds = {m.get("type") for m in media}
    for solo in ("document", "audio"):
        if solo in kinds and kinds != {solo}:
            raise bad_request(f"{solo} can't be mixed with other media types")


def check_chat_action(action: str) -> None:
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")


def ensure(condition: bool, error: ApiError) -> None:
    if not condition:
        raise error
