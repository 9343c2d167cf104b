"""UU PDP scan tasks: request and breach deadlines first (they queue messages), then the privacy messages are
sent, then retention anonymises whoever's retention has ended."""

from __future__ import annotations

from scheduler.tasks import TaskRun, scan_task
from services.privacy.anonymise import run_retention
from services.privacy.deadlines import run_privacy_deadlines
from services.privacy.messages import deliver_due


@scan_task("privacy_deadlines")
async def privacy_deadlines(run: TaskRun) -> int:
    return await run_privacy_deadlines(run.ctx, run.now)


@scan_task("privacy_messages")
async def privacy_messages(run: TaskRun) -> int:
    return await deliver_due(run.ctx, run.messenger, run.now)


@scan_task("privacy_retention")
async def privacy_retention(run: TaskRun) -> int:
    return await run_retention(run.ctx, run.now)
