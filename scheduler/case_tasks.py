"""Case deadlines and case notices, run every scan tick (and by ``uep jobs run-due``).

``case_deadlines`` first (it may queue alerts and notices), then ``case_notices`` sends what is due, so an
escalation found in a tick is announced in the same tick.
"""

from __future__ import annotations

from scheduler.tasks import TaskRun, scan_task
from services.cases.deadlines import run_deadlines
from services.cases.notify import deliver_due


@scan_task("case_deadlines")
async def case_deadlines(run: TaskRun) -> int:
    return await run_deadlines(run.ctx, run.now)


@scan_task("case_notices")
async def case_notices(run: TaskRun) -> int:
    return await deliver_due(run.ctx, run.messenger, run.now)
