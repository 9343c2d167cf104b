"""The registry of scan tasks run by the one periodic job (and by ``uep jobs run-due``).

A task handles what is due at ``run.now`` in batches and returns how many rows it handled. Tasks must be
idempotent and safe with several processes: claim rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) before
sending, and record each send once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.context import AppContext
from bot.messenger import Messenger


@dataclass(slots=True)
class TaskRun:
    ctx: AppContext
    messenger: Messenger
    now: datetime


ScanTask = Callable[[TaskRun], Awaitable[int]]

_TASKS: dict[str, ScanTask] = {}


def scan_task(name: str) -> Callable[[ScanTask], ScanTask]:
    def register(func: ScanTask) -> ScanTask:
        _TASKS[name] = func
        return func

    return register


def registered_tasks() -> dict[str, ScanTask]:
    """Import the modules that register tasks, then return them in registration order."""
    import scheduler.jobs  # noqa: F401

    return dict(_TASKS)
