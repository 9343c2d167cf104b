"""Telegram-like flood control (off by default, switchable at runtime).

Why: Telegram throttles bots at roughly one message per second per chat (with a short burst
allowance) and about 30 messages per second overall, answering ``429 Too Many Requests: retry after
N``.  A bot that mass-notifies people must respect that; strict mode lets tests and benchmarks
prove it does.  Implemented as two token buckets; rejected calls do not consume tokens.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class FloodConfig:
    enabled: bool = False
    per_chat_rate: float = 1.0  # messages per second in one chat
    per_chat_burst: float = 3.0  # how many may go at once before throttling starts
    global_rate: float = 30.0  # messages per second for the whole bot
    global_burst: float = 30.0
    min_retry_after: int = 1
    count_edits: bool = False  # Telegram throttles edits less strictly; opt in


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class FloodControl:
    config: FloodConfig = field(default_factory=FloodConfig)
    now: Callable[[], float] = time.monotonic
    rejected: int = 0
    _chats: dict[tuple[str, int], _Bucket] = field(default_factory=dict)
    _global: dict[str, _Bucket] = field(default_factory=dict)

    def configure(self, **changes: object) -> None:
        for k, v in changes.items():
            if not hasattr(self.config, k):
                raise AttributeError(f"unknown flood setting {k!r}")
            setattr(self.config, k, v)
        self.reset()

    def reset(self) -> None:
        self._chats.clear()
        self._global.clear()

    def counts(self, method: str) -> bool:
        m = method.lower()
        if m == "sendchataction":
            return False
        if m.startswith("send") or m in ("copymessage", "forwardmessage", "copymessages", "forwardmessages"):
            return True
        return self.config.count_edits and m.startswith("edit")

    def check(self, token: str, chat_id: int, cost: int = 1) -> int | None:
        """None when allowed (tokens consumed), else the retry_after seconds to answer with."""
        if not self.config.enabled:
            return None
        t = self.now()
        cfg = self.config
        chat = self._chats.setdefault((token, chat_id), _Bucket(cfg.per_chat_burst, t))
        glob = self._global.setdefault(token, _Bucket(cfg.global_burst, t))
        _refill(chat, t, cfg.per_chat_rate, cfg.per_chat_burst)
        _refill(glob, t, cfg.global_rate, cfg.global_burst)
        wait = max(_wait(chat, cost, cfg.per_chat_rate), _wait(glob, cost, cfg.global_rate))
        if wait > 0:
            self.rejected += 1
            return max(cfg.min_retry_after, math.ceil(wait))
        chat.tokens -= cost
        glob.tokens -= cost
        return None


def _refill(b: _Bucket, t: float, rate: float, burst: float) -> None:
    b.tokens = min(burst, b.tokens + (t - b.updated) * rate)
    b.updated = t


def _wait(b: _Bucket, cost: int, rate: float) -> float:
    missing = cost - b.tokens
    return 0.0 if missing <= 1e-9 else missing / rate
