"""Semantics of the Bot API methods the bot uses.

Why: spec validation only proves a request is well-formed; Telegram also refuses requests that do
not make sense *now* (editing a message that is gone, answering a callback query twice, writing to
a person who blocked the bot).  Each handler here receives already-validated, normalised params,
applies the prose limits from :mod:`sandbox.limits`, checks the state in :mod:`sandbox.world`,
changes it and returns the ``result`` Telegram would return.

Methods that exist in the spec but have no handler are accepted with ``true`` by the pipeline after
validation (see :mod:`sandbox.server`).
"""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from . import errors as E
from . import limits
from .errors import ApiError, bad_request, forbidden
from .events import BOT_DELETE, BOT_EDIT, CALLBACK_ANSWER, CHAT_ACTION
from .flood import FloodControl
from .formatting import Rendered
from .media import NotAnImage, make_jpeg, photo_variants
from .spec import UploadedFile
from .updates import UpdateQueue
from .world import BotState, ChatState, StoredFile, StoredMessage, WebhookConfig, World, scope_key

Handler = Callable[[BotState, dict[str, Any]], Awaitable[Any]]


@dataclass
class MethodOptions:
    callback_answer_timeout: float = 15.0  # seconds after which a callback query is "too old"
    allow_insecure_webhooks: bool = True  # http:// webhooks (tests run without TLS)
    delete_window_seconds: int = 48 * 3600  # bots may delete messages younger than 48 h
    max_long_poll: float = 50.0


@dataclass
class MethodContext:
    """What handlers need beyond the world: flood control and webhook start/stop."""

    world: World
    flood: FloodControl
    start_webhook: Callable[[BotState], None]
    stop_webhook: Callable[[BotState], Awaitable[None]]
    options: MethodOptions = field(default_factory=MethodOptions)
    conflicts: int = 0


