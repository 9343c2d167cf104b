"""Stored photos and voice notes, served only to those who may see the recipient or case they belong to."""

from __future__ import annotations

from pathlib import Path

from aiogram.utils.i18n import gettext as _
from aiohttp import web

from services import voice
from services.desk.media import VIDEO_OF, VOICE_OF, VoiceOf, record_play, voice_for
from services.desk.people import photo_for
from web.app import messenger_of, render
from web.forms import viewer_of
from web.keys import CTX, DB, NOW

routes = web.RouteTableDef()


@routes.get("/media/photos/{photo_id:\\d+}")
async def photo(request: web.Request) -> web.StreamResponse:
    viewer = viewer_of(request)
    row = await photo_for(request[DB], viewer, int(request.match_info["photo_id"]))
    path = _inside(Path(request.app[CTX].settings.storage.media_dir), Path(row.path or ""))
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=3600"})


@routes.get("/media/voice/{of}/{row_id:\\d+}")
async def voice_note(request: web.Request) -> web.StreamResponse:
    """A voice note for the page's ``<audio>``: access checked like the page, fetched from Telegram through
    the bot the first time (with no database transaction open), then served from the disk cache. The audit
    entry is written once per play (the first byte range), not for every range the player asks for."""
    of = request.match_info["of"]
    if of not in VOICE_OF:
        raise web.HTTPNotFound()
    return await _play(request, of)  # type: ignore[arg-type]


@routes.get("/media/video/case/{row_id:\\d+}")
async def case_video_note(request: web.Request) -> web.StreamResponse:
    """A case's round video for the page's ``<video>``: checked, fetched, cached and audited like a voice note."""
    return await _play(request, VIDEO_OF[0])


async def _play(request: web.Request, of: VoiceOf) -> web.StreamResponse:
    viewer = viewer_of(request)
    session = request[DB]
    ref = await voice_for(session, viewer, of, int(request.match_info["row_id"]))
    settings = request.app[CTX].settings
    media_dir = Path(settings.storage.media_dir)
    path = voice.cached(media_dir, ref.file_id, ref.kind)
    if path is None:
        messenger = messenger_of(request)
        if messenger is None:
            return render(request, "error.html", {"message": _("This voice note cannot be fetched now: the desk "
                                                              "is not connected to the bot.")}, status=503)
        await session.commit()  # the access check is done: no transaction stays open during the Telegram call
        try:
            path = await voice.fetch(messenger.bot, ref.file_id, media_dir=media_dir,
                                     max_bytes=settings.storage.max_download_bytes, kind=ref.kind)
        except voice.VoiceUnavailable:
            return render(request, "error.html", {"message": _("Telegram did not give this voice note. "
                                                              "Try again later.")}, status=502)
    if _first_range(request.headers.get("Range")):
        record_play(session, viewer, ref, now=request[NOW])
    # Not kept in the browser's cache: each play is checked and audited, and an office computer shared by
    # staff of two kecamatan never hands one of them the other's recording.
    return web.FileResponse(path, headers={"Content-Type": voice.KINDS[ref.kind][1], "Cache-Control": "no-store"})


def _first_range(header: str | None) -> bool:
    """A play starts with the whole file or ``bytes=0-``; later requests ask for ranges further on."""
    if not header:
        return True
    return header.replace(" ", "").lower().startswith("bytes=0-")


def _inside(media_dir: Path, path: Path) -> Path | None:
    """The file when it really lies under the media folder (a stored path never leads elsewhere)."""
    media_dir, path = media_dir.resolve(), path.resolve()  # noqa: ASYNC240 (local disk, microseconds)
    return path if path.is_relative_to(media_dir) and path.is_file() else None
