"""UU PDP scan tasks: request and breach deadlines (their messages go through the outbox), then retention
anonymises whoever's retention has ended."""

from __future__ import annotations

from scheduler.tasks import TaskRun, scan_task
from services.privacy.anonymise import run_retention
from services.privacy.deadlines import run_privacy_deadlines


@scan_task("privacy_deadlines")
async def privacy_deadlines(run: TaskRun) -> int:
    return await run_privacy_deadlines(run.ctx, run.now)


@scan_task("privacy_retention")
async def privacy_retention(run: TaskRun) -> int:
    return await run_retention(run.ctx, run.now)
