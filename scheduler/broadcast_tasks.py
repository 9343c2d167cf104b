"""Scan task of broadcasts: scheduled broadcasts whose time has come start sending."""

from __future__ import annotations

import logging

from scheduler.tasks import TaskRun, scan_task
from services.broadcast import deliveries as dl
from services.broadcast.progress import queue_final_report
from services.broadcast.worker import progress_sink, running_engines, wake

log = logging.getLogger("uep.broadcast")


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
    if not running_engines():  # no worker in this process (e.g. `uep jobs run-due`): finish and report here
        async with run.ctx.session_factory.begin() as session:
            finished = await dl.finish_done(session, run.now)
            for bid in finished:  # the sender's final report: an outbox row in the same commit
                await queue_final_report(session, bid)
        if finished:
            sink = progress_sink(run.ctx, run.messenger.bot, run.messenger.i18n)
            for bid in finished:
                async with run.ctx.session_factory() as session:
                    counts = await dl.counts(session, bid)
                await sink.finished(bid, counts)
    return len(started)
