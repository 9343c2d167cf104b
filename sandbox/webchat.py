"""The browser sandbox's HTTP side: the chat page, personas, uploads, files, the clock panel and a live feed.

Why here and not in the control API: the JSON control API (:mod:`sandbox.control`) is the emulator's
neutral remote control (send, command, press, contact, location …) and the page uses it for those actions.
What only the sandbox needs lives here, under ``/_sandbox/``: who one can be (roster, workers, staff),
real uploads from the browser (photos, documents, recorded voice notes), the files to show, the shared
clock, and a websocket per open chat fed by ``emulator.subscribe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .events import BOT_DELETE, BOT_EDIT, BOT_MESSAGE, CALLBACK_ANSWER, CHAT_ACTION, USER_UPDATE, Event
from .media import NotAnImage
from .personas import Personas
from .voice import NotOpusAudio, voice_from_upload
from .world import StoredMessage

if TYPE_CHECKING:
    from .app import SandboxApp
    from .people import Person

log = logging.getLogger("uep.sandbox")

WEB_DIR = Path(__file__).with_name("web")
PREFIX = "/_sandbox"
MAX_CAPTION = 1024
CLOCK_STEPS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}
MAX_STEP = timedelta(days=400)
_STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml",
                 ".png": "image/png", ".ico": "image/x-icon"}


def _json(result: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps({"ok": status < 400, "result": result}, ensure_ascii=False, default=str),
                        status=status, content_type="application/json")


def _error(message: str, status: int = 400) -> web.Response:
    return web.Response(text=json.dumps({"ok": False, "error": message}, ensure_ascii=False), status=status,
                        content_type="application/json")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def render(msg: StoredMessage) -> dict[str, Any]:
    """A message as the page draws it: safe HTML of the text, keyboard, media references."""
    d = msg.data
    out: dict[str, Any] = {
        "id": msg.message_id,
        "from_bot": msg.outgoing,
        "kind": msg.kind,
        "html": msg.html,
        "text": msg.content,
        "date": msg.date,
        "edited": msg.edited,
        "deleted": msg.deleted,
        "inline_keyboard": msg.inline_keyboard,
    }
    if "photo" in d and d["photo"]:
        sizes = d["photo"]
        shown = next((s for s in reversed(sizes) if (s.get("width") or 0) <= 800), sizes[-1])
        out["photo"] = {"file_id": shown["file_id"], "full": sizes[-1]["file_id"], "width": shown.get("width"),
                        "height": shown.get("height")}
    if "voice" in d:
        out["voice"] = {"file_id": d["voice"]["file_id"], "duration": d["voice"].get("duration", 0)}
    if "audio" in d:
        out["audio"] = {"file_id": d["audio"]["file_id"], "duration": d["audio"].get("duration", 0)}
    if "document" in d:
        doc = d["document"]
        out["document"] = {"file_id": doc["file_id"], "file_name": doc.get("file_name") or "file",
                           "mime_type": doc.get("mime_type"), "size": doc.get("file_size")}
    if "sticker" in d:
        out["sticker"] = {"file_id": d["sticker"]["file_id"], "emoji": d["sticker"].get("emoji", "")}
    if "contact" in d:
        c = d["contact"]
        out["contact"] = {"phone": c.get("phone_number"),
                          "name": " ".join(x for x in (c.get("first_name"), c.get("last_name")) if x)}
    if "location" in d:
        out["location"] = {"latitude": d["location"]["latitude"], "longitude": d["location"]["longitude"]}
    if "reply_to_message" in d:
        out["reply_to"] = d["reply_to_message"].get("message_id")
    return out


class WebChat:
    def __init__(self, sandbox: SandboxApp) -> None:
        self.sandbox = sandbox
        self._sockets: dict[web.WebSocketResponse, _Client] = {}
        self._personas: Personas | None = None
        self._unsubscribe: Any = None

    @property
    def emulator(self):  # type: ignore[no-untyped-def]
        assert self.sandbox.emulator is not None
        return self.sandbox.emulator

    @property
    def personas(self) -> Personas:
        if self._personas is None:
            assert self.sandbox.ctx is not None
            self._personas = Personas(self.sandbox.ctx, self.emulator)
        return self._personas

    # ------------------------------------------------------------------ wiring
    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/", self.index)
        r.add_get("/static/{name}", self.static)
        p = PREFIX
        r.add_get(f"{p}/info", self.info)
        r.add_get(f"{p}/personas", self.list_personas)
        r.add_post(f"{p}/personas", self.open_persona)
        r.add_get(f"{p}/chats", self.chats)
        r.add_get(p + "/chats/{user_id}", self.chat)
        r.add_get(p + "/chats/{user_id}/workers", self.chat_workers)
        r.add_post(p + "/chats/{user_id}/upload", self.upload)
        r.add_get(p + "/files/{file_id}", self.file)
        r.add_get(f"{p}/clock", self.clock)
        r.add_post(f"{p}/clock", self.move_clock)
        r.add_get(f"{p}/ws", self.websocket)
        self._unsubscribe = self.emulator.subscribe(self._on_event)

    async def close(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close()
        self._sockets.clear()

    # ------------------------------------------------------------------ page and static files
    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = (WEB_DIR / name).resolve()
        if path.parent != WEB_DIR.resolve() or not path.is_file():
            raise web.HTTPNotFound()
        content_type = _STATIC_TYPES.get(path.suffix, "application/octet-stream")
        return web.FileResponse(path, headers={"Cache-Control": "no-cache", "Content-Type": content_type})

    # ------------------------------------------------------------------ info and personas
    async def info(self, request: web.Request) -> web.Response:
        bot = self.emulator.bot
        return _json({"bot": {"username": bot.username, "name": bot.first_name}, "tz": str(
            self.sandbox.settings.program.tz), "imported": self.sandbox.import_summary.lines,
            "clock": await self._clock_json(), "desk_url": self.sandbox.desk_url})

    async def list_personas(self, request: web.Request) -> web.Response:
        kind = request.query.get("kind", "recipient")
        q = request.query.get("q", "")[:100]
        try:
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            return _error("limit must be a number")
        if kind == "recipient":
            found = await self.personas.search_recipients(q, limit)
        elif kind == "worker":
            found = await self.personas.search_workers(q, limit)
        elif kind == "staff":
            found = self.personas.staff_personas()
        else:
            return _error(f"unknown kind {kind!r}")
        return _json([p.as_json() for p in found])

    async def open_persona(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _error("JSON body expected")
        kind = body.get("kind")
        try:
            if kind == "recipient":
                persona, _ = await self.personas.open_recipient(int(body["id"]))
            elif kind in ("tksk", "psm", "worker"):
                persona, _ = await self.personas.open_worker(int(body["id"]))
            elif kind in ("admin", "caseworker"):
                persona, _ = await self.personas.open_staff(kind)
            elif kind == "stranger":
                persona, _ = self.personas.open_stranger()
            else:
                return _error(f"unknown persona kind {kind!r}")
        except (KeyError, TypeError, ValueError) as exc:
            return _error(f"bad persona request: {exc}")
        except LookupError as exc:
            return _error(str(exc), 404)
        return _json(persona.as_json())

    def _person(self, request: web.Request) -> Person:
        try:
            user_id = int(request.match_info["user_id"])
        except ValueError:
            raise web.HTTPNotFound() from None
        person = self.emulator.find_person(user_id)
        if person is None:
            raise web.HTTPNotFound(text=json.dumps({"ok": False, "error": f"no chat with {user_id}"}),
                                   content_type="application/json")
        return person

    async def chats(self, request: web.Request) -> web.Response:
        out = []
        for person in self.emulator.people:
            persona = await self.personas.describe(person.id)
            history = [m for m in person.history if not m.deleted]
            last = history[-1] if history else None
            out.append({"user_id": person.id, "name": persona.name if persona else person.first_name,
                        "kind": persona.kind if persona else "person",
                        "subtitle": persona.subtitle if persona else "",
                        "last": (last.content or f"[{last.kind}]") if last else "",
                        "last_date": last.date if last else None})
        out.sort(key=lambda c: c["last_date"] or 0, reverse=True)
        return _json(out)

    async def chat(self, request: web.Request) -> web.Response:
        person = self._person(request)
        persona = await self.personas.describe(person.id)
        return _json({
            "user_id": person.id,
            "first_name": person.first_name,
            "persona": persona.as_json() if persona else None,
            "messages": [render(m) for m in person.history],
            "reply_markup": person.chat.reply_keyboard,
            "commands": person.commands,
            "phone": person.phone,
            "started": person.chat.started,
        })

    async def chat_workers(self, request: web.Request) -> web.Response:
        person = self._person(request)
        persona = await self.personas.describe(person.id)
        if persona is None or persona.kecamatan_id is None:
            return _json([])
        return _json([p.as_json() for p in await self.personas.workers_for(persona.kecamatan_id)])

    # ------------------------------------------------------------------ uploads and files
    async def upload(self, request: web.Request) -> web.Response:
        person = self._person(request)
        try:
            form = await request.post()
        except ValueError as exc:
            return _error(f"bad upload: {exc}")
        kind = str(form.get("kind", ""))
        field = form.get("file")
        if not isinstance(field, web.FileField):
            return _error("no file in the upload")
        data = field.file.read()
        if not data:
            return _error("the file is empty")
        caption = str(form.get("caption", "") or "").strip() or None
        if caption and len(caption) > MAX_CAPTION:
            return _error(f"a caption has at most {MAX_CAPTION} characters")
        try:
            if kind == "photo":
                msg = await person.send_photo(data, caption=caption)
            elif kind == "voice":
                ogg, seconds = voice_from_upload(data)
                msg = await person.send_voice(ogg, seconds)
            elif kind == "document":
                name = Path(field.filename or "file").name or "file"
                mime = field.content_type if field.content_type != "application/octet-stream" else None
                msg = await person.send_document(data, name, mime or mimetypes.guess_type(name)[0], caption=caption)
            else:
                return _error(f"unknown upload kind {kind!r}")
        except NotAnImage:
            return _error("this file is not a picture Telegram can send as a photo; send it as a document")
        except NotOpusAudio as exc:
            return _error(str(exc))
        return _json(render(msg))

    async def file(self, request: web.Request) -> web.StreamResponse:
        f = self.emulator.world.files.get(request.match_info["file_id"])
        if f is None:
            raise web.HTTPNotFound()
        mime = f.mime_type or mimetypes.guess_type(f.file_path)[0] or "application/octet-stream"
        headers = {"Cache-Control": "private, max-age=3600"}
        if f.kind == "document" and f.file_name:
            headers["Content-Disposition"] = f'inline; filename="{f.file_name.replace(chr(34), "")}"'
        return web.Response(body=f.data, content_type=mime.split(";")[0], headers=headers)

    # ------------------------------------------------------------------ clock
    async def _clock_json(self, handled: dict[str, int] | None = None) -> dict[str, Any]:
        nxt = await self.sandbox.next_reminder_at()
        case_due = await self.sandbox.next_case_deadline_at()
        now = self.sandbox.now()
        return {"now": _iso(now), "now_ms": int(now.timestamp() * 1000), "next_reminder": _iso(nxt),
                "next_case_deadline": _iso(case_due), "handled": handled}

    async def clock(self, request: web.Request) -> web.Response:
        return _json(await self._clock_json())

    async def move_clock(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _error("JSON body expected")
        step = body.get("step")
        try:
            if step == "next_reminder":
                due, handled = await self.sandbox.advance_to_next_reminder()
                if due is None:
                    return _error("no reminder is pending", 409)
            elif step == "next_case_deadline":
                due, handled = await self.sandbox.advance_to_next_case_deadline()
                if due is None:
                    return _error("no open case has a deadline", 409)
            elif step in CLOCK_STEPS:
                handled = await self.sandbox.advance(CLOCK_STEPS[step])
            elif step == "seconds":
                delta = timedelta(seconds=float(body["seconds"]))
                if not timedelta(0) <= delta <= MAX_STEP:
                    return _error("seconds must be between 0 and 400 days")
                handled = await self.sandbox.advance(delta)
            else:
                return _error(f"unknown step {step!r} (hour, day, week, next_reminder, next_case_deadline, seconds)")
        except (KeyError, TypeError, ValueError) as exc:
            return _error(f"bad clock request: {exc}")
        result = await self._clock_json(handled)
        await self._broadcast({"type": "clock", "clock": result})
        return _json(result)

    # ------------------------------------------------------------------ live feed
    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        """Events of one chat (``?user_id=``), or of every chat without it; clock moves go to all."""
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        try:
            user_id: int | None = int(request.query["user_id"]) if "user_id" in request.query else None
        except ValueError:
            user_id = None
        client = _Client(user_id)
        self._sockets[ws] = client
        writer = asyncio.create_task(self._writer(ws, client))
        try:
            client.queue.put_nowait({"type": "hello", "seq": self.emulator.events.last_seq})
            async for msg in ws:
                if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            self._sockets.pop(ws, None)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    @staticmethod
    async def _writer(ws: web.WebSocketResponse, client: _Client) -> None:
        """One writer per socket, so events arrive in the order the emulator published them."""
        while not ws.closed:
            payload = await client.queue.get()
            try:
                await ws.send_json(payload)
            except (ConnectionError, RuntimeError):
                return

    def _on_event(self, ev: Event) -> None:
        if not self._sockets or ev.token != self.emulator.bot.token:
            return
        targets = [c for c in self._sockets.values() if c.user_id is None or c.user_id == ev.chat_id]
        if not targets:
            return
        payload = self._event_json(ev)
        if payload is None:
            return
        for client in targets:
            client.queue.put_nowait(payload)

    def _event_json(self, ev: Event) -> dict[str, Any] | None:
        base: dict[str, Any] = {"seq": ev.seq, "chat_id": ev.chat_id}
        if ev.kind in (BOT_MESSAGE, BOT_EDIT, BOT_DELETE) and ev.message is not None:
            kind = {BOT_MESSAGE: "message", BOT_EDIT: "edit", BOT_DELETE: "delete"}[ev.kind]
            person = self.emulator.find_person(ev.chat_id) if ev.chat_id is not None else None
            return {**base, "type": kind, "message": render(ev.message),
                    "reply_markup": person.chat.reply_keyboard if person else None}
        if ev.kind == USER_UPDATE:
            update = ev.payload.get("update") or {}
            if ev.payload.get("type") in ("message", "edited_message") and ev.chat_id is not None:
                person = self.emulator.find_person(ev.chat_id)
                stored = person.chat.messages.get(update.get("message_id")) if person else None
                if stored is not None:
                    return {**base, "type": "message" if ev.payload["type"] == "message" else "edit",
                            "message": render(stored)}
            if ev.payload.get("type") == "callback_query":
                return {**base, "type": "pressed", "query_id": update.get("id"), "data": update.get("data"),
                        "message_id": (update.get("message") or {}).get("message_id")}
            return None
        if ev.kind == CALLBACK_ANSWER:
            return {**base, "type": "callback_answer", **ev.payload}
        if ev.kind == CHAT_ACTION:
            return {**base, "type": "chat_action", "action": ev.payload.get("action")}
        return None

    async def _broadcast(self, payload: dict[str, Any]) -> None:
        for client in self._sockets.values():
            client.queue.put_nowait(payload)


class _Client:
    __slots__ = ("user_id", "queue")

    def __init__(self, user_id: int | None) -> None:
        self.user_id = user_id
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
