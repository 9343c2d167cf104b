"""JSON control API under ``/_emulator/`` so a standalone emulator can be driven from other processes.

Why: the browser sandbox, load generators and manual exploration run outside pytest; they need to
create people, act as them, read conversations, switch flood control and arm faults over HTTP.
Every route answers JSON; errors are ``{"ok": false, "error": "..."}`` with status 400/404.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .emulator import TelegramEmulator
    from .people import Person


def _ok(result: Any) -> web.Response:
    return web.Response(text=json.dumps({"ok": True, "result": result}, ensure_ascii=False, default=str),
                        content_type="application/json")


def _err(message: str, status: int = 400) -> web.Response:
    return web.Response(text=json.dumps({"ok": False, "error": message}), status=status,
                        content_type="application/json")


class ControlApi:
    PREFIX = "/_emulator"

    def __init__(self, emu: TelegramEmulator) -> None:
        self.emu = emu

    def add_routes(self, app: web.Application) -> None:
        p = self.PREFIX
        r = app.router
        r.add_get(f"{p}/stats", self.stats)
        r.add_get(f"{p}/bots", self.bots)
        r.add_get(f"{p}/people", self.people)
        r.add_post(f"{p}/people", self.create_person)
        r.add_get(p + "/people/{user_id}/messages", self.messages)
        r.add_post(p + "/people/{user_id}/{action}", self.act)
        r.add_get(f"{p}/events", self.events)
        r.add_get(f"{p}/flood", self.flood)
        r.add_post(f"{p}/flood", self.flood)
        r.add_get(f"{p}/rtt", self.rtt)
        r.add_post(f"{p}/rtt", self.rtt)
        r.add_get(f"{p}/faults", self.faults)
        r.add_post(f"{p}/faults", self.add_fault)
        r.add_delete(f"{p}/faults", self.clear_faults)
        r.add_get(f"{p}/violations", self.violations)
        r.add_delete(f"{p}/violations", self.clear_violations)
        r.add_post(f"{p}/wait_idle", self.wait_idle)

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text='{"ok": false, "error": "JSON body expected"}',
                                     content_type="application/json") from None
        return body if isinstance(body, dict) else {}

    def _person(self, request: web.Request) -> Person:
        user_id = int(request.match_info["user_id"])
        token = request.query.get("bot")
        person = self.emu.find_person(user_id, token)
        if person is None:
            raise web.HTTPNotFound(text=json.dumps({"ok": False, "error": f"no person {user_id}"}),
                                   content_type="application/json")
        return person

    async def stats(self, request: web.Request) -> web.Response:
        return _ok(self.emu.stats)

    async def bots(self, request: web.Request) -> web.Response:
        return _ok([{"token": b.token, "id": b.id, "username": b.username, "pending": b.updates.pending,
                     "webhook": b.webhook.url if b.webhook else None} for b in self.emu.bots])

    async def people(self, request: web.Request) -> web.Response:
        return _ok([_person_json(p) for p in self.emu.people])

    async def create_person(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            person = self.emu.person(
                int(body["user_id"]), body.get("first_name", f"User{body['user_id']}"),
                last_name=body.get("last_name"), username=body.get("username"),
                language_code=body.get("language_code", "id"), phone=body.get("phone"),
                bot=body.get("bot"),
            )
        except (KeyError, ValueError, LookupError) as exc:
            return _err(f"bad person: {exc}")
        return _ok(_person_json(person))

    async def messages(self, request: web.Request) -> web.Response:
        person = self._person(request)
        side = request.query.get("side", "bot")
        msgs = person.history if side == "both" else person.messages
        return _ok([m.summary() for m in msgs])

    async def act(self, request: web.Request) -> web.Response:
        person = self._person(request)
        action = request.match_info["action"]
        b = await self._body(request)
        try:
            if action == "send":
                result: Any = (await person.send(b["text"])).summary()
            elif action == "command":
                result = (await person.command(b["command"], b.get("payload"))).summary()
            elif action == "press":
                if "data" in b:
                    result = await person.press_callback(int(b["message_id"]), b["data"])
                else:
                    result = await person.press(b["text"], message=b.get("message_id"))
            elif action == "press_reply":
                result = (await person.press_reply(b["text"])).summary()
            elif action == "contact":
                result = (await person.share_contact(b.get("own", True), phone=b.get("phone"),
                                                     user_id=b.get("user_id"),
                                                     first_name=b.get("first_name"))).summary()
            elif action == "location":
                result = (await person.share_location(float(b["latitude"]), float(b["longitude"]))).summary()
            elif action == "photo":
                result = (await person.send_photo(None, caption=b.get("caption"))).summary()
            elif action == "voice":
                result = (await person.send_voice(None, int(b.get("duration", 3)))).summary()
            elif action == "block":
                person.block()
                result = True
            elif action == "unblock":
                person.unblock()
                result = True
            else:
                return _err(f"unknown action {action!r}", 404)
        except KeyError as exc:
            return _err(f"missing field {exc}")
        except (LookupError, ValueError) as exc:
            return _err(str(exc))
        return _ok(result)

    async def events(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        return _ok([ev.as_json() for ev in self.emu.events.since(since)])

    async def flood(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            body = await self._body(request)
            try:
                self.emu.set_flood(**body)
            except (AttributeError, TypeError) as exc:
                return _err(str(exc))
        return _ok(vars(self.emu.flood.config))

    async def rtt(self, request: web.Request) -> web.Response:
        """GET: the delay added to every Bot API answer; POST {"seconds": 0.1}: set it."""
        if request.method == "POST":
            body = await self._body(request)
            try:
                self.emu.set_rtt(float(body.get("seconds", 0)))
            except (TypeError, ValueError) as exc:
                return _err(str(exc))
        return _ok({"seconds": self.emu.pipeline.rtt})

    async def faults(self, request: web.Request) -> web.Response:
        return _ok([f.as_json() for f in self.emu.faults.faults])

    async def add_fault(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            fault = self.emu.inject_fault(**body)
        except (TypeError, ValueError) as exc:
            return _err(str(exc))
        return _ok(fault.as_json())

    async def clear_faults(self, request: web.Request) -> web.Response:
        fid = request.query.get("id")
        self.emu.clear_faults(int(fid) if fid else None)
        return _ok(True)

    async def violations(self, request: web.Request) -> web.Response:
        return _ok([{**vars(v)} for v in self.emu.violations])

    async def clear_violations(self, request: web.Request) -> web.Response:
        self.emu.clear_violations()
        return _ok(True)

    async def wait_idle(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            await self.emu.wait_until_processed(float(body.get("timeout", 5.0)))
        except TimeoutError as exc:
            return _err(str(exc), 408)
        return _ok(True)


def _person_json(p: Person) -> dict[str, Any]:
    u = p.user
    return {"user_id": u.id, "first_name": u.first_name, "last_name": u.last_name, "username": u.username,
            "language_code": u.language_code, "phone": u.phone, "bot": p.bot.username,
            "blocked": p.chat.blocked, "messages": len(p.messages)}
