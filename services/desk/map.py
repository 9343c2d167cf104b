"""Where the businesses are: each recipient's last known business location (from a check-in or a visit),
coloured by business status or risk. Zoomed out (the province, a kabupaten with many people) the points are
gathered per kecamatan, so 100,000 recipients stay a few hundred circles; zoomed in they are single people."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.models import Checkin, Kecamatan, Recipient, Visit
from services.desk.access import DeskUser

MAX_POINTS = 2_000  # more than this in view: gathered per kecamatan


@dataclass(slots=True)
class MapPoint:
    lat: float
    lon: float
    label: str
    colour_key: str          # a business status, or a risk band
    count: int = 1           # > 1: a kecamatan's circle
    recipient_id: int | None = None
    why: str = ""


@dataclass(slots=True)
class MapView:
    points: list[MapPoint]
    gathered: bool
    located: int             # recipients with a known location in view
    total: int               # recipients in view
    bounds: tuple[float, float, float, float] | None = None  # south, west, north, east
    legend: list[str] = field(default_factory=list)


def _last_locations(where: list) -> object:  # type: ignore[type-arg]
    """(recipient_id, lat, lon) of each recipient's latest located check-in or visit."""
    checkins = select(Checkin.recipient_id.label("rid"), Checkin.latitude.label("lat"),
                      Checkin.longitude.label("lon"), Checkin.submitted_at.label("at")).where(
        Checkin.latitude.is_not(None))
    visits = select(Visit.recipient_id.label("rid"), Visit.latitude.label("lat"), Visit.longitude.label("lon"),
                    Visit.visited_at.label("at")).where(Visit.latitude.is_not(None))
    located = union_all(checkins, visits).subquery()
    ranked = select(located.c.rid, located.c.lat, located.c.lon, func.row_number().over(
        partition_by=located.c.rid, order_by=located.c.at.desc()).label("n")).subquery()
    return (select(ranked.c.rid, ranked.c.lat, ranked.c.lon, Recipient.kecamatan_id, Recipient.name,
                   Recipient.business_status)
            .join(Recipient, Recipient.id == ranked.c.rid).where(ranked.c.n == 1, *where))


async def map_view(session: AsyncSession, viewer: DeskUser, *, now: datetime, settings: Settings,
                   kabupaten_id: int | None = None, kecamatan_id: int | None = None,
                   colour: str = "status") -> MapView:
    where = [viewer.scope(Recipient.kecamatan_id)]
    if kecamatan_id is not None:
        where.append(Recipient.kecamatan_id == kecamatan_id)
    elif kabupaten_id is not None:
        where.append(Recipient.kecamatan_id.in_(select(Kecamatan.id).where(Kecamatan.kabupaten_id == kabupaten_id)))
    total = await session.scalar(select(func.count()).select_from(Recipient).where(*where)) or 0
    rows = list((await session.execute(_last_locations(where))).all())  # type: ignore[arg-type]
    gathered = len(rows) > MAX_POINTS
    points: list[MapPoint] = []
    if gathered:
        names = dict((await session.execute(select(Kecamatan.id, Kecamatan.name))).all())
        groups: dict[int, list[tuple[float, float, str]]] = {}
        for _rid, lat, lon, kec, _name, status in rows:
            groups.setdefault(kec, []).append((lat, lon, status))
        for kec, members in groups.items():
            running = sum(1 for *_, s in members if s in ("running", "changed"))
            share = running / len(members)
            key = "running" if share >= 0.7 else ("paused" if share >= 0.46 else "stopped")
            points.append(MapPoint(sum(m[0] for m in members) / len(members), sum(m[1] for m in members) / len(members),
                                   names.get(kec, "?"), key, len(members), why=f"{share:.0%}"))
    else:
        risks = {}
        if colour == "risk" and rows:
            from services.monitoring.risk import risk_scores
            from services.monitoring.risk import why as risk_why

            risks = await risk_scores(session, [r[0] for r in rows], now=now, settings=settings)
        high = settings.monitoring.risk_high
        for rid, lat, lon, _kec, name, status in rows:
            if colour == "risk" and rid in risks:
                score = risks[rid].score
                key = "risk_high" if score >= high else ("risk_some" if score > 0 else "risk_none")
                why = risk_why(risks[rid])
            else:
                key, why = status, ""
            points.append(MapPoint(lat, lon, name, key, recipient_id=rid, why=str(why)))
    bounds = None
    if points:
        lats, lons = [p.lat for p in points], [p.lon for p in points]
        bounds = (min(lats), min(lons), max(lats), max(lons))
    return MapView(points, gathered, len(rows), total, bounds)


@dataclass(slots=True)
class Placed:
    x: float
    y: float
    point: MapPoint


@dataclass(slots=True)
class Tile:
    x: float
    y: float
    url: str


def _pixel(lat: float, lon: float, zoom: int) -> tuple[float, float]:
    """Web-Mercator pixel position at ``zoom`` (256-pixel tiles), as tile servers use."""
    size = 256 * 2**zoom
    lat = max(min(lat, 85.05), -85.05)
    siny = math.sin(math.radians(lat))
    x = (lon + 180.0) / 360.0 * size
    y = (0.5 - math.log((1 + siny) / (1 - siny)) / (4 * math.pi)) * size
    return x, y


def layout(view: MapView, width: int, height: int, tile_url: str = "", pad: int = 24
           ) -> tuple[list[Placed], list[Tile]]:
    """Points placed in a ``width`` × ``height`` picture at the largest zoom that shows them all, and the map
    tiles under them when a tile URL template (``{z}/{x}/{y}``) is configured."""
    if not view.points or view.bounds is None:
        return [], []
    south, west, north, east = view.bounds
    zoom = 0
    for z in range(16, -1, -1):
        x0, y0 = _pixel(north, west, z)
        x1, y1 = _pixel(south, east, z)
        if x1 - x0 <= width - 2 * pad and y1 - y0 <= height - 2 * pad:
            zoom = z
            break
    x0, y0 = _pixel(north, west, zoom)
    x1, y1 = _pixel(south, east, zoom)
    left = x0 - (width - (x1 - x0)) / 2
    top = y0 - (height - (y1 - y0)) / 2
    placed = [Placed(px - left, py - top, p) for p in view.points for px, py in [_pixel(p.lat, p.lon, zoom)]]
    tiles: list[Tile] = []
    if tile_url:
        n = 2**zoom
        for tx in range(int(left // 256), int((left + width) // 256) + 1):
            for ty in range(max(0, int(top // 256)), min(n - 1, int((top + height) // 256)) + 1):
                url = tile_url.replace("{z}", str(zoom)).replace("{x}", str(tx % n)).replace("{y}", str(ty))
                tiles.append(Tile(tx * 256 - left, ty * 256 - top, url))
    return placed, tiles
