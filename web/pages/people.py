"""People: search by name, desa, kecamatan or NIK, and a recipient's page (profile, consent, onboarding,
timeline). Revealing a full NIK (admins) and looking up a phone number are separate, audited presses."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from services.desk.people import as_nik, look_up_phone, recipient_record, reveal_nik, search_people
from services.monitoring.risk import risk_line, risk_scores
from web.app import render
from web.forms import checked_form, int_arg, viewer_of
from web.keys import CTX, DB, NOW

routes = web.RouteTableDef()


@routes.get("/people")
async def people_list(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    ctx = request.app[CTX]
    query = request.query.get("q", "")[:100]
    page = await search_people(request[DB], ctx.cipher, viewer, query,
                               page=(int_arg(request.query.get("page"), 1) or 1) - 1,
                               page_size=ctx.settings.web.page_size)
    # A typed NIK is not written back into the page (nor into page links): the search box starts empty.
    shown = "" if page.by_nik else query
    args = {k: v for k, v in request.query.items() if not (page.by_nik and k == "q")}
    return render(request, "people.html", {"page": page, "q": shown, "args": args})


async def _person(request: web.Request, **extra: object) -> web.Response:
    viewer = viewer_of(request)
    ctx = request.app[CTX]
    record = await recipient_record(request[DB], ctx.cipher, viewer, int(request.match_info["recipient_id"]),
                                    now=request[NOW])
    risks = await risk_scores(request[DB], [record.recipient.id], now=request[NOW], settings=ctx.settings)
    values = {"r": record, "full_nik": None, "phone": None, "phone_asked": False,
              "risk": risk_line(risks[record.recipient.id], ctx.settings)}  # services/monitoring/risk.py
    values.update(extra)
    return render(request, "person.html", values)


@routes.post("/people/find")
async def people_find(request: web.Request) -> web.StreamResponse:
    """The search box posts here, so a typed NIK travels in the body and never lands in a URL (browser
    history, a proxy's access log). A NIK goes straight to its person; anything else to the list."""
    form = await checked_form(request)
    query = str(form.get("q", ""))[:100]
    if as_nik(query) is None:
        raise web.HTTPSeeOther("/people?" + urlencode({"q": " ".join(query.split())}))
    viewer = viewer_of(request)
    ctx = request.app[CTX]
    page = await search_people(request[DB], ctx.cipher, viewer, query, page_size=2)
    if page.total == 1:
        raise web.HTTPSeeOther(f"/people/{page.items[0].recipient.id}")
    return render(request, "people.html", {"page": page, "q": "", "args": {}})


@routes.get("/people/{recipient_id:\\d+}")
async def person_page(request: web.Request) -> web.Response:
    return await _person(request)


@routes.post("/people/{recipient_id:\\d+}/nik")
async def person_nik(request: web.Request) -> web.Response:
    await checked_form(request)
    viewer = viewer_of(request)
    nik = await reveal_nik(request[DB], request.app[CTX].cipher, viewer, int(request.match_info["recipient_id"]),
                           now=request[NOW])
    return await _person(request, full_nik=nik)


@routes.post("/people/{recipient_id:\\d+}/phone")
async def person_phone(request: web.Request) -> web.Response:
    await checked_form(request)
    viewer = viewer_of(request)
    phone = await look_up_phone(request[DB], viewer, int(request.match_info["recipient_id"]), now=request[NOW])
    return await _person(request, phone=phone, phone_asked=True)
