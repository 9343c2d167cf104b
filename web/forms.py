"""Reading a desk form: every POST must carry the session's CSRF token, or nothing is done."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

from services.desk.access import DeskUser
from services.desk.auth import csrf_matches
from web.keys import VIEWER, WEB_SESSION


class CsrfRefused(Exception):
    """A POST without the session's CSRF token: nothing is done (answered 403 by ``request_scope``)."""


async def checked_form(request: web.Request) -> MultiDictProxy[str]:
    form = await request.post()
    row = request.get(WEB_SESSION)
    if row is None or not csrf_matches(row, form.get("csrf")):
        raise CsrfRefused()
    return form  # type: ignore[return-value]


def viewer_of(request: web.Request) -> DeskUser:
    viewer: DeskUser | None = request.get(VIEWER)
    if viewer is None:
        raise web.HTTPSeeOther("/login")
    return viewer


def int_arg(value: str | None, default: int | None = None) -> int | None:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default
