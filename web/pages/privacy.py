"""Personal-data requests (UU PDP): the same list and actions as ``uep privacy requests``, for Dinas Sosial
staff: answer, apply (a correction with its fields, a restriction, a deletion) or refuse with a reason. The
person is told in the bot; every view and action is audited by the privacy services."""

from __future__ import annotations

from aiohttp import web

from services.clock import FrozenClock
from services.desk.access import DeskForbidden
from services.importer.normalize import Invalid
from services.privacy import requests as rules
from web.app import render
from web.forms import checked_form, viewer_of
from web.keys import CTX, DB, NOW

routes = web.RouteTableDef()
CORRECTABLE = ("name", "phone", "address", "desa", "birth_date", "sex")


@routes.get("/privacy")
async def requests_page(request: web.Request) -> web.Response:
    viewer_of(request).require_staff()
    rows = await rules.list_requests(request[DB], open_only=request.query.get("all") != "1")
    return render(request, "privacy.html", {"rows": rows, "all": request.query.get("all") == "1"})


async def _one(request: web.Request, **extra: object) -> web.Response:
    viewer = viewer_of(request)
    viewer.require_staff()
    found = await rules.view_request(request[DB], FrozenClock(request[NOW]), int(request.match_info["request_id"]),
                                     actor=viewer.label, actor_account_id=viewer.account_id)
    if found is None:
        raise DeskForbidden("not_found")
    values: dict[str, object] = {"r": found[0], "person": found[1], "fields": CORRECTABLE, "refusal": None}
    values.update(extra)
    return render(request, "privacy_request.html", values, status=409 if extra.get("refusal") else 200)


@routes.get("/privacy/{request_id:\\d+}")
async def request_page(request: web.Request) -> web.Response:
    return await _one(request)


@routes.post("/privacy/{request_id:\\d+}/{how:answer|apply|refuse}")
async def close_request(request: web.Request) -> web.StreamResponse:
    form = await checked_form(request)
    viewer = viewer_of(request)
    viewer.require_staff()
    ctx = request.app[CTX]
    request_id, how = int(request.match_info["request_id"]), request.match_info["how"]
    clock = FrozenClock(request[NOW])
    try:
        if how == "answer":
            await rules.answer_request(request[DB], clock, ctx.settings, request_id, actor=viewer.label,
                                       text=str(form.get("text", "")))
        elif how == "refuse":
            await rules.refuse_request(request[DB], clock, ctx.settings, request_id, actor=viewer.label,
                                       reason=str(form.get("reason", "")))
        else:
            changes = {f: str(form[f]) for f in CORRECTABLE if str(form.get(f, "")).strip()}
            await rules.apply_request(request[DB], clock, ctx.settings, request_id, actor=viewer.label,
                                      changes=changes)
    except (rules.RequestRefused, Invalid) as exc:
        await request[DB].rollback()
        reason = exc.reason if isinstance(exc, rules.RequestRefused) else str(exc)
        return await _one(request, refusal=reason)
    raise web.HTTPSeeOther(f"/privacy/{request_id}")
