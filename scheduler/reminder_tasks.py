"""Scan tasks of check-ins: reminders and missed periods, the TKSK's daily digest (both queued in the outbox,
which sends them after the commit), photo downloads."""

from __future__ import annotations

from scheduler.tasks import TaskRun, scan_task
from services.photos import process_photos
from services.reminders import pending_reminders, send_due_reminders, send_missed_digests


@scan_task("checkin_reminders")
async def checkin_reminders(run: TaskRun) -> int:
    # The outbox sends them: keep about two scan intervals of the pacer's rate queued there (less what is
    # still waiting), so the sender never runs dry between ticks (queueing only one interval's worth left it
    # idle for the end of every interval: 20.7/s against a limit of 25/s); the rest go in the next ticks. A
    # row queued early is checked again just before it is sent (services/reminders.py's refresher).
    async with run.ctx.session_factory() as session:
        waiting = await pending_reminders(session)
    limit = run.ctx.pacer.budget(2 * run.ctx.settings.scheduler.scan_interval_seconds, share=1.0) - waiting
    if limit <= 0:
        return 0
    return await send_due_reminders(run.ctx, run.messenger, run.now, limit=limit)


@scan_task("missed_digest")
async def missed_digest(run: TaskRun) -> int:
    return await send_missed_digests(run.ctx, run.messenger, run.now)


@scan_task("photo_downloads")
async def photo_downloads(run: TaskRun) -> int:
    outcomes = await process_photos(run.messenger.bot, run.ctx.session_factory, settings=run.ctx.settings,
                                    now=run.now, limit=run.ctx.settings.scheduler.batch_size)
    return len(outcomes)
