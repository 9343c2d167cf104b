"""The photo gallery: stored photos by kabupaten, kind and date, newest first; reused pictures side by side
with the earlier photo they match and whether the check-in was reviewed."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from aiohttp import web
from sqlalchemy import select

from db.models import Kabupaten
from services.desk.people import GALLERY_KINDS, gallery
from web.app import render
from web.forms import int_arg, viewer_of
from web.keys import CTX, DB

routes = web.RouteTableDef()


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@routes.get("/photos")
async def photos_page(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    ctx = request.app[CTX]
    tz = ctx.settings.program.tz
    q = request.query
    kind = q.get("kind") if q.get("kind") in GALLERY_KINDS else None
    since, until = _day(q.get("from")), _day(q.get("to"))
    page = await gallery(
        request[DB], viewer, kabupaten_id=None if viewer.kecamatan_id else int_arg(q.get("kab")), kind=kind,
        since=datetime.combine(since, time.min, tz) if since else None,
        until=datetime.combine(until + timedelta(days=1), time.min, tz) if until else None,
        page=(int_arg(q.get("page"), 1) or 1) - 1, page_size=24,
    )
    kabupaten = [] if viewer.kecamatan_id else list(
        await request[DB].scalars(select(Kabupaten).order_by(Kabupaten.name)))
    return render(request, "photos.html", {
        "page": page, "kind": kind, "kabupaten": kabupaten, "kab": int_arg(q.get("kab")),
        "since": q.get("from", ""), "until": q.get("to", ""), "args": q,
    })
