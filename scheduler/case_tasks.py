"""Case deadlines, run every scan tick (and by ``uep jobs run-due``).

Alerts and notices it queues are outbox rows: the ``outbox`` task, registered after this one, sends what is
due in the same tick (and the bot's outbox sender, woken by the commit, usually already has).
"""

from __future__ import annotations

from scheduler.tasks import TaskRun, scan_task
from services.cases.deadlines import run_deadlines


@scan_task("case_deadlines")
async def case_deadlines(run: TaskRun) -> int:
    return await run_deadlines(run.ctx, run.now)
