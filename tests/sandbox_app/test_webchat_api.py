"""The sandbox's HTTP side without a browser: personas, chats, uploads, files, the clock, the live feed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp
from sqlalchemy import func, select

from db.enums import OnboardingState, ReminderStatus, Role, StaffRole
from db.models import FieldWorker, Kecamatan, Recipient, Reminder, Staff, TelegramAccount
from sandbox.app import SandboxApp
from sandbox.media import make_jpeg, make_ogg_opus
from services.identity import role_of
from services.schedule import schedule_next_checkin


async def _get(app: SandboxApp, path: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.get(app.url.rstrip("/") + path) as res:
        return res.status, await res.json()


async def _post(app: SandboxApp, path: str, **kwargs) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession() as http, http.post(app.url.rstrip("/") + path, **kwargs) as res:
        return res.status, await res.json()


async def test_the_page_and_its_files_are_served(sandbox_app: SandboxApp) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(sandbox_app.url) as res:
            assert res.status == 200 and "text/html" in res.content_type
            assert '<script src="/static/app.js">' in await res.text()
        for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
            async with http.get(f"{sandbox_app.url}static/{name}") as res:
                assert res.status == 200 and res.content_type == kind
        async with http.get(f"{sandbox_app.url}static/..%2Fwebchat.py") as res:
            assert res.status == 404
    status, info = await _get(sandbox_app, "/_sandbox/info")
    assert status == 200 and info["result"]["bot"]["username"] == sandbox_app.bot_username
    assert any("roster: 1500" in line for line in info["result"]["imported"])


async def test_recipients_are_found_by_name_or_kecamatan(sandbox_app: SandboxApp) -> None:
    _, found = await _get(sandbox_app, "/_sandbox/personas?kind=recipient&q=palaran")
    people = found["result"]
    assert people and all("Palaran" in p["subtitle"] for p in people)
    name = people[0]["name"].split()[0]
    _, by_name = await _get(sandbox_app, f"/_sandbox/personas?kind=recipient&q={name.lower()}%20palaran")
    assert by_name["result"] and all(name.lower() in p["name"].lower() for p in by_name["result"])
    _, workers = await _get(sandbox_app, "/_sandbox/personas?kind=worker&q=palaran")
    assert {p["kind"] for p in workers["result"]} <= {"tksk", "psm"} and workers["result"][0]["kind"] == "tksk"
    status, bad = await _get(sandbox_app, "/_sandbox/personas?kind=martian")
    assert status == 400 and "unknown kind" in bad["error"]


async def test_a_recipient_persona_is_a_telegram_user_who_has_not_joined(sandbox_app: SandboxApp) -> None:
    async with sandbox_app.ctx.session_factory() as s:  # type: ignore[union-attr]
        r = await s.scalar(select(Recipient).where(Recipient.phone.is_not(None)).order_by(Recipient.id).limit(1))
        assert r is not None
    status, res = await _post(sandbox_app, "/_sandbox/personas", json={"kind": "recipient", "id": r.id})
    assert status == 200
    persona = res["result"]
    assert persona["state"] == OnboardingState.NOT_JOINED and persona["linked"] is False
    assert persona["nik"] == sandbox_app.ctx.cipher.decrypt(r.nik_encrypted)  # type: ignore[union-attr]
    person = sandbox_app.emulator.find_person(persona["user_id"])  # type: ignore[union-attr]
    assert person is not None and person.phone == r.phone
    assert person.chat.started is False, "the bot cannot write first to someone who never opened it"
    async with sandbox_app.ctx.session_factory() as s:  # type: ignore[union-attr]
        linked = await s.scalar(select(func.count()).select_from(TelegramAccount))
        assert linked == 0, "nothing is linked behind their back"
    # The chat view and its TKSK.
    _, chat = await _get(sandbox_app, f"/_sandbox/chats/{persona['user_id']}")
    assert chat["result"]["persona"]["ref_id"] == r.id and chat["result"]["messages"] == []
    _, workers = await _get(sandbox_app, f"/_sandbox/chats/{persona['user_id']}/workers")
    assert all(w["kecamatan_id"] == r.kecamatan_id for w in workers["result"])
    status, missing = await _post(sandbox_app, "/_sandbox/personas", json={"kind": "recipient", "id": 10**9})
    assert status == 404


async def test_tksk_and_staff_personas_can_work_at_once(sandbox_app: SandboxApp) -> None:
    async with sandbox_app.ctx.session_factory() as s:  # type: ignore[union-attr]
        w = await s.scalar(select(FieldWorker).join(Kecamatan).where(Kecamatan.name == "Palaran",
                                                                     FieldWorker.role == "tksk"))
    _, res = await _post(sandbox_app, "/_sandbox/personas", json={"kind": "worker", "id": w.id})  # type: ignore[union-attr]
    tksk_uid = res["result"]["user_id"]
    _, again = await _post(sandbox_app, "/_sandbox/personas", json={"kind": "worker", "id": w.id})  # type: ignore[union-attr]
    assert again["result"]["user_id"] == tksk_uid, "choosing the same person twice is the same account"
    for role in ("caseworker", "admin"):
        _, res = await _post(sandbox_app, "/_sandbox/personas", json={"kind": role})
        assert res["result"]["kind"] == role
    async with sandbox_app.ctx.session_factory() as s:  # type: ignore[union-attr]
        accounts = (await s.scalars(select(TelegramAccount))).all()
        roles = {a.telegram_user_id: role_of(a) for a in accounts}
        assert roles[tksk_uid] is Role.TKSK
        assert sorted(r for r in roles.values() if r.is_staff) == [Role.ADMIN, Role.CASEWORKER]
        assert await s.scalar(select(func.count()).select_from(Staff).where(Staff.role == StaffRole.ADMIN)) == 1
    tksk = sandbox_app.emulator.find_person(tksk_uid)  # type: ignore[union-attr]
    await tksk.command("help")
    reply = await tksk.wait_for("/penerima")
    assert "TKSK" in reply.text


async def test_uploads_become_telegram_messages_and_bad_files_are_refused(sandbox_app: SandboxApp) -> None:
    _, res = await _post(sandbox_app, "/_sandbox/personas", json={"kind": "stranger"})
    uid = res["result"]["user_id"]

    async def upload(kind: str, data: bytes, name: str, caption: str | None = None) -> tuple[int, dict]:
        form = aiohttp.FormData()
        form.add_field("kind", kind)
        form.add_field("file", data, filename=name)
        if caption:
            form.add_field("caption", caption)
        return await _post(sandbox_app, f"/_sandbox/chats/{uid}/upload", data=form)

    status, photo = await upload("photo", make_jpeg(900, 600, seed=3), "a.jpg", "foto usaha")
    assert status == 200 and photo["result"]["photo"] and photo["result"]["text"] == "foto usaha"
    async with aiohttp.ClientSession() as http, http.get(
            f"{sandbox_app.url}_sandbox/files/{photo['result']['photo']['file_id']}") as res:
        assert res.status == 200 and res.content_type == "image/jpeg" and (await res.read())[:2] == b"\xff\xd8"
    status, voice = await upload("voice", make_ogg_opus(2), "v.ogg")
    assert status == 200 and voice["result"]["voice"]["duration"] == 2
    status, doc = await upload("document", b"%PDF-1.4 sample", "surat.pdf")
    assert status == 200 and doc["result"]["document"]["file_name"] == "surat.pdf"
    assert doc["result"]["document"]["mime_type"] == "application/pdf"

    person = sandbox_app.emulator.find_person(uid)  # type: ignore[union-attr]

    def sent_by_person() -> int:
        return sum(not m.outgoing for m in person.history)

    count = sent_by_person()
    for kind, data, name, expected in (
        ("photo", b"not an image", "x.jpg", "not a picture"),
        ("voice", b"ID3 mp3 data", "x.mp3", "OGG/Opus"),
        ("sticker", b"x", "x", "unknown upload kind"),
        ("photo", b"", "x.jpg", "empty"),
    ):
        status, err = await upload(kind, data, name)
        assert status == 400 and expected in err["error"]
    status, err = await upload("photo", make_jpeg(10, 10), "x.jpg", "k" * 1025)
    assert status == 400 and "1024" in err["error"]
    assert sent_by_person() == count, "a refused upload sends nothing"
    status, _ = await _post(sandbox_app, "/_sandbox/chats/123/upload", data=aiohttp.FormData({"kind": "photo"}))
    assert status == 404


async def test_clock_moves_forward_only_and_runs_a_scan_tick(sandbox_app: SandboxApp) -> None:
    start = sandbox_app.now()
    status, res = await _post(sandbox_app, "/_sandbox/clock", json={"step": "day"})
    assert status == 200
    assert sandbox_app.now() - start >= timedelta(days=1)
    assert isinstance(res["result"]["handled"], dict), "one scan tick ran at once"
    assert abs(sandbox_app.emulator.world.now() - sandbox_app.now().timestamp()) < 2  # type: ignore[union-attr]
    for body, code in (({"step": "seconds", "seconds": -5}, 400), ({"step": "yesterday"}, 400),
                       ({"step": "next_reminder"}, 409), ({"step": "next_case_deadline"}, 409)):
        status, err = await _post(sandbox_app, "/_sandbox/clock", json=body)
        assert status == code, err
    assert sandbox_app.now() - start < timedelta(days=1, minutes=1), "refused moves left the clock alone"

    async with sandbox_app.ctx.session_factory.begin() as s:  # type: ignore[union-attr]
        r = await s.scalar(select(Recipient).where(Recipient.aid_date.is_not(None)).limit(1))
        await schedule_next_checkin(s, r, settings=sandbox_app.settings, now=sandbox_app.now())  # type: ignore[arg-type]
    async with sandbox_app.ctx.session_factory() as s:  # type: ignore[union-attr]
        first_due = await s.scalar(select(func.min(Reminder.due_at)).where(Reminder.status == ReminderStatus.PENDING))
    status, res = await _post(sandbox_app, "/_sandbox/clock", json={"step": "next_reminder"})
    assert status == 200 and sandbox_app.now() >= first_due
    assert sandbox_app.now() - first_due < timedelta(minutes=1)


async def test_live_feed_streams_a_chat_in_order_and_clock_moves_to_everyone(sandbox_app: SandboxApp) -> None:
    _, res = await _post(sandbox_app, "/_sandbox/personas", json={"kind": "admin"})
    uid = res["result"]["user_id"]
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{sandbox_app.url}_sandbox/ws") as ws:
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        person = sandbox_app.emulator.find_person(uid)  # type: ignore[union-attr]
        await person.command("bahasa")
        events = []
        while not any(e["type"] == "message" and e["message"]["from_bot"] for e in events):
            events.append(await ws.receive_json(timeout=5))
        user_msg, bot_msg = events[0], events[-1]
        assert user_msg["message"]["text"] == "/bahasa" and not user_msg["message"]["from_bot"]
        assert bot_msg["chat_id"] == uid and bot_msg["message"]["inline_keyboard"]
        data = bot_msg["message"]["inline_keyboard"][-1][0]["callback_data"]
        await person.press_callback(bot_msg["message"]["id"], data)
        kinds = []
        while "edit" not in kinds or "callback_answer" not in kinds:
            kinds.append((await ws.receive_json(timeout=5))["type"])
        assert kinds[0] == "pressed"
        await _post(sandbox_app, "/_sandbox/clock", json={"step": "hour"})
        for _ in range(10):
            event = await ws.receive_json(timeout=5)
            if event["type"] == "clock":
                break
        assert event["type"] == "clock" and event["clock"]["now"]
    await asyncio.sleep(0)