class BotApiMethods:
    def __init__(self, ctx: MethodContext) -> None:
        self.ctx = ctx
        self.world = ctx.world
        self._poll_generation: dict[str, int] = {}
        self.closing = False  # set on shutdown: long polls return at once
        self.handlers: dict[str, Handler] = {
            name.lower(): getattr(self, name)
            for name in (
                "getMe", "logOut", "close", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo",
                "setMyCommands", "getMyCommands", "deleteMyCommands", "sendMessage", "editMessageText",
                "editMessageReplyMarkup", "editMessageCaption", "deleteMessage", "deleteMessages",
                "answerCallbackQuery", "sendPhoto", "sendDocument", "sendVoice", "sendAudio", "sendVideo",
                "sendSticker", "sendAnimation", "sendVideoNote", "sendMediaGroup", "sendChatAction", "sendLocation",
                "sendContact",
                "getFile", "setChatMenuButton", "getChatMenuButton", "getChat", "setMyDescription",
                "getMyDescription", "setMyShortDescription", "getMyShortDescription", "setMyName", "getMyName",
                "copyMessage", "forwardMessage",
            )
        }

    # ================================================================================ helpers
    def chat_for_send(self, bot: BotState, chat_id: Any, method: str) -> ChatState:
        chat = self.chat_existing(bot, chat_id)
        if chat.user.deactivated:
            raise forbidden(E.USER_DEACTIVATED)
        if chat.blocked:
            raise forbidden(E.BOT_BLOCKED)
        if not chat.started:
            raise forbidden(E.CANT_INITIATE)
        if self.ctx.flood.counts(method):
            retry = self.ctx.flood.check(bot.token, chat.user.id)
            if retry is not None:
                raise E.too_many_requests(retry)
        return chat

    def chat_existing(self, bot: BotState, chat_id: Any) -> ChatState:
        if not isinstance(chat_id, int):  # "@username" only works for channels and groups
            raise bad_request(E.CHAT_NOT_FOUND)
        chat = self.world.chat(bot, chat_id)
        if chat is None:
            raise bad_request(E.CHAT_NOT_FOUND)
        return chat

    def _reply_fields(self, chat: ChatState, p: dict[str, Any]) -> dict[str, Any]:
        rp = p.get("reply_parameters")
        if rp is None and p.get("reply_to_message_id") is not None:  # legacy parameter
            rp = {"message_id": p["reply_to_message_id"]}
        if not rp:
            return {}
        target = chat.live(int(rp.get("message_id", 0)))
        if target is None:
            if rp.get("allow_sending_without_reply"):
                return {}
            raise bad_request("message to be replied not found")
        return {"reply_to_message": dict(target.data)}

    def _send(
        self,
        bot: BotState,
        chat: ChatState,
        p: dict[str, Any],
        fields: dict[str, Any],
        *,
        raw_text: str | None = None,
        files: list[StoredFile] | None = None,
    ) -> StoredMessage:
        markup = p.get("reply_markup")
        limits.check_reply_markup(markup)
        fields = {**self._reply_fields(chat, p), **fields}
        if p.get("protect_content"):
            fields["has_protected_content"] = True
        return self.world.add_message(
            bot, chat, outgoing=True, fields=fields, raw_text=raw_text, parse_mode=p.get("parse_mode"),
            reply_markup=markup, files=files,
        )

    def _caption_fields(self, p: dict[str, Any]) -> dict[str, Any]:
        rendered = limits.check_caption(p.get("caption"), p.get("parse_mode"), p.get("caption_entities"))
        return _text_fields(rendered, "caption", "caption_entities")

    def _file(self, value: Any, kind: str, ext: str, default_mime: str | None) -> StoredFile:
        """An InputFile-or-String parameter → a stored file (upload, file_id or URL)."""
        world = self.world
        if isinstance(value, UploadedFile):
            mime = value.content_type if value.content_type not in ("", "application/octet-stream") else None
            mime = mime or mimetypes.guess_type(value.filename)[0] or default_mime
            name = value.filename if kind in ("document", "audio", "video", "animation") else None
            return world.files.add(value.data, kind, _ext(value.filename, ext), mime_type=mime, file_name=name)
        if isinstance(value, str):
            existing = world.files.get(value)
            if existing is not None:
                if existing.kind != kind and not (kind == "document"):
                    raise bad_request(f"can't use file of type {existing.kind.title()} as {kind.title()}")
                return existing
            if _is_url(value):
                return world.files.add(f"downloaded from {value}".encode(), kind, ext, mime_type=default_mime,
                                       file_name=urlparse(value).path.rsplit("/", 1)[-1] or None)
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _photo(self, value: Any) -> list[StoredFile]:
        world = self.world
        if isinstance(value, UploadedFile):
            try:
                return world.store_photo(photo_variants(value.data))
            except NotAnImage:
                raise bad_request("IMAGE_PROCESS_FAILED") from None
        if isinstance(value, str):
            group = world.photo_groups.get(value)
            if group is not None:
                return group
            if world.files.get(value) is not None:
                raise bad_request(f"can't use file of type {world.files.by_id[value].kind.title()} as Photo")
            if _is_url(value):
                return world.store_photo(photo_variants(make_jpeg(800, 600, seed=hash(value) & 0xFFFF)))
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _find_own_message(
        self, bot: BotState, p: dict[str, Any], *, for_edit: bool = True
    ) -> tuple[ChatState, StoredMessage]:
        if p.get("inline_message_id") is not None:
            raise bad_request("MESSAGE_ID_INVALID")
        if p.get("chat_id") is None:
            raise bad_request("chat_id is empty")
        if p.get("message_id") is None:
            raise bad_request("message identifier is not specified")
        chat = self.chat_existing(bot, p["chat_id"])
        msg = chat.live(p["message_id"])
        if msg is None:
            raise bad_request(E.MESSAGE_TO_EDIT_NOT_FOUND)
        if for_edit and not msg.outgoing:
            raise bad_request("message can't be edited")
        if chat.blocked:
            raise forbidden(E.BOT_BLOCKED)
        return chat, msg

    def _apply_edit(self, bot: BotState, msg: StoredMessage, new_fields: dict[str, Any], drop: tuple[str, ...],
                    markup: dict[str, Any] | None, raw_text: str | None, parse_mode: str | None) -> dict[str, Any]:
        new_data = {k: v for k, v in msg.data.items() if k not in drop and k not in ("reply_markup", "edit_date")}
        new_data.update(new_fields)
        if markup and "inline_keyboard" in markup:
            new_data["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        old_cmp = {k: v for k, v in msg.data.items() if k != "edit_date"}
        if new_data == old_cmp:
            raise bad_request(E.NOT_MODIFIED)
        msg.history.append(msg.snapshot())
        new_data["edit_date"] = self.world.now()
        msg.data = new_data
        msg.reply_markup = markup
        if raw_text is not None:
            msg.raw_text = raw_text
            msg.parse_mode = parse_mode
        self.world.events.publish(BOT_EDIT, bot.token, msg.chat_id, msg.summary(), msg)
        return dict(new_data)

    # ================================================================================ bot
    async def getMe(self, bot: BotState, p: dict[str, Any]) -> Any:
        return {**bot.as_user(), "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}

    async def logOut(self, bot: BotState, p: dict[str, Any]) -> Any:
        return True

    async def close(self, bot: BotState, p: dict[str, Any]) -> Any:
        return True

    def shutdown(self) -> None:
        """End every waiting long poll so the server can stop without waiting for timeouts."""
        self.closing = True
        for bot in self.world.bots.values():
            bot.updates.wake()

    # ================================================================================ updates
    async def getUpdates(self, bot: BotState, p: dict[str, Any]) -> Any:
        if bot.webhook is not None:
            raise E.conflict(E.WEBHOOK_ACTIVE)
        q: UpdateQueue = bot.updates
        q.confirm(p.get("offset"))
        q.set_allowed(p.get("allowed_updates"))
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        timeout = min(max(float(p.get("timeout") or 0), 0.0), self.ctx.options.max_long_poll)
        gen = self._poll_generation.get(bot.token, 0) + 1
        self._poll_generation[bot.token] = gen
        q.wake()  # terminate a previous long poll of this bot, as Telegram does
        deadline = time.monotonic() + timeout
        while True:
            if self.closing:
                return []
            if self._poll_generation.get(bot.token) != gen:
                self.ctx.conflicts += 1
                raise E.conflict(E.TERMINATED_BY_OTHER)
            if bot.webhook is not None:
                raise E.conflict(E.WEBHOOK_ACTIVE)
            if q.pending:
                return q.peek(limit)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            await q.wait(remaining)

    async def setWebhook(self, bot: BotState, p: dict[str, Any]) -> Any:
        url = p.get("url") or ""
        if not url:  # empty url = remove the webhook
            return await self.deleteWebhook(bot, p)
        parsed = urlparse(url)
        if parsed.scheme != "https" and not (self.ctx.options.allow_insecure_webhooks and parsed.scheme == "http"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if not parsed.hostname:
            raise bad_request("bad webhook: Failed to resolve host: Name or service not known")
        secret = p.get("secret_token")
        if secret is not None and not (1 <= len(secret) <= 256 and all(c.isalnum() or c in "_-" for c in secret)):
            raise bad_request("bad webhook: secret token contains unallowed characters")
        max_conn = int(p.get("max_connections") or 40)
        if not 1 <= max_conn <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        if p.get("drop_pending_updates"):
            bot.updates.drop_all()
        bot.updates.set_allowed(p.get("allowed_updates"))
        bot.webhook = WebhookConfig(url=url, secret_token=secret, max_connections=max_conn,
                                    ip_address=p.get("ip_address"), allowed_updates=p.get("allowed_updates"))
        bot.updates.wake()
        self.ctx.start_webhook(bot)
        return True

    async def deleteWebhook(self, bot: BotState, p: dict[str, Any]) -> Any:
        if p.get("drop_pending_updates"):
            bot.updates.drop_all()
        if bot.webhook is not None:
            bot.webhook = None
            await self.ctx.stop_webhook(bot)
        return True

    async def getWebhookInfo(self, bot: BotState, p: dict[str, Any]) -> Any:
        hook = bot.webhook
        info: dict[str, Any] = {"url": hook.url if hook else "", "has_custom_certificate": False,
                                "pending_update_count": bot.updates.pending}
        if hook:
            info["max_connections"] = hook.max_connections
            if hook.ip_address:
                info["ip_address"] = hook.ip_address
            if hook.allowed_updates is not None:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    # ================================================================================ commands & profile
    async def setMyCommands(self, bot: BotState, p: dict[str, Any]) -> Any:
        commands = p["commands"]
        limits.check_commands(commands)
        self._check_scope(bot, p.get("scope"))
        bot.commands[(scope_key(p.get("scope")), p.get("language_code") or "")] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def getMyCommands(self, bot: BotState, p: dict[str, Any]) -> Any:
        return list(bot.commands.get((scope_key(p.get("scope")), p.get("language_code") or ""), []))

    async def deleteMyCommands(self, bot: BotState, p: dict[str, Any]) -> Any:
        bot.commands.pop((scope_key(p.get("scope")), p.get("language_code") or ""), None)
        return True

    def _check_scope(self, bot: BotState, scope: dict[str, Any] | None) -> None:
        if scope and scope.get("type") in ("chat", "chat_administrators", "chat_member"):
            self.chat_existing(bot, scope.get("chat_id"))

    async def setChatMenuButton(self, bot: BotState, p: dict[str, Any]) -> Any:
        button = p.get("menu_button") or {"type": "default"}
        if p.get("chat_id") is None:
            bot.default_menu_button = button
        else:
            self.chat_existing(bot, p["chat_id"]).menu_button = button
        return True

    async def getChatMenuButton(self, bot: BotState, p: dict[str, Any]) -> Any:
        if p.get("chat_id") is not None:
            chat = self.chat_existing(bot, p["chat_id"])
            if chat.menu_button:
                return chat.menu_button
        return bot.default_menu_button

    async def _set_text(self, bot: BotState, p: dict[str, Any], key: str, param: str, limit: int) -> Any:
        value = p.get(param)
        limits.check_length(value, limit, param.replace("_", " "))
        if value:
            bot.texts[(key, p.get("language_code") or "")] = value
        else:
            bot.texts.pop((key, p.get("language_code") or ""), None)
        return True

    def _get_text(self, bot: BotState, p: dict[str, Any], key: str, param: str) -> Any:
        lang = p.get("language_code") or ""
        return {param: bot.texts.get((key, lang), bot.texts.get((key, ""), bot.first_name if key == "name" else ""))}

    async def setMyDescription(self, bot: BotState, p: dict[str, Any]) -> Any:
        return await self._set_text(bot, p, "description", "description", limits.MAX_DESCRIPTION)

    async def getMyDescription(self, bot: BotState, p: dict[str, Any]) -> Any:
        return self._get_text(bot, p, "description", "description")

    async def setMyShortDescription(self, bot: BotState, p: dict[str, Any]) -> Any:
        return await self._set_text(bot, p, "short_description", "short_description", limits.MAX_SHORT_DESCRIPTION)

    async def getMyShortDescription(self, bot: BotState, p: dict[str, Any]) -> Any:
        return self._get_text(bot, p, "short_description", "short_description")

    async def setMyName(self, bot: BotState, p: dict[str, Any]) -> Any:
        return await self._set_text(bot, p, "name", "name", limits.MAX_BOT_NAME)

    async def getMyName(self, bot: BotState, p: dict[str, Any]) -> Any:
        return self._get_text(bot, p, "name", "name")

    async def getChat(self, bot: BotState, p: dict[str, Any]) -> Any:
        chat = self.chat_existing(bot, p["chat_id"])
        return {**chat.user.as_chat(), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                                        "premium_subscription": False, "gifts_from_channels": False}}

    # ================================================================================ sending
    async def sendMessage(self, bot: BotState, p: dict[str, Any]) -> Any:
        rendered = limits.check_text(p.get("text"), p.get("parse_mode"), p.get("entities"))
        chat = self.chat_for_send(bot, p["chat_id"], "sendMessage")
        msg = self._send(bot, chat, p, _text_fields(rendered, "text", "entities"), raw_text=p["text"])
        return msg.data

    async def sendPhoto(self, bot: BotState, p: dict[str, Any]) -> Any:
        caption = self._caption_fields(p)
        chat = self.chat_for_send(bot, p["chat_id"], "sendPhoto")
        sizes = self._photo(p["photo"])
        fields = {"photo": [s.as_photo_size() for s in sizes], **caption}
        return self._send(bot, chat, p, fields, raw_text=p.get("caption"), files=sizes).data

    async def sendDocument(self, bot: BotState, p: dict[str, Any]) -> Any:
        return self._send_file(bot, p, "document", "document", "bin", "application/octet-stream")

    async def sendVoice(self, bot: BotState, p: dict[str, Any]) -> Any:
        return self._send_file(bot, p, "voice", "voice", "oga", "audio/ogg")

    async def sendAudio(self, bot: BotState, p: dict[str, Any]) -> Any:
        return self._send_file(bot, p, "audio", "audio", "mp3", "audio/mpeg")

    async def sendVideo(self, bot: BotState, p: dict[str, Any]) -> Any:
        return self._send_file(bot, p, "video", "video", "mp4", "video/mp4")

    async def sendAnimation(self, bot: BotState, p: dict[str, Any]) -> Any:
        return self._send_file(bot, p, "animation", "animation", "mp4", "video/mp4")

    async def sendVideoNote(self, bot: BotState, p: dict[str, Any]) -> Any:
        """A round video: no caption (Telegram's sendVideoNote has none)."""
        chat = self.chat_for_send(bot, p["chat_id"], "sendVideoNote")
        f = self._file(p["video_note"], "video_note", "mp4", "video/mp4")
        note = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "length": int(p.get("length") or 240),
                "duration": int(p.get("duration") or f.duration or 0), "file_size": f.file_size}
        return self._send(bot, chat, p, {"video_note": note}, files=[f]).data

    async def sendSticker(self, bot: BotState, p: dict[str, Any]) -> Any:
        chat = self.chat_for_send(bot, p["chat_id"], "sendSticker")
        f = self._file(p["sticker"], "sticker", "webp", "image/webp")
        fields = {"sticker": {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "type": "regular",
                              "width": 512, "height": 512, "is_animated": False, "is_video": False,
                              "file_size": f.file_size, **({"emoji": p["emoji"]} if p.get("emoji") else {})}}
        return self._send(bot, chat, p, fields, files=[f]).data

    def _send_file(self, bot: BotState, p: dict[str, Any], param: str, kind: str, ext: str, mime: str) -> Any:
        caption = self._caption_fields(p)
        chat = self.chat_for_send(bot, p["chat_id"], "send" + kind)
        f = self._file(p[param], kind, ext, mime)
        fields = {kind: _file_object(f, kind, p), **caption}
        return self._send(bot, chat, p, fields, raw_text=p.get("caption"), files=[f]).data

    async def sendMediaGroup(self, bot: BotState, p: dict[str, Any]) -> Any:
        media = p["media"]
        limits.check_media_group(media)
        captions = [limits.check_caption(m.get("caption"), m.get("parse_mode"), m.get("caption_entities"))
                    for m in media]
        chat = self.chat_for_send(bot, p["chat_id"], "sendMediaGroup")
        group_id = f"{bot.id}{chat.next_message_id:06d}{self.world.now() % 100000:05d}"
        stored: list[tuple[dict[str, Any], list[StoredFile]]] = []
        for item in media:  # resolve every file before sending anything: all or nothing
            kind = item["type"]
            value = item["media"]
            if kind == "photo":
                sizes = self._photo(value)
                stored.append(({"photo": [s.as_photo_size() for s in sizes]}, sizes))
            else:
                ext, mime = {"video": ("mp4", "video/mp4"), "audio": ("mp3", "audio/mpeg")}.get(
                    kind, ("bin", "application/octet-stream"))
                f = self._file(value, kind, ext, mime)
                stored.append(({kind: _file_object(f, kind, item)}, [f]))
        results = []
        for (fields, fs), item, cap in zip(stored, media, captions, strict=True):
            fields = {**fields, "media_group_id": group_id, **_text_fields(cap, "caption", "caption_entities")}
            msg = self.world.add_message(bot, chat, outgoing=True, fields={**self._reply_fields(chat, p), **fields},
                                         raw_text=item.get("caption"), parse_mode=item.get("parse_mode"), files=fs)
            results.append(msg.data)
        return results

    async def sendLocation(self, bot: BotState, p: dict[str, Any]) -> Any:
        chat = self.chat_for_send(bot, p["chat_id"], "sendLocation")
        return self._send(bot, chat, p, {"location": {"latitude": p["latitude"], "longitude": p["longitude"]}}).data

    async def sendContact(self, bot: BotState, p: dict[str, Any]) -> Any:
        chat = self.chat_for_send(bot, p["chat_id"], "sendContact")
        contact = {k: p[k] for k in ("phone_number", "first_name", "last_name", "vcard") if p.get(k)}
        return self._send(bot, chat, p, {"contact": contact}).data

    async def sendChatAction(self, bot: BotState, p: dict[str, Any]) -> Any:
        limits.check_chat_action(p["action"])
        chat = self.chat_for_send(bot, p["chat_id"], "sendChatAction")
        self.world.events.publish(CHAT_ACTION, bot.token, chat.user.id, {"action": p["action"]})
        return True

    async def copyMessage(self, bot: BotState, p: dict[str, Any]) -> Any:
        source = self._source_message(bot, p, "message to copy not found")
        chat = self.chat_for_send(bot, p["chat_id"], "copyMessage")
        fields = {k: v for k, v in source.data.items()
                  if k not in ("message_id", "from", "chat", "date", "reply_markup", "edit_date", "reply_to_message",
                               "forward_origin", "media_group_id")}
        if "caption" in p:
            fields.pop("caption", None)
            fields.pop("caption_entities", None)
            fields.update(self._caption_fields(p))
        msg = self._send(bot, chat, p, fields, raw_text=source.raw_text, files=list(source.files))
        return {"message_id": msg.message_id}

    async def forwardMessage(self, bot: BotState, p: dict[str, Any]) -> Any:
        source = self._source_message(bot, p, "message to forward not found")
        chat = self.chat_for_send(bot, p["chat_id"], "forwardMessage")
        fields = {k: v for k, v in source.data.items()
                  if k not in ("message_id", "from", "chat", "date", "reply_markup", "edit_date", "reply_to_message",
                               "media_group_id")}
        if "forward_origin" not in fields:
            sender = source.data.get("from") or {}
            fields["forward_origin"] = {"type": "user", "sender_user": sender, "date": source.date}
        fields["forward_date"] = source.date
        msg = self.world.add_message(bot, chat, outgoing=True, fields=fields, raw_text=source.raw_text,
                                     files=list(source.files))
        return msg.data

    def _source_message(self, bot: BotState, p: dict[str, Any], not_found: str) -> StoredMessage:
        src_chat = self.chat_existing(bot, p["from_chat_id"])
        source = src_chat.live(p["message_id"])
        if source is None:
            raise bad_request(not_found)
        if source.data.get("has_protected_content"):
            raise bad_request("message can't be forwarded")
        return source

    # ================================================================================ editing
    async def editMessageText(self, bot: BotState, p: dict[str, Any]) -> Any:
        rendered = limits.check_text(p.get("text"), p.get("parse_mode"), p.get("entities"))
        limits.check_reply_markup(p.get("reply_markup"))
        chat, msg = self._find_own_message(bot, p)
        if "text" not in msg.data:
            raise bad_request("there is no text in the message to edit")
        return self._apply_edit(bot, msg, _text_fields(rendered, "text", "entities"), ("text", "entities"),
                                p.get("reply_markup"), p["text"], p.get("parse_mode"))

    async def editMessageCaption(self, bot: BotState, p: dict[str, Any]) -> Any:
        caption = self._caption_fields(p)
        limits.check_reply_markup(p.get("reply_markup"))
        chat, msg = self._find_own_message(bot, p)
        if "text" in msg.data or not msg.files:
            raise bad_request("there is no caption in the message to edit")
        return self._apply_edit(bot, msg, caption, ("caption", "caption_entities"), p.get("reply_markup"),
                                p.get("caption"), p.get("parse_mode"))

    async def editMessageReplyMarkup(self, bot: BotState, p: dict[str, Any]) -> Any:
        limits.check_reply_markup(p.get("reply_markup"))
        chat, msg = self._find_own_message(bot, p)
        return self._apply_edit(bot, msg, {}, (), p.get("reply_markup"), None, None)

    async def deleteMessage(self, bot: BotState, p: dict[str, Any]) -> Any:
        chat = self.chat_existing(bot, p["chat_id"])
        self._delete(bot, chat, p["message_id"])
        return True

    async def deleteMessages(self, bot: BotState, p: dict[str, Any]) -> Any:
        ids = p["message_ids"]
        if not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must contain 1-100 identifiers")
        chat = self.chat_existing(bot, p["chat_id"])
        for mid in ids:  # deleteMessages skips messages that can't be deleted
            try:
                self._delete(bot, chat, mid)
            except ApiError:
                pass
        return True

    def _delete(self, bot: BotState, chat: ChatState, message_id: int) -> None:
        msg = chat.live(message_id)
        if msg is None:
            raise bad_request(E.MESSAGE_TO_DELETE_NOT_FOUND)
        if self.world.now() - msg.date > self.ctx.options.delete_window_seconds:
            raise bad_request("message can't be deleted for everyone")
        msg.deleted = True
        self.world.events.publish(BOT_DELETE, bot.token, chat.user.id, msg.summary(), msg)

    # ================================================================================ callbacks & files
    async def answerCallbackQuery(self, bot: BotState, p: dict[str, Any]) -> Any:
        limits.check_callback_answer_text(p.get("text"))
        q = bot.callback_queries.get(str(p["callback_query_id"]))
        too_old = q is None or q.answered or (
            time.monotonic() - q.created > self.ctx.options.callback_answer_timeout)
        if too_old:
            raise bad_request(E.QUERY_TOO_OLD)
        assert q is not None
        q.answered = True
        q.answer = {k: p[k] for k in ("text", "show_alert", "url", "cache_time") if k in p}
        self.world.events.publish(CALLBACK_ANSWER, bot.token, q.chat_id, {"callback_query_id": q.id, **q.answer})
        return True

    async def getFile(self, bot: BotState, p: dict[str, Any]) -> Any:
        f = self.world.files.get(p["file_id"])
        if f is None:
            raise bad_request("invalid file_id")
        if f.file_size > 20 * 1024 * 1024:
            raise bad_request("file is too big")
        return f.as_file()


# ==================================================================================== module helpers
def _text_fields(rendered: Rendered | None, text_key: str, entities_key: str) -> dict[str, Any]:
    if rendered is None:
        return {}
    out: dict[str, Any] = {text_key: rendered.text}
    if rendered.entities:
        out[entities_key] = rendered.entities
    return out


def _file_object(f: StoredFile, kind: str, p: dict[str, Any]) -> dict[str, Any]:
    obj: dict[str, Any] = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": f.file_size}
    if f.mime_type:
        obj["mime_type"] = f.mime_type
    if kind in ("document", "audio", "video", "animation") and f.file_name:
        obj["file_name"] = f.file_name
    if kind in ("voice", "audio", "video", "animation"):
        obj["duration"] = int(p.get("duration") or f.duration or 1)
    if kind in ("video", "animation"):
        obj["width"], obj["height"] = int(p.get("width") or 640), int(p.get("height") or 360)
    return obj


def _ext(filename: str, default: str) -> str:
    if "." in filename:
        ext = filename.rsplit(".", 1)[-1].lower()
        if ext.isalnum() and len(ext) <= 5:
            return ext
    return default


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))
