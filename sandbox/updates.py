"""The per-bot update queue with Telegram's getUpdates semantics.

Why its own module: both delivery paths (long polling and webhook) consume the same queue, and the
"has the bot finished reacting?" question asked by tests is answered from it: an update counts as
processed once the bot confirmed it (getUpdates with a higher ``offset``, or webhook answered 2xx).

Semantics kept from Telegram:
* update_id grows by one per update; ``offset`` confirms every update with a lower id;
  a negative offset keeps only the last ``-offset`` updates;
* ``allowed_updates`` applies to updates created after it was set (default: everything except
  chat_member, message_reaction, message_reaction_count);
* a long poll returns as soon as one update is available, or ``[]`` after ``timeout`` seconds.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class UpdateQueue:
    def __init__(self, first_update_id: int = 1, on_change: Callable[[], None] | None = None) -> None:
        self._pending: deque[dict[str, Any]] = deque()
        self._next_id = first_update_id
        self._arrived = asyncio.Event()
        self._on_change = on_change or (lambda: None)
        self.allowed_updates: frozenset[str] | None = None  # None → Telegram's default set
        self.enqueued = 0
        self.confirmed = 0
        self.dropped = 0

    # -- producer side
    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Append an update; returns it, or None when the bot's allowed_updates filter it out."""
        if not self.allows(kind):
            self.dropped += 1
            return None
        update = {"update_id": self._next_id, kind: payload}
        self._next_id += 1
        self._pending.append(update)
        self.enqueued += 1
        self._arrived.set()
        self._on_change()
        return update

    def allows(self, kind: str) -> bool:
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in DEFAULT_EXCLUDED

    def set_allowed(self, allowed: list[str] | None) -> None:
        if allowed is not None:
            self.allowed_updates = frozenset(allowed) if allowed else None

    # -- consumer side
    @property
    def pending(self) -> int:
        return len(self._pending)

    def confirm(self, offset: int | None) -> None:
        """Forget updates below ``offset`` (negative: keep only the last ``-offset``)."""
        if offset is None:
            return
        removed = 0
        if offset < 0:
            while len(self._pending) > -offset:
                self._pending.popleft()
                removed += 1
        else:
            while self._pending and self._pending[0]["update_id"] < offset:
                self._pending.popleft()
                removed += 1
        if removed:
            self.confirmed += removed
            self._on_change()

    def confirm_one(self, update_id: int) -> None:
        """Webhook path: an individual update was accepted (may be out of order)."""
        for i, u in enumerate(self._pending):
            if u["update_id"] == update_id:
                del self._pending[i]
                self.confirmed += 1
                self._on_change()
                return

    def peek(self, limit: int = 100) -> list[dict[str, Any]]:
        out = []
        for u in self._pending:
            if len(out) >= limit:
                break
            out.append(u)
        return out

    def drop_all(self) -> None:
        n = len(self._pending)
        self._pending.clear()
        self.dropped += n
        self._on_change()

    async def wait(self, timeout: float) -> bool:
        """Wait until at least one update is pending; False on timeout."""
        if self._pending:
            return True
        if timeout <= 0:
            return False
        self._arrived.clear()
        try:
            await asyncio.wait_for(self._arrived.wait(), timeout)
        except TimeoutError:
            return bool(self._pending)
        return bool(self._pending)

    def wake(self) -> None:
        """Wake waiters without adding an update (used to terminate a superseded long poll)."""
        self._arrived.set()
