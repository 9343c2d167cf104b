"""One scan tick: every registered task once, each isolated so one failure does not stop the others."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from bot.context import AppContext
from bot.messenger import Messenger
from scheduler.tasks import TaskRun, registered_tasks
from services import metrics

log = logging.getLogger("uep.scheduler")


async def run_due(ctx: AppContext, messenger: Messenger, now: datetime | None = None) -> dict[str, int]:
    run = TaskRun(ctx=ctx, messenger=messenger, now=now or ctx.clock.now())
    handled: dict[str, int] = {}
    with messenger.i18n.context():
        for name, task in registered_tasks().items():
            started = time.perf_counter()
            try:
                with metrics.sending(name):
                    handled[name] = await task(run)
            except Exception:
                log.exception("scan task %s failed", name)
                handled[name] = -1
            finally:
                metrics.SCAN_SECONDS.labels(name).observe(time.perf_counter() - started)
    return handled
