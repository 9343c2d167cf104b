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
_LAST: set[str] = set()


def scan_task(name: str, *, last: bool = False) -> Callable[[ScanTask], ScanTask]:
    """Register a scan task; ``last``: after all the others (the outbox, which sends what they queued)."""
    def register(func: ScanTask) -> ScanTask:
        _TASKS[name] = func
        if last:
            _LAST.add(name)
        return func

    return register


def registered_tasks() -> dict[str, ScanTask]:
    """Import the modules that register tasks, then return them in registration order (``last`` ones last)."""
    import scheduler.jobs  # noqa: F401

    order = [n for n in _TASKS if n not in _LAST] + [n for n in _TASKS if n in _LAST]
    return {name: _TASKS[name] for name in order}
