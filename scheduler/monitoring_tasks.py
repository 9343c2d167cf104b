"""Scan tasks of monitoring in the field: the visit plan rows, the weekly list of visits due, overdue visits
reported to Dinas Sosial, and the recipients told that a visit moved their case on."""

from __future__ import annotations

from scheduler.tasks import TaskRun, scan_task
from services.monitoring.plan import ensure_plan_rows, notify_overdue, send_weekly_lists


@scan_task("visit_plan_rows")
async def visit_plan_rows(run: TaskRun) -> int:
    async with run.ctx.session_factory.begin() as session:
        return await ensure_plan_rows(session, now=run.now, settings=run.ctx.settings)


@scan_task("visit_weekly_lists")
async def visit_weekly_lists(run: TaskRun) -> int:
    return await send_weekly_lists(run.ctx, run.messenger, run.now)


@scan_task("visit_overdue")
async def visit_overdue(run: TaskRun) -> int:
    return await notify_overdue(run.ctx, run.messenger, run.now)
