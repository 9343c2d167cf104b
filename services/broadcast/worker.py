"""The broadcast delivery worker (started with the bot) and the scan task that starts scheduled broadcasts."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from bot.app import background_worker
from scheduler.tasks import TaskRun, scan_task
from services.broadcast import deliveries as dl
from services.broadcast.progress import TelegramProgress
from services.broadcast.sender import DeliveryEngine

if TYPE_CHECKING:
    from bot.app import BotApp

log = logging.getLogger("uep.broadcast")

# Engines running in this process, so a broadcast created here starts without waiting for the next poll.
_ENGINES: set[DeliveryEngine] = set()
RESTART_DELAY = 5.0


def wake() -> None:
    for engine in list(_ENGINES):
        engine.wakeup.set()


def running_engines() -> list[DeliveryEngine]:
    return list(_ENGINES)


@background_worker
async def broadcast_worker(app: BotApp) -> None:
    """Send due broadcast deliveries for as long as the bot runs; survives its own failures (DB outage)."""
    ctx = app.ctx
    sink = TelegramProgress(app.bot, app.i18n, ctx.session_factory, ctx.clock, ctx.settings)
    while True:
        engine = DeliveryEngine(ctx.session_factory, app.bot, ctx.clock, ctx.settings.broadcast, sink=sink)
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


@scan_task("broadcast_start")
async def start_scheduled_broadcasts(run: TaskRun) -> int:
    """Scheduled broadcasts whose time has come get their delivery rows and start sending. Broadcasts left
    with nothing pending (an empty audience, or a worker that stopped after its last message) are finished."""
    async with run.ctx.session_factory.begin() as session:
        started = await dl.start_due(session, run.now)
    for bid in started:
        log.info("broadcast %s started", bid)
    if started:
        wake()
    if not _ENGINES:  # no worker in this process (e.g. `uep jobs run-due`): finish and report here
        async with run.ctx.session_factory.begin() as session:
            finished = await dl.finish_done(session, run.now)
        if finished:
            sink = TelegramProgress(
                run.messenger.bot, run.messenger.i18n, run.ctx.session_factory, run.ctx.clock, run.ctx.settings
            )
            for bid in finished:
                async with run.ctx.session_factory() as session:
                    counts = await dl.counts(session, bid)
                await sink.finished(bid, counts)
    return len(started)
