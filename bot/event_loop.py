"""The event loop a ``uep`` process runs on.

uvloop (libuv under asyncio's API, the loop aiogram's ``fast`` extra installs) does the socket work of every
update — the webhook post, the Bot API calls, PostgreSQL and Redis — in C. ``runtime.event_loop = "asyncio"``
keeps asyncio's own loop, which is also used where uvloop is not installed (Windows)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("uep.runtime")


def loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if kind != "uvloop":
        return None
    try:
        import uvloop
    except ImportError:
        log.warning("runtime.event_loop is uvloop, but uvloop is not installed: asyncio's loop is used")
        return None
    return uvloop.new_event_loop


def run_loop(main: Coroutine[Any, Any, T], kind: str) -> T:
    with asyncio.Runner(loop_factory=loop_factory(kind)) as runner:
        return runner.run(main)
