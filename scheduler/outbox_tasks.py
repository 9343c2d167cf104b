"""The outbox in the scan tick, after every other task: what they queued in this tick, and anything due that
no wake-up sent (``uep jobs run-due``, a moved clock, rows written by another process)."""

from __future__ import annotations

from scheduler.tasks import TaskRun, scan_task
from services.outgoing.outbox import OutboxSender


@scan_task("outbox", last=True)
async def outbox(run: TaskRun) -> int:
    return await OutboxSender(run.ctx, run.messenger).send_due(run.now)
