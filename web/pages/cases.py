"""The case queue and case pages of the desk: the queue of /antrian with every state, filters, search, sort
and pages; a case's history, photos and actions; assigning many cases at once."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiohttp import web
from sqlalchemy import select

from bot.i18n import N_
from db.enums import CaseKind, CaseState
from db.models import Case, Kabupaten, Kecamatan
from services.cases.search import SORTS, CaseSearch, search_cases
from services.cases.transitions import Action, CaseActionRefused
from services.cases.views import refusal_text
from services.desk.access import DeskUser
from services.desk.cases import DESK_ACTIONS, act, assign_many, case_page, caseworkers, correct_and_resolve
from services.importer.normalize import Invalid
from services.profile import CORRECTABLE
from web.app import messenger_of, render
from web.forms import checked_form, int_arg, viewer_of
from web.keys import CTX, DB, NOW

routes = web.RouteTableDef()

STATES = ("open", "overdue", *(s.value for s in CaseState), "all")
# Outcome messages after an action, by key (never text from the query string).
NOTICES = {
    "done": N_("Done. The people concerned have been told."),
    "assigned": N_("Cases assigned."),
    "corrected": N_("The profile is corrected and the case resolved. The recipient has been told."),
}


def _search_of(request: web.Request, viewer: DeskUser) -> CaseSearch:
    q = request.query
    kind = q.get("kind") if q.get("kind") in CaseKind._value2member_map_ else None
    state = q.get("state") if q.get("state") in STATES else None
    sort = q.get("sort") if q.get("sort") in SORTS else "due"
    owner = q.get("owner") or None
    if owner is not None and owner not in ("mine", "nobody") and not owner.isdigit():
        owner = None
    return CaseSearch(
        kabupaten_id=int_arg(q.get("kab")), kecamatan_id=viewer.kecamatan_id or int_arg(q.get("kec")),
        kind=kind, state=state, owner=owner, text=q.get("q", "")[:100], sort=sort,
    )


async def _places(request: web.Request, viewer: DeskUser) -> tuple[list[Kabupaten], list[Kecamatan]]:
    session = request[DB]
    if viewer.kecamatan_id is not None:
        kec = await session.get(Kecamatan, viewer.kecamatan_id)
        return [], [kec] if kec else []
    kabupaten = list(await session.scalars(select(Kabupaten).order_by(Kabupaten.name)))
    kab_id = int_arg(request.query.get("kab"))
    kecamatan: list[Kecamatan] = []
    if kab_id:
        kecamatan = list(await session.scalars(
            select(Kecamatan).where(Kecamatan.kabupaten_id == kab_id).order_by(Kecamatan.name)))
    return kabupaten, kecamatan


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/cases")


@routes.get("/cases")
async def case_list(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    settings = request.app[CTX].settings
    search = _search_of(request, viewer)
    results = await search_cases(
        request[DB], now=request[NOW], search=search, page=(int_arg(request.query.get("page"), 1) or 1) - 1,
        page_size=settings.web.page_size, scope=viewer.scope(Case.kecamatan_id), staff_id=viewer.staff_id,
    )
    kabupaten, kecamatan = await _places(request, viewer)
    notice = NOTICES.get(request.query.get("notice", ""))
    return render(request, "cases.html", {
        "results": results, "search": search, "kabupaten": kabupaten, "kecamatan": kecamatan,
        "kinds": list(CaseKind), "states": STATES, "sorts": SORTS, "args": request.query,
        "staff": await caseworkers(request[DB]) if viewer.can_act else [],
        "notice": _(notice) if notice else None,
        "bulk": None,
    })


@routes.post("/cases/assign")
async def assign(request: web.Request) -> web.Response:
    form = await checked_form(request)
    viewer = viewer_of(request)
    viewer.require_staff()
    ctx = request.app[CTX]
    ids = [i for i in (int_arg(v) for v in form.getall("case", [])) if i]
    target = int_arg(form.get("staff"))
    if not ids or target is None:
        raise web.HTTPSeeOther("/cases")
    result = await assign_many(request[DB], messenger_of(request), viewer, ids, target_staff_id=target,
                               now=request[NOW], settings=ctx.settings)
    return render(request, "assigned.html", {"result": result})


@routes.get("/cases/{case_id:\\d+}")
async def case_detail(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    page = await case_page(request[DB], viewer, int(request.match_info["case_id"]))
    notice = NOTICES.get(request.query.get("notice", ""))
    return render(request, "case.html", {
        "page": page, "staff": await caseworkers(request[DB]) if Action.REASSIGN in page.actions else [],
        "notice": _(notice) if notice else None, "refusal": None,
    })


@routes.post("/cases/{case_id:\\d+}/correct")
async def case_correct(request: web.Request) -> web.StreamResponse:
    """A "correct my data" case resolved by editing the profile (services.desk.cases.correct_and_resolve)."""
    form = await checked_form(request)
    viewer = viewer_of(request)
    ctx = request.app[CTX]
    case_id = int(request.match_info["case_id"])
    typed = {f: str(form.get(f, ""))[:300] for f in CORRECTABLE}
    try:
        await correct_and_resolve(request[DB], messenger_of(request), viewer, case_id, typed,
                                  note=str(form.get("note", ""))[:2000], now=request[NOW], settings=ctx.settings)
    except (CaseActionRefused, Invalid) as exc:
        await request[DB].rollback()
        page = await case_page(request[DB], viewer, case_id)
        refusal = refusal_text(exc, ctx.settings) if isinstance(exc, CaseActionRefused) else str(exc)
        return render(request, "case.html", {
            "page": page, "staff": await caseworkers(request[DB]) if Action.REASSIGN in page.actions else [],
            "notice": None, "refusal": refusal,
        }, status=409 if isinstance(exc, CaseActionRefused) else 422)
    raise web.HTTPSeeOther(f"/cases/{case_id}?notice=corrected")


@routes.post("/cases/{case_id:\\d+}/{action}")
async def case_action(request: web.Request) -> web.StreamResponse:
    form = await checked_form(request)
    viewer = viewer_of(request)
    ctx = request.app[CTX]
    case_id = int(request.match_info["case_id"])
    try:
        action = Action(request.match_info["action"])
    except ValueError:
        raise web.HTTPNotFound() from None
    if action not in DESK_ACTIONS:
        raise web.HTTPNotFound()
    try:
        await act(request[DB], messenger_of(request), viewer, case_id, action, now=request[NOW],
                  settings=ctx.settings, note=form.get("note", "")[:2000], target_staff_id=int_arg(form.get("staff")))
    except CaseActionRefused as exc:
        await request[DB].rollback()
        page = await case_page(request[DB], viewer, case_id)
        return render(request, "case.html", {
            "page": page, "staff": await caseworkers(request[DB]) if Action.REASSIGN in page.actions else [],
            "notice": None, "refusal": refusal_text(exc, ctx.settings),
        }, status=409)
    raise web.HTTPSeeOther(f"/cases/{case_id}?notice=done")
