"""The broadcast delivery worker: one engine per process, sending due deliveries for as long as the bot runs.

Started by the bot (``bot/workers.py`` registers it with the app); the scan task that starts scheduled broadcasts
is ``scheduler/broadcast_tasks.py``. Nothing here knows the app: it gets the context, the Bot and the catalogs.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot

from bot.context import AppContext
from bot.i18n import CatalogI18n
from services.broadcast.progress import TelegramProgress
from services.broadcast.sender import DeliveryEngine

log = logging.getLogger("uep.broadcast")

# Engines running in this process, so a broadcast created here starts without waiting for the next poll.
_ENGINES: set[DeliveryEngine] = set()
RESTART_DELAY = 5.0


def wake() -> None:
    for engine in list(_ENGINES):
        engine.wakeup.set()


def running_engines() -> list[DeliveryEngine]:
    return list(_ENGINES)


def progress_sink(ctx: AppContext, bot: Bot, i18n: CatalogI18n) -> TelegramProgress:
    return TelegramProgress(bot, i18n, ctx.session_factory, ctx.clock, ctx.settings, pacer=ctx.pacer)


async def broadcast_worker(ctx: AppContext, bot: Bot, i18n: CatalogI18n) -> None:
    """Send due broadcast deliveries until cancelled; survives its own failures (DB outage)."""
    sink = progress_sink(ctx, bot, i18n)
    while True:
        engine = DeliveryEngine(ctx.session_factory, bot, ctx.clock, ctx.settings.broadcast, sink=sink,
                                pacer=ctx.pacer)
        _ENGINES.add(engine)
        try:
            await engine.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("broadcast worker failed; restarting in %ss", RESTART_DELAY)
            await asyncio.sleep(RESTART_DELAY)
        finally:
            _ENGINES.discard(engine)
