"""Fault injection: make a chat or a method fail the way Telegram sometimes does.

Why: the bot's retry/backoff and "person blocked the bot" paths only run when Telegram misbehaves,
which never happens on demand.  A test arms a :class:`Fault` (429 with retry_after, 5xx, an HTML error
page from a proxy, 403 blocked or deactivated, a hang past the client's timeout, or a kill point) for N
calls or until cleared.  Answers produced by faults are flagged ``injected`` and never count as violations.

* ``html``: the answer is an nginx-style HTML page with ``status`` (502 by default), not Telegram's JSON;
  aiogram raises ``ClientDecodeError`` for it;
* ``kill``: the request is carried out (the message reaches the person), then the process ``pid`` is
  killed with SIGKILL before it gets the answer: a crash "right after Telegram got it", for crash tests;
* ``contains``: only calls whose ``text`` or ``caption`` contains this string match.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from .errors import BOT_BLOCKED, USER_DEACTIVATED, ApiError, forbidden, too_many_requests

FAULT_KINDS = ("429", "5xx", "html", "blocked", "deactivated", "hang", "error", "kill")
_ids = itertools.count(1)


@dataclass
class Fault:
    kind: str  # one of FAULT_KINDS
    method: str | None = None  # case-insensitive; None = any method
    chat_id: int | None = None  # None = any chat
    times: int | None = 1  # None = until cleared
    retry_after: int = 1
    status: int = 500
    hang_seconds: float = 60.0
    description: str | None = None  # for kind="error": custom 4xx/5xx text
    contains: str | None = None  # match only calls whose text/caption contains this
    pid: int | None = None  # for kind="kill": the process to kill
    id: int = field(default_factory=lambda: next(_ids))
    fired: int = 0

    def matches(self, method: str, chat_id: Any, params: dict[str, Any] | None = None) -> bool:
        if self.method and self.method.lower() != method.lower():
            return False
        if self.chat_id is not None and _as_int(chat_id) != self.chat_id:
            return False
        if self.contains is not None:
            said = " ".join(str((params or {}).get(k) or "") for k in ("text", "caption"))
            if self.contains not in said:
                return False
        return self.times is None or self.fired < self.times

    def error(self) -> ApiError | None:
        """The error to answer with; None for "hang" (the request proceeds after the delay)."""
        if self.kind == "429":
            return too_many_requests(self.retry_after, injected=True)
        if self.kind == "html":
            status = self.status if self.status >= 500 else 502
            return HtmlErrorPage(status, _NGINX_PAGE.format(status=status, text=_STATUS_TEXT.get(status, "Error")))
        if self.kind == "5xx":
            text = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                    504: "Gateway Timeout"}.get(self.status, "Internal Server Error")
            return ApiError(self.status, self.description or text, injected=True)
        if self.kind == "blocked":
            e = forbidden(BOT_BLOCKED)
        elif self.kind == "deactivated":
            e = forbidden(USER_DEACTIVATED)
        elif self.kind == "error":
            e = ApiError(self.status, self.description or "Bad Request: injected error")
        else:
            return None  # hang, kill: the request goes on
        e.injected = True
        return e

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("id", "kind", "method", "chat_id", "times", "retry_after",
                                                "status", "hang_seconds", "description", "contains", "pid",
                                                "fired")}


class FaultInjector:
    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.fired_total = 0

    def add(self, fault: Fault) -> Fault:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}; use one of {FAULT_KINDS}")
        self.faults.append(fault)
        return fault

    def clear(self, fault: Fault | int | None = None) -> None:
        if fault is None:
            self.faults.clear()
            return
        fid = fault.id if isinstance(fault, Fault) else fault
        self.faults = [f for f in self.faults if f.id != fid]

    def take(self, method: str, chat_id: Any, params: dict[str, Any] | None = None) -> Fault | None:
        """The first armed fault matching this call (its use is counted), or None."""
        for f in self.faults:
            if f.matches(method, chat_id, params):
                f.fired += 1
                self.fired_total += 1
                if f.times is not None and f.fired >= f.times:
                    self.faults.remove(f)
                return f
        return None


_STATUS_TEXT = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Time-out"}
_NGINX_PAGE = (
    "<html>\r\n<head><title>{status} {text}</title></head>\r\n<body>\r\n<center><h1>{status} {text}</h1></center>"
    "\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


class HtmlErrorPage(ApiError):
    """An error answered with an HTML page (a proxy in front of the Bot API), not Telegram's JSON."""

    def __init__(self, status: int, html: str) -> None:
        super().__init__(status, f"HTML {status} page", injected=True)
        self.html = html


def _as_int(v: Any) -> Any:
    try:
        return int(v)
    except (TypeError, ValueError):
        return v
