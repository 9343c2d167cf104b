"""APScheduler 3.11: one interval job that runs the scan tick."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.context import AppContext
from bot.messenger import Messenger
from scheduler.runner import run_due


def create_scheduler(ctx: AppContext, messenger: Messenger) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        run_due,
        "interval",
        seconds=ctx.settings.scheduler.scan_interval_seconds,
        args=(ctx, messenger),
        id="scan",
        max_instances=1,   # a slow tick is never overlapped by the next
        coalesce=True,     # after downtime: one catch-up tick, not a burst
        misfire_grace_time=None,
        replace_existing=True,
    )
    return scheduler
