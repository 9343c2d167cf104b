"""Long-running background workers started with the bot. Each feature adds its worker here: services/ never
import the app, so the app hands each worker the parts it needs."""

from __future__ import annotations

from bot.app import BotApp, background_worker
from services.broadcast.worker import broadcast_worker


@background_worker
async def broadcast_delivery(app: BotApp) -> None:
    await broadcast_worker(app.ctx, app.bot, app.i18n)
