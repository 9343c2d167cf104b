"""Stored photos, served only to those who may see the recipient or case they belong to."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.desk.people import photo_for
from web.forms import viewer_of
from web.keys import CTX, DB

routes = web.RouteTableDef()


@routes.get("/media/photos/{photo_id:\\d+}")
async def photo(request: web.Request) -> web.StreamResponse:
    viewer = viewer_of(request)
    row = await photo_for(request[DB], viewer, int(request.match_info["photo_id"]))
    path = _inside(Path(request.app[CTX].settings.storage.media_dir), Path(row.path or ""))
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=3600"})


def _inside(media_dir: Path, path: Path) -> Path | None:
    """The file when it really lies under the media folder (a stored path never leads elsewhere)."""
    media_dir, path = media_dir.resolve(), path.resolve()  # noqa: ASYNC240 (local disk, microseconds)
    return path if path.is_relative_to(media_dir) and path.is_file() else None
