"""Recording of requests Telegram would refuse.

Why: an error answer alone is easy to swallow (aiogram raises, a handler catches and logs).  Every
refusal that a correct bot would never provoke (400/401/404/409, not injected) is kept here, so a
pytest fixture can fail any test in which the bot made such a request.  Tests that exercise the
checks themselves declare what they expect with :meth:`ViolationLog.expect`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Violation:
    method: str
    params: dict[str, Any]  # summary: long values shortened, files replaced by their size
    description: str
    error_code: int
    token: str
    at: float = field(default_factory=time.time)
    expected: bool = False

    def __str__(self) -> str:
        mark = " (expected)" if self.expected else ""
        return f"{self.method} → {self.error_code} {self.description}{mark} params={self.params}"


@dataclass
class _Expectation:
    pattern: re.Pattern[str] | None
    method: str | None
    remaining: int | None

    def matches(self, v: Violation) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method and self.method.lower() != v.method.lower():
            return False
        return self.pattern is None or bool(self.pattern.search(v.description))


class ViolationLog:
    def __init__(self) -> None:
        self.items: list[Violation] = []
        self._expected: list[_Expectation] = []

    def expect(self, pattern: str | None = None, *, method: str | None = None, times: int | None = 1) -> None:
        """Mark ``times`` violations matching ``pattern`` (regex on description) as expected.

        Already recorded unexpected ones are matched first (so a test may declare after the fact),
        then future ones.  ``times=None`` means every matching violation from now on.
        """
        exp = _Expectation(re.compile(pattern) if pattern else None, method, times)
        for v in self.items:
            if not v.expected and exp.matches(v):
                v.expected = True
                if exp.remaining is not None:
                    exp.remaining -= 1
        self._expected.append(exp)

    def record(self, v: Violation) -> Violation:
        for e in self._expected:
            if e.matches(v):
                v.expected = True
                if e.remaining is not None:
                    e.remaining -= 1
                break
        self.items.append(v)
        return v

    @property
    def unexpected(self) -> list[Violation]:
        return [v for v in self.items if not v.expected]

    def clear(self) -> None:
        self.items.clear()
        self._expected.clear()

    def assert_none(self) -> None:
        bad = self.unexpected
        if bad:
            lines = "\n  ".join(str(v) for v in bad)
            raise AssertionError(f"the bot made {len(bad)} request(s) Telegram would reject:\n  {lines}")


def summarize(params: dict[str, Any], limit: int = 200) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in params.items():
        if hasattr(v, "data") and isinstance(v.data, bytes):
            out[k] = f"<file {len(v.data)} bytes>"
        elif isinstance(v, (bytes, bytearray)):
            out[k] = f"<{len(v)} bytes>"
        else:
            s = v if isinstance(v, (int, float, bool)) or v is None else str(v)
            out[k] = s[:limit] + "…" if isinstance(s, str) and len(s) > limit else s
    return out
