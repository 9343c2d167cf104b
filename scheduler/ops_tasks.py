"""Housekeeping of operations: the ledger of processed updates keeps a week (Telegram redelivers for a day)."""

from __future__ import annotations

from bot.middlewares.update_ledger import prune
from scheduler.tasks import TaskRun, scan_task


@scan_task("processed_updates")
async def prune_processed_updates(run: TaskRun) -> int:
    async with run.ctx.session_factory.begin() as session:
        return await prune(session, run.now)
