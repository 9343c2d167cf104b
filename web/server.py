"""Serving the desk: alone (``uep web``) or beside the bot (``uep run`` with ``web.enabled``, ``uep sandbox``)."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.context import AppContext
from bot.i18n import CatalogI18n
from bot.messenger import Messenger
from web.app import create_web_app
from web.keys import BOT_USERNAME

log = logging.getLogger(__name__)


async def start_desk(ctx: AppContext, *, host: str | None = None, port: int | None = None,
                     i18n: CatalogI18n | None = None, messenger: Messenger | None = None,
                     bot_username: str | None = None) -> web.AppRunner:
    """Start serving in the background; returns the runner (``await runner.cleanup()`` stops it)."""
    app = create_web_app(ctx, i18n=i18n, messenger=messenger)
    if bot_username:
        app[BOT_USERNAME] = bot_username
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    cfg = ctx.settings.web
    await web.TCPSite(runner, host or cfg.host, cfg.port if port is None else port).start()
    log.info("web desk on %s", cfg.base_url)
    return runner
