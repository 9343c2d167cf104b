"""The desk's aiohttp application: one database session per request, the signed-in person resolved on the
server, pages translated into their language, and every page behind the same access rules."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiogram.utils.i18n import gettext
from aiohttp import web

from bot.context import AppContext
from bot.i18n import CatalogI18n
from bot.messenger import Messenger
from services.desk.access import DeskForbidden, DeskUser
from services.desk.auth import session_for
from web import filters
from web.forms import CsrfRefused
from web.keys import CTX, DB, I18N, LOCALE, MESSENGER, NOW, SIGN_IN_LIMIT, VIEWER, WEB_SESSION
from web.security import COOKIE, Handler, RateLimiter, security_headers

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent

# Pages anyone may open without a session.
PUBLIC_PREFIXES = ("/login", "/static/", "/favicon.ico")


def template_gettext(message: str, **values: Any) -> str:
    """``_`` in templates: translated, then ``{placeholders}`` filled (the output is escaped by Jinja2)."""
    text = gettext(message)
    return text.format(**values) if values else text


@web.middleware
async def request_scope(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Session, viewer and language for this request; committed after a successful handler."""
    ctx = request.app[CTX]
    i18n = request.app[I18N]
    async with ctx.session_factory() as session:
        request[DB] = session
        request[NOW] = ctx.clock.now()
        request[VIEWER] = None
        request[WEB_SESSION] = None
        token = request.cookies.get(COOKIE)
        if token:
            found = await session_for(session, token, now=request[NOW])
            if found is not None:
                row, account = found
                try:
                    request[VIEWER] = DeskUser.of(account, ctx.settings.i18n.default_locale)
                    request[WEB_SESSION] = row
                except DeskForbidden:
                    pass
        viewer: DeskUser | None = request[VIEWER]
        locale = viewer.language if viewer and viewer.language in i18n.available_locales else i18n.default_locale
        request[LOCALE] = locale
        with i18n.context(), i18n.use_locale(locale):
            if viewer is None and not request.path.startswith(PUBLIC_PREFIXES):
                if request.method == "GET":
                    raise web.HTTPSeeOther("/login")
                return _error(request, 401, gettext("Please sign in again: send /web to the bot."))
            try:
                response = await handler(request)
            except DeskForbidden:
                await session.rollback()
                return _error(request, 404, gettext("This page does not exist, or it is not yours to see."))
            except CsrfRefused:
                await session.rollback()
                return _error(request, 403, gettext(
                    "This form did not come from your desk session, so nothing was done. "
                    "Open the page again and repeat."))
            except web.HTTPException as exc:
                if exc.status >= 400:
                    await session.rollback()
                else:
                    await session.commit()
                raise
            except Exception:
                await session.rollback()
                raise
            await session.commit()
            return response


def _error(request: web.Request, status: int, message: str) -> web.Response:
    response = aiohttp_jinja2.render_template("error.html", request, {"message": message}, status=status)
    return response


async def _context(request: web.Request) -> dict[str, Any]:
    settings = request.app[CTX].settings
    session_row = request.get(WEB_SESSION)
    return {
        "viewer": request.get(VIEWER),
        "csrf": session_row.csrf_token if session_row is not None else "",
        "locale": request.get(LOCALE, "id"),
        "settings": settings,
        "now": request.get(NOW),
        "path": request.path,
    }


def create_web_app(ctx: AppContext, *, i18n: CatalogI18n | None = None, messenger: Messenger | None = None,
                   ) -> web.Application:
    """The desk. ``messenger`` (the running bot's) tells recipients and TKSK of actions taken here."""
    settings = ctx.settings
    tiles = settings.web.map_tile_url
    tile_origin = "{0.scheme}://{0.netloc}".format(urlsplit(tiles)) if tiles else ""
    headers = security_headers(tile_origin, login_widget=bool(settings.web.public_url))
    # A broadcast's photo may be up to 10 MB: bodies up to 12 MB are read, so a larger photo gets a clear answer.
    app = web.Application(middlewares=[headers, request_scope], client_max_size=12 * 1024**2)
    app[CTX] = ctx
    app[I18N] = i18n or CatalogI18n(default_locale=settings.i18n.default_locale)
    app[MESSENGER] = messenger
    app[SIGN_IN_LIMIT] = RateLimiter(settings.web.sign_in_attempts_per_minute)
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        context_processors=[_context],
        undefined=jinja2.StrictUndefined,
    )
    env.globals["_"] = template_gettext
    filters.install(env, settings)
    from web import routes

    routes.register(app)
    app.router.add_static("/static/", HERE / "static", name="static")
    return app


def messenger_of(request: web.Request) -> Messenger | None:
    return request.app[MESSENGER]  # type: ignore[return-value]


def render(request: web.Request, template: str, values: dict[str, Any], status: int = 200) -> web.Response:
    return aiohttp_jinja2.render_template(template, request, values, status=status)


Render = Callable[..., web.Response]
