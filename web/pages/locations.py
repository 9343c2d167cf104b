"""The map: recipients' last known business locations, coloured by status or risk, drawn server-side as SVG
(no script, no map library). Tiles come from ``web.map_tile_url``; without one (tests, offline) the points
stand on a plain background."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from db.models import Kabupaten, Kecamatan
from services.desk.map import layout, map_view
from web.app import render
from web.forms import int_arg, viewer_of
from web.keys import CTX, DB, NOW

routes = web.RouteTableDef()
WIDTH, HEIGHT = 960, 640
COLOURS = {
    "running": "#1b873f", "changed": "#2b6cb0", "paused": "#d69e2e", "stopped": "#c53030", "unknown": "#8a94a3",
    "risk_high": "#c53030", "risk_some": "#d69e2e", "risk_none": "#1b873f",
}


@routes.get("/map")
async def map_page(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    ctx = request.app[CTX]
    q = request.query
    colour = "risk" if q.get("colour") == "risk" else "status"
    kab = None if viewer.kecamatan_id else int_arg(q.get("kab"))
    kec = viewer.kecamatan_id or int_arg(q.get("kec"))
    view = await map_view(request[DB], viewer, now=request[NOW], settings=ctx.settings, kabupaten_id=kab,
                          kecamatan_id=kec, colour=colour)
    placed, tiles = layout(view, WIDTH, HEIGHT, ctx.settings.web.map_tile_url)
    kabupaten = [] if viewer.kecamatan_id else list(
        await request[DB].scalars(select(Kabupaten).order_by(Kabupaten.name)))
    kecamatan = list(await request[DB].scalars(
        select(Kecamatan).where(Kecamatan.kabupaten_id == kab).order_by(Kecamatan.name))) if kab else []
    return render(request, "map.html", {
        "view": view, "placed": placed, "tiles": tiles, "width": WIDTH, "height": HEIGHT, "colours": COLOURS,
        "colour": colour, "kabupaten": kabupaten, "kecamatan": kecamatan, "kab": kab, "kec": kec,
    })
