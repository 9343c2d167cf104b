"""One's own desk sessions: where one is signed in, and ending any of them."""

from __future__ import annotations

from aiohttp import web

from services.desk.auth import active_sessions, revoke
from web.app import render
from web.forms import checked_form, int_arg, viewer_of
from web.keys import DB, NOW, WEB_SESSION

routes = web.RouteTableDef()


@routes.get("/sessions")
async def sessions_page(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    rows = await active_sessions(request[DB], viewer.account_id, now=request[NOW])
    return render(request, "sessions.html", {"sessions": rows, "current_id": request[WEB_SESSION].id})


@routes.post("/sessions/{session_id}/end")
async def end_session(request: web.Request) -> web.StreamResponse:
    await checked_form(request)
    viewer = viewer_of(request)
    session_id = int_arg(request.match_info["session_id"], 0) or 0
    await revoke(request[DB], viewer.account_id, session_id, now=request[NOW])
    raise web.HTTPSeeOther("/sessions")
