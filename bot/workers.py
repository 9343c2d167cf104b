"""Long-running background workers started with the bot. Each feature adds its worker here: services/ never
import the app, so the app hands each worker the parts it needs."""

from __future__ import annotations

import asyncio
import contextlib

from bot.app import BotApp, background_worker
from services.broadcast.worker import broadcast_worker
from services.outgoing.outbox import OutboxSender


@background_worker
async def broadcast_delivery(app: BotApp) -> None:
    await broadcast_worker(app.ctx, app.bot, app.i18n)


@background_worker
async def web_desk(app: BotApp) -> None:
    """The staff web desk beside the bot, when ``web.enabled``."""
    if not app.ctx.settings.web.enabled:
        return
    from web.server import start_desk

    username = None
    with contextlib.suppress(Exception):  # the desk works without the Login Widget
        username = (await app.bot.me()).username
    runner = await start_desk(app.ctx, i18n=app.i18n, messenger=app.messenger, bot_username=username)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


@background_worker
async def outbox_sender(app: BotApp) -> None:
    """The outbox sender (services/outgoing/outbox.py): woken by each commit that writes outbox rows."""
    import scheduler.jobs  # noqa: F401  (the modules that register the outbox kinds' refreshers and fallbacks)

    sender = OutboxSender(app.ctx, app.messenger)
    app.outbox = sender  # type: ignore[attr-defined]  (tests run it after moving the clock)
    await sender.run()
