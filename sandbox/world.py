"""The emulated Telegram state: bots, users, private chats, messages, files, callback queries.

Why a separate module: the HTTP layer, the method handlers, the simulated people and the control API
all read and change the same state; keeping it as plain dataclasses (no I/O, no asyncio) makes it
easy to inspect from tests and to reason about.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .events import BOT_MESSAGE, EventBus
from .formatting import to_html
from .updates import UpdateQueue


# ------------------------------------------------------------------------------------------- files
@dataclass
class StoredFile:
    """A file Telegram keeps: bytes plus the identifiers the Bot API exposes."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    kind: str  # photo, document, voice, audio, video, sticker, animation, thumbnail
    mime_type: str | None = None
    file_name: str | None = None
    width: int | None = None
    height: int | None = None
    duration: int | None = None

    @property
    def file_size(self) -> int:
        return len(self.data)

    def as_file(self) -> dict[str, Any]:
        """The ``File`` object getFile returns."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }

    def as_photo_size(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "width": self.width,
            "height": self.height,
        }


class FileStore:
    """All files by file_id and by file_path (for ``GET /file/bot<token>/<path>``)."""

    _FOLDERS = {"photo": "photos", "thumbnail": "thumbnails", "voice": "voice", "document": "documents",
                "audio": "music", "video": "videos", "sticker": "stickers", "animation": "animations"}

    def __init__(self) -> None:
        self.by_id: dict[str, StoredFile] = {}
        self.by_path: dict[str, StoredFile] = {}
        self._seq = itertools.count(1)

    def add(self, data: bytes, kind: str, ext: str, **meta: Any) -> StoredFile:
        n = next(self._seq)
        digest = hashlib.sha1(data + n.to_bytes(8, "big")).hexdigest()
        f = StoredFile(
            file_id=f"AgAC{kind[:2].upper()}{n:08d}{digest[:40]}",
            file_unique_id=f"AQAD{digest[:12]}",
            data=data,
            file_path=f"{self._FOLDERS.get(kind, 'documents')}/file_{n}.{ext}",
            kind=kind,
            **meta,
        )
        self.by_id[f.file_id] = f
        self.by_path[f.file_path] = f
        return f

    def get(self, file_id: str) -> StoredFile | None:
        return self.by_id.get(file_id)


# ------------------------------------------------------------------------------------------- users
@dataclass
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    phone: str | None = None
    is_bot: bool = False
    deactivated: bool = False

    def as_api(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            d["last_name"] = self.last_name
        if self.username:
            d["username"] = self.username
        if self.language_code and not self.is_bot:
            d["language_code"] = self.language_code
        return d

    def as_chat(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            d["last_name"] = self.last_name
        if self.username:
            d["username"] = self.username
        return d


# ---------------------------------------------------------------------------------------- messages
@dataclass
class StoredMessage:
    """One message of a private chat, from either side, with its edit history.

    ``data`` is the current Telegram ``Message`` object; ``raw_text`` keeps the markup the bot
    sent (before parse_mode rendering) so tests can check both what was sent and what is seen.
    """

    chat_id: int
    message_id: int
    outgoing: bool  # True = sent by the bot to the person
    data: dict[str, Any]
    raw_text: str | None = None
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    files: list[StoredFile] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False

    # -- convenient reading for tests
    @property
    def text(self) -> str | None:
        return self.data.get("text")

    @property
    def caption(self) -> str | None:
        return self.data.get("caption")

    @property
    def content(self) -> str:
        """Text or caption as the person sees it ("" for media without caption)."""
        return self.data.get("text") or self.data.get("caption") or ""

    @property
    def entities(self) -> list[dict[str, Any]]:
        return self.data.get("entities") or self.data.get("caption_entities") or []

    @property
    def html(self) -> str:
        return to_html(self.content, self.entities)

    @property
    def date(self) -> int:
        return int(self.data["date"])

    @property
    def edited(self) -> bool:
        return bool(self.history)

    @property
    def kind(self) -> str:
        for k in ("text", "photo", "document", "voice", "audio", "video", "video_note", "sticker", "contact",
                  "location", "animation"):
            if k in self.data:
                return k
        return "other"

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            return self.reply_markup["inline_keyboard"]
        return []

    @property
    def buttons(self) -> list[str]:
        """Texts of the inline buttons, row by row, flattened."""
        return [b["text"] for row in self.inline_keyboard for b in row]

    @property
    def reply_keyboard(self) -> list[list[str]]:
        if self.reply_markup and "keyboard" in self.reply_markup:
            return [[b if isinstance(b, str) else b["text"] for b in row] for row in self.reply_markup["keyboard"]]
        return []

    def find_button(self, text: str) -> dict[str, Any] | None:
        for row in self.inline_keyboard:
            for b in row:
                if b.get("text") == text:
                    return b
        return None

    @property
    def media(self) -> bytes | None:
        """Bytes of the attached file (largest photo size for photos)."""
        return self.files[-1].data if self.files else None

    @property
    def photo_sizes(self) -> list[StoredFile]:
        return [f for f in self.files if f.kind == "photo"]

    def snapshot(self) -> dict[str, Any]:
        return {"data": dict(self.data), "raw_text": self.raw_text, "parse_mode": self.parse_mode,
                "reply_markup": self.reply_markup}

    def summary(self) -> dict[str, Any]:
        """JSON-friendly view for the control API and event subscribers."""
        return {
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "outgoing": self.outgoing,
            "kind": self.kind,
            "text": self.content,
            "html": self.html,
            "raw_text": self.raw_text,
            "parse_mode": self.parse_mode,
            "reply_markup": self.reply_markup,
            "edited": self.edited,
            "deleted": self.deleted,
            "date": self.date,
            "files": [{"file_id": f.file_id, "file_path": f.file_path, "size": f.file_size} for f in self.files],
            "history": [h["data"].get("text") or h["data"].get("caption") for h in self.history],
        }

    def __repr__(self) -> str:  # compact, helps reading assertion failures
        flags = ("edited " if self.edited else "") + ("deleted " if self.deleted else "")
        side = "bot" if self.outgoing else "user"
        return f"<Message #{self.message_id} {side} {flags}{self.kind}: {self.content[:60]!r} {self.buttons or ''}>"


@dataclass
class ChatState:
    """A private chat between one bot and one user."""

    user: User
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    started: bool = False  # a bot cannot write first
    blocked: bool = False  # the user blocked the bot
    menu_button: dict[str, Any] | None = None
    reply_keyboard: dict[str, Any] | None = None  # the reply keyboard currently shown, if any

    def new_message_id(self) -> int:
        mid = self.next_message_id
        self.next_message_id += 1
        return mid

    def live(self, message_id: int) -> StoredMessage | None:
        m = self.messages.get(message_id)
        return m if m is not None and not m.deleted else None


@dataclass
class CallbackQueryState:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str | None
    created: float  # monotonic
    answered: bool = False
    answer: dict[str, Any] | None = None


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    last_synchronization_error_date: int | None = None


@dataclass
class BotState:
    token: str
    id: int
    username: str
    first_name: str
    updates: UpdateQueue
    chats: dict[int, ChatState] = field(default_factory=dict)
    webhook: WebhookConfig | None = None
    commands: dict[tuple[tuple[Any, ...], str], list[dict[str, Any]]] = field(default_factory=dict)
    texts: dict[tuple[str, str], str] = field(default_factory=dict)  # (name|description|short, lang)
    default_menu_button: dict[str, Any] = field(default_factory=lambda: {"type": "commands"})
    callback_queries: dict[str, CallbackQueryState] = field(default_factory=dict)

    def as_user(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": True, "first_name": self.first_name, "username": self.username}

    def commands_for(self, chat_id: int, language_code: str | None) -> list[dict[str, Any]]:
        """Resolve commands for a private chat in Telegram's order of scopes and languages."""
        lang = language_code or ""
        for scope in (("chat", chat_id), ("all_private_chats",), ("default",)):
            for lc in ((lang, "") if lang else ("",)):
                found = self.commands.get((scope, lc))
                if found is not None:
                    return found
        return []


