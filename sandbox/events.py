"""Event stream of everything that happens in the chats.

Why: tests wait for "the bot answered", the browser sandbox streams the conversation live, and the
control API lets other processes poll it.  One ordered, numbered log with subscribers serves all
three.  Subscribers may be plain or async callables; exceptions in them never break the emulator.
"""

from __future__ import annotations

import asyncio
import bisect
import inspect
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# Event kinds
BOT_MESSAGE = "bot_message"  # bot → user, new message
BOT_EDIT = "bot_edit"
BOT_DELETE = "bot_delete"
USER_UPDATE = "user_update"  # user → bot, an update was enqueued
CALLBACK_ANSWER = "callback_answer"
CHAT_ACTION = "chat_action"


@dataclass
class Event:
    seq: int
    kind: str
    token: str
    chat_id: int | None
    payload: dict[str, Any]
    message: Any = field(default=None, repr=False)  # the StoredMessage, when there is one

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "chat_id": self.chat_id, "payload": self.payload}


Subscriber = Callable[[Event], Any]


class EventBus:
    def __init__(self, keep: int = 100_000) -> None:
        self.log: list[Event] = []
        self._subscribers: list[Subscriber] = []
        self._changed = asyncio.Event()
        self._seq = 0
        self._keep = keep
        self._tasks: set[asyncio.Task[Any]] = set()
        # Per chat as well: a simulated person waits on their own chat only, so with 1,500 people waiting one
        # bot message wakes one waiter instead of all of them.
        self._chat_log: dict[int, list[Event]] = defaultdict(list)
        self._chat_changed: dict[int, asyncio.Event] = {}
        self._keep_per_chat = 2_000

    @property
    def last_seq(self) -> int:
        return self._seq

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Register ``callback(event)``; returns a function that unsubscribes it."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def publish(
        self, kind: str, token: str, chat_id: int | None, payload: dict[str, Any], message: Any = None
    ) -> Event:
        self._seq += 1
        ev = Event(self._seq, kind, token, chat_id, payload, message)
        self.log.append(ev)
        if len(self.log) > self._keep:
            del self.log[: len(self.log) - self._keep]
        for cb in list(self._subscribers):
            try:
                res = cb(ev)
                if inspect.isawaitable(res):
                    task = asyncio.ensure_future(res)
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            except Exception:  # noqa: BLE001 - a broken subscriber must not break the emulator
                log.exception("event subscriber failed")
        self._changed.set()
        self._changed = asyncio.Event()
        if chat_id is not None:
            chat_log = self._chat_log[chat_id]
            chat_log.append(ev)
            if len(chat_log) > self._keep_per_chat:
                del chat_log[: len(chat_log) - self._keep_per_chat]
            changed = self._chat_changed.pop(chat_id, None)
            if changed is not None:
                changed.set()
        return ev

    def since(self, seq: int) -> list[Event]:
        if not self.log or seq >= self._seq:
            return []
        first = self.log[0].seq
        return self.log[max(0, seq + 1 - first) :]

    def chat_since(self, chat_id: int, seq: int) -> list[Event]:
        """Events in one chat numbered after ``seq``."""
        chat_log = self._chat_log.get(chat_id)
        if not chat_log or chat_log[-1].seq <= seq:
            return []
        return chat_log[bisect.bisect_right(chat_log, seq, key=lambda ev: ev.seq) :]

    async def wait_chat_change(self, chat_id: int, timeout: float) -> None:
        """Wait until something happens in one chat (or ``timeout`` passes)."""
        ev = self._chat_changed.get(chat_id)
        if ev is None:
            ev = self._chat_changed[chat_id] = asyncio.Event()
        try:
            await asyncio.wait_for(ev.wait(), timeout)
        except TimeoutError:
            pass

    async def wait_change(self, timeout: float) -> None:
        ev = self._changed
        try:
            await asyncio.wait_for(ev.wait(), timeout)
        except TimeoutError:
            pass
