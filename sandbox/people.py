"""Simulated people: the test-facing way to talk to the bot in a private chat.

Why: conversation tests should read like the conversation ("Alice sends /start, presses *Daftar*,
shares her contact") and must not know update JSON.  A :class:`Person` turns each action into the
exact update Telegram would produce (message, callback_query, contact, photo with PhotoSize ladder,
voice, album with media_group_id …), enqueues it, and returns immediately; reading helpers show what
the bot sent back, including edits and deletions, and ``wait_for`` waits for a matching answer.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, Union

from .events import BOT_EDIT, BOT_MESSAGE, CALLBACK_ANSWER, CHAT_ACTION, USER_UPDATE, EventBus
from .media import make_jpeg, make_ogg_opus, make_sticker_webp, photo_variants
from .world import BotState, CallbackQueryState, ChatState, StoredFile, StoredMessage, User, World

Match = Union[str, "re.Pattern[str]", Callable[[StoredMessage], bool]]
_callback_ids = itertools.count(1)
DEFAULT_LOCATION = (-6.200000, 106.816666)  # Jakarta


class Person:
    """One user in a private chat with one bot."""

    def __init__(self, world: World, bot: BotState, user: User,
                 wait_idle: Callable[[float], Any]) -> None:
        self.world = world
        self.bot = bot
        self.user = user
        self._wait_idle = wait_idle
        self._mark = world.events.last_seq  # wait_for looks at events after the last action
        chat = world.chat(bot, user.id)
        assert chat is not None
        self.chat: ChatState = chat

    # ------------------------------------------------------------------ identity
    @property
    def id(self) -> int:
        return self.user.id

    @property
    def first_name(self) -> str:
        return self.user.first_name

    @property
    def phone(self) -> str | None:
        return self.user.phone

    def __repr__(self) -> str:
        return f"<Person {self.user.id} {self.user.first_name!r} bot=@{self.bot.username}>"

    # ------------------------------------------------------------------ low level
    def _enqueue(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        update = self.bot.updates.push(kind, payload)
        self.world.events.publish(USER_UPDATE, self.bot.token, self.id, {"type": kind, "update": payload})
        return update

    def _mark_action(self) -> None:
        self._mark = self.world.events.last_seq

    async def send_raw(self, fields: dict[str, Any], *, files: Iterable[StoredFile] = ()) -> StoredMessage:
        """Send a message with arbitrary Message fields (text, photo, contact, forward_origin …)."""
        self._mark_action()
        self.chat.started = True
        self.chat.blocked = False
        msg = self.world.add_message(self.bot, self.chat, outgoing=False, fields=fields, files=list(files))
        self._enqueue("message", msg.data)
        await asyncio.sleep(0)
        return msg

    # ------------------------------------------------------------------ actions
    async def send(self, text: str, *, reply_to: StoredMessage | int | None = None) -> StoredMessage:
        fields: dict[str, Any] = {"text": text}
        entities = _auto_entities(text)
        if entities:
            fields["entities"] = entities
        if reply_to is not None:
            target = self.chat.live(reply_to if isinstance(reply_to, int) else reply_to.message_id)
            if target is not None:
                fields["reply_to_message"] = dict(target.data)
        return await self.send_raw(fields)

    async def command(self, name: str, payload: str | None = None) -> StoredMessage:
        """``/name payload`` with its bot_command entity (deep-link payloads arrive this way)."""
        name = name.lstrip("/")
        return await self.send(f"/{name}" + (f" {payload}" if payload else ""))

    async def edit(self, message: StoredMessage | int, text: str) -> StoredMessage:
        """The person edits one of their own messages → ``edited_message`` update."""
        msg = self.chat.messages[message if isinstance(message, int) else message.message_id]
        if msg.outgoing:
            raise ValueError("a person can only edit their own messages")
        self._mark_action()
        msg.history.append(msg.snapshot())
        msg.data = {**msg.data, "text": text, "edit_date": self.world.now()}
        self._enqueue("edited_message", msg.data)
        await asyncio.sleep(0)
        return msg

    async def press(self, button_text: str, *, message: StoredMessage | int | None = None) -> str:
        """Press an inline button (on the latest bot message that has it); returns the callback query id."""
        target: StoredMessage | None
        if message is not None:
            target = self.chat.live(message if isinstance(message, int) else message.message_id)
            candidates = [target] if target else []
        else:
            candidates = [m for m in reversed(self.messages) if not m.deleted]
        for m in candidates:
            button = m.find_button(button_text)
            if button is None:
                continue
            if "callback_data" in button:
                return await self.press_callback(m.message_id, button["callback_data"])
            if "url" in button:
                self._mark_action()
                return ""  # opening a link sends nothing to the bot
            raise NotImplementedError(f"pressing a button of this kind is not emulated: {button}")
        shown = {m.message_id: m.buttons for m in candidates if m.buttons}
        raise LookupError(f"{self!r}: no inline button {button_text!r}; buttons on screen: {shown}")

    async def press_callback(self, message_id: int, data: str | None) -> str:
        """A callback query for any message/data — also forged or stale ones."""
        self._mark_action()
        self.chat.started = True
        qid = f"{self.bot.id % 10**6}{next(_callback_ids):012d}"
        msg = self.chat.messages.get(message_id)
        if msg is not None and not msg.deleted:
            message: dict[str, Any] = dict(msg.data)
        else:
            message = {"chat": self.user.as_chat(), "message_id": message_id, "date": 0}
        payload: dict[str, Any] = {"id": qid, "from": self.user.as_api(), "message": message,
                                   "chat_instance": str(abs(hash((self.bot.id, self.id))) % 10**19)}
        if data is not None:
            payload["data"] = data
        self.bot.callback_queries[qid] = CallbackQueryState(qid, self.id, self.id, message_id, data, time.monotonic())
        self._enqueue("callback_query", payload)
        await asyncio.sleep(0)
        return qid

    async def press_reply(self, button_text: str) -> StoredMessage:
        """Press a button of the reply keyboard on screen: text, or contact/location if it requests that."""
        keyboard = self.chat.reply_keyboard
        for row in (keyboard or {}).get("keyboard", []):
            for button in row:
                b = {"text": button} if isinstance(button, str) else button
                if b.get("text") != button_text:
                    continue
                if b.get("request_contact"):
                    return await self.share_contact(own=True)
                if b.get("request_location"):
                    return await self.share_location(*DEFAULT_LOCATION)
                return await self.send(button_text)
        shown = self.reply_keyboard
        raise LookupError(f"{self!r}: no reply button {button_text!r}; keyboard on screen: {shown}")

    async def share_contact(self, own: bool = True, *, phone: str | None = None, user_id: int | None = None,
                            first_name: str | None = None, last_name: str | None = None) -> StoredMessage:
        if own:
            if not self.user.phone:
                raise ValueError(f"{self!r} has no phone number to share")
            contact: dict[str, Any] = {"phone_number": self.user.phone, "first_name": self.user.first_name,
                                       "user_id": self.user.id}
            if self.user.last_name:
                contact["last_name"] = self.user.last_name
        else:
            if phone is None and user_id is not None and user_id in self.world.users:
                phone = self.world.users[user_id].phone
            if not phone:
                raise ValueError("share_contact(own=False) needs phone= (or user_id= of a person with a phone)")
            contact = {"phone_number": phone, "first_name": first_name or "Contact"}
            if last_name:
                contact["last_name"] = last_name
            if user_id is not None:
                contact["user_id"] = user_id
        return await self.send_raw({"contact": contact})

    async def share_location(self, latitude: float, longitude: float) -> StoredMessage:
        return await self.send_raw({"location": {"latitude": latitude, "longitude": longitude}})

    async def send_photo(self, jpeg: bytes | None = None, caption: str | None = None) -> StoredMessage:
        sizes = await self._photo_sizes(jpeg)
        fields: dict[str, Any] = {"photo": [s.as_photo_size() for s in sizes]}
        if caption:
            fields["caption"] = caption
        return await self.send_raw(fields, files=sizes)

    async def send_album(self, photos: list[bytes | None], caption: str | None = None) -> list[StoredMessage]:
        """Several photos sent together: one message each, sharing a media_group_id."""
        if not 2 <= len(photos) <= 10:
            raise ValueError("an album has 2-10 items")
        group_id = f"{self.id}{self.chat.next_message_id:08d}"
        out = []
        for i, jpeg in enumerate(photos):
            sizes = await self._photo_sizes(jpeg, seed=i)
            fields: dict[str, Any] = {"photo": [s.as_photo_size() for s in sizes], "media_group_id": group_id}
            if caption and i == 0:
                fields["caption"] = caption
            out.append(await self.send_raw(fields, files=sizes))
        return out

    async def send_voice(self, ogg: bytes | None = None, duration: int = 3) -> StoredMessage:
        f = await self._voice_file(ogg, duration)
        return await self.send_raw({"voice": _voice_object(f, duration)}, files=[f])

    async def send_video_note(self, mp4: bytes | None = None, duration: int = 5, length: int = 240) -> StoredMessage:
        """A round video message (Telegram sends it as ``video_note``)."""
        data = mp4 if mp4 is not None else b"\x00\x00\x00\x18ftypmp42" + bytes(self.id % 251 for _ in range(64))
        f = self.world.files.add(data, "video_note", "mp4", mime_type="video/mp4", duration=duration)
        note = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "length": length, "duration": duration,
                "file_size": f.file_size}
        return await self.send_raw({"video_note": note}, files=[f])

    async def forward_voice(self, origin: Person | str | None = None, ogg: bytes | None = None,
                            duration: int = 3) -> StoredMessage:
        """Forward a voice note received from someone else (``origin``: a Person or a hidden name)."""
        f = await self._voice_file(ogg, duration)
        date = self.world.now() - 60
        if isinstance(origin, Person):
            fwd: dict[str, Any] = {"type": "user", "sender_user": origin.user.as_api(), "date": date}
        else:
            fwd = {"type": "hidden_user", "sender_user_name": origin or "Hidden", "date": date}
        return await self.send_raw({"voice": _voice_object(f, duration), "forward_origin": fwd,
                                    "forward_date": date}, files=[f])

    async def send_document(self, data: bytes, filename: str, mime_type: str | None = None,
                            caption: str | None = None) -> StoredMessage:
        ext = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
        f = self.world.files.add(data, "document", ext, mime_type=mime_type, file_name=filename)
        doc: dict[str, Any] = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_name": filename,
                               "file_size": f.file_size}
        if mime_type:
            doc["mime_type"] = mime_type
        fields: dict[str, Any] = {"document": doc}
        if caption:
            fields["caption"] = caption
        return await self.send_raw(fields, files=[f])

    async def send_sticker(self, emoji: str = "👍") -> StoredMessage:
        f = self.world.files.add(make_sticker_webp(), "sticker", "webp", mime_type="image/webp", width=512, height=512)
        sticker = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "type": "regular", "width": 512,
                   "height": 512, "is_animated": False, "is_video": False, "emoji": emoji, "file_size": f.file_size}
        return await self.send_raw({"sticker": sticker}, files=[f])

    def block(self) -> None:
        """The person blocks the bot: later sends answer 403, the bot gets a my_chat_member update."""
        self._member_change("member", "kicked")
        self.chat.blocked = True

    def unblock(self) -> None:
        self.chat.blocked = False
        self._member_change("kicked", "member")

    def deactivate(self) -> None:
        """The account is deleted: sends answer 403 "user is deactivated"."""
        self.user.deactivated = True

    def _member_change(self, old: str, new: str) -> None:
        bot_user = self.bot.as_user()
        self._enqueue("my_chat_member", {
            "chat": self.user.as_chat(), "from": self.user.as_api(), "date": self.world.now(),
            "old_chat_member": {"user": bot_user, "status": old},
            "new_chat_member": {"user": bot_user, "status": new, **({"until_date": 0} if new == "kicked" else {})},
        })

    # ------------------------------------------------------------------ reading
    @property
    def messages(self) -> list[StoredMessage]:
        """Everything the bot sent to this person, in order (deleted ones flagged, not removed)."""
        return [m for m in self.chat.messages.values() if m.outgoing]

    @property
    def visible_messages(self) -> list[StoredMessage]:
        return [m for m in self.messages if not m.deleted]

    @property
    def history(self) -> list[StoredMessage]:
        """Both sides of the conversation."""
        return list(self.chat.messages.values())

    @property
    def last(self) -> StoredMessage | None:
        visible = self.visible_messages
        return visible[-1] if visible else None

    @property
    def texts(self) -> list[str]:
        return [m.content for m in self.visible_messages]

    @property
    def commands(self) -> list[dict[str, Any]]:
        """Commands the person sees: chat scope, else all_private_chats, else default (by language)."""
        return self.bot.commands_for(self.id, self.user.language_code)

    @property
    def menu_button(self) -> dict[str, Any]:
        return self.chat.menu_button or self.bot.default_menu_button

    @property
    def reply_keyboard(self) -> list[list[str]]:
        kb = self.chat.reply_keyboard
        return [[b if isinstance(b, str) else b["text"] for b in row] for row in (kb or {}).get("keyboard", [])]

    @property
    def callback_answers(self) -> list[dict[str, Any]]:
        return [ev.payload for ev in self.world.events.log
                if ev.kind == CALLBACK_ANSWER and ev.chat_id == self.id and ev.token == self.bot.token]

    @property
    def chat_actions(self) -> list[str]:
        return [ev.payload["action"] for ev in self.world.events.log
                if ev.kind == CHAT_ACTION and ev.chat_id == self.id and ev.token == self.bot.token]

    async def wait_for(self, match: Match | None = None, timeout: float = 5.0, *,
                       since: int | None = None) -> StoredMessage:
        """Wait for a bot message (new or edited) in this chat matching ``match``.

        ``match`` is a substring, a compiled regex or a predicate on :class:`StoredMessage`;
        None matches anything.  Messages that arrived since this person's last action count, so
        ``await alice.send(...); await alice.wait_for("...")`` never misses a fast answer.
        """
        pred = _predicate(match)
        seq = self._mark if since is None else since
        bus: EventBus = self.world.events
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for ev in bus.chat_since(self.id, seq):
                seq = ev.seq
                if (ev.kind in (BOT_MESSAGE, BOT_EDIT) and ev.token == self.bot.token
                        and ev.message is not None and not ev.message.deleted and pred(ev.message)):
                    return ev.message
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = "\n  ".join(repr(m) for m in self.messages[-5:]) or "(nothing)"
                raise TimeoutError(f"{self!r}: no bot message matching {match!r} within {timeout}s; "
                                   f"last messages:\n  {recent}")
            await bus.wait_chat_change(self.id, remaining)

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until the bot has processed everything (see TelegramEmulator.wait_until_processed)."""
        await self._wait_idle(timeout)

    # ------------------------------------------------------------------ media helpers
    async def _photo_sizes(self, jpeg: bytes | None, seed: int = 0) -> list[StoredFile]:
        def build() -> list[Any]:
            data = jpeg if jpeg is not None else make_jpeg(1600, 1200, seed=self.id * 31 + seed)
            return photo_variants(data)

        variants = await asyncio.to_thread(build)
        return self.world.store_photo(variants)

    async def _voice_file(self, ogg: bytes | None, duration: int) -> StoredFile:
        data = ogg if ogg is not None else make_ogg_opus(duration, seed=self.id)
        return self.world.files.add(data, "voice", "oga", mime_type="audio/ogg", duration=duration)


def _voice_object(f: StoredFile, duration: int) -> dict[str, Any]:
    return {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "duration": duration,
            "mime_type": "audio/ogg", "file_size": f.file_size}


def _predicate(match: Match | None) -> Callable[[StoredMessage], bool]:
    if match is None:
        return lambda m: True
    if isinstance(match, str):
        return lambda m: match in m.content
    if isinstance(match, re.Pattern):
        return lambda m: bool(match.search(m.content))
    return match


_COMMAND_RE = re.compile(r"(?<![\w/])/[a-zA-Z0-9_]{1,32}(?:@[a-zA-Z0-9_]{3,32})?")


def _auto_entities(text: str) -> list[dict[str, Any]]:
    """Entities Telegram's clients detect themselves; bot_command is the one bots rely on."""
    from .formatting import utf16_len

    out = []
    for m in _COMMAND_RE.finditer(text):
        out.append({"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group(0))})
    return out