def scope_key(scope: dict[str, Any] | None) -> tuple[Any, ...]:
    """A hashable key for a BotCommandScope object."""
    if not scope:
        return ("default",)
    kind = scope.get("type", "default")
    if kind in ("chat", "chat_administrators"):
        return (kind, scope.get("chat_id"))
    if kind == "chat_member":
        return (kind, scope.get("chat_id"), scope.get("user_id"))
    return (kind,)


# -------------------------------------------------------------------------------------------- world
class World:
    """Everything the emulated Telegram knows, plus the helpers both sides use to add messages.

    ``clock`` gives message dates (injectable so tests can freeze or move time); ``events`` is told
    about every bot→user change so subscribers (tests, the browser sandbox) see it.
    """

    def __init__(self, clock: Callable[[], datetime], events: EventBus) -> None:
        self.clock = clock
        self.events = events
        self.bots: dict[str, BotState] = {}
        self.users: dict[int, User] = {}
        self.files = FileStore()
        # any size's file_id → the whole PhotoSize ladder, so a photo can be re-sent by file_id
        self.photo_groups: dict[str, list[StoredFile]] = {}

    def now(self) -> int:
        return int(self.clock().timestamp())

    def chat(self, bot: BotState, user_id: int) -> ChatState | None:
        chat = bot.chats.get(user_id)
        if chat is None and user_id in self.users:
            chat = bot.chats[user_id] = ChatState(self.users[user_id])
        return chat

    # -- files
    def store_photo(self, variants: list[Any]) -> list[StoredFile]:
        sizes = [self.files.add(v.data, "photo", "jpg", mime_type="image/jpeg", width=v.width, height=v.height)
                 for v in variants]
        for f in sizes:
            self.photo_groups[f.file_id] = sizes
        return sizes

    # -- messages
    def add_message(
        self,
        bot: BotState,
        chat: ChatState,
        *,
        outgoing: bool,
        fields: dict[str, Any],
        raw_text: str | None = None,
        parse_mode: str | None = None,
        reply_markup: dict[str, Any] | None = None,
        files: list[StoredFile] | None = None,
        sender: dict[str, Any] | None = None,
    ) -> StoredMessage:
        mid = chat.new_message_id()
        data: dict[str, Any] = {
            "message_id": mid,
            "from": sender or (bot.as_user() if outgoing else chat.user.as_api()),
            "chat": chat.user.as_chat(),
            "date": self.now(),
        }
        data.update(fields)
        if reply_markup and "inline_keyboard" in reply_markup:
            data["reply_markup"] = {"inline_keyboard": reply_markup["inline_keyboard"]}
        msg = StoredMessage(chat.user.id, mid, outgoing, data, raw_text, parse_mode, reply_markup, files or [])
        chat.messages[mid] = msg
        if outgoing and reply_markup:
            if "keyboard" in reply_markup:
                chat.reply_keyboard = reply_markup
            elif reply_markup.get("remove_keyboard"):
                chat.reply_keyboard = None
        if outgoing:
            self.events.publish(BOT_MESSAGE, bot.token, chat.user.id, msg.summary(), msg)
        return msg
