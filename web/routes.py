"""All desk routes, one module per area."""

from __future__ import annotations

from aiohttp import web


def register(app: web.Application) -> None:
    from web.pages import account, broadcasts, cases, locations, media, people, photos, privacy, reports, sign_in

    for module in (sign_in, account, cases, people, media, photos, locations, broadcasts, reports, privacy):
        app.router.add_routes(module.routes)
