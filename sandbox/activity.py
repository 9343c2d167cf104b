"""Tracking of "is the bot still busy?" for ``wait_until_processed``.

Why: after a simulated person acts, a test must know when the bot has finished reacting.  From the
outside that means: every update was confirmed (offset or webhook 2xx), no API call is in flight,
and nothing happened for a short quiet period.  Long polls (getUpdates) are not "activity" — a bot
idles inside them.
"""

from __future__ import annotations

import asyncio
import time


class Activity:
    def __init__(self) -> None:
        self.inflight = 0
        self.last = time.monotonic()
        self._changed = asyncio.Event()

    def begin(self) -> None:
        self.inflight += 1
        self.touch()

    def end(self) -> None:
        self.inflight -= 1
        self.touch()

    def touch(self) -> None:
        self.last = time.monotonic()
        self._changed.set()

    def quiet_for(self) -> float:
        return time.monotonic() - self.last

    async def wait_change(self, timeout: float) -> None:
        self._changed.clear()
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            pass
