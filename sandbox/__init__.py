"""Telegram Bot API emulator used by conversation tests, benchmarks and the browser sandbox.

The bot never reaches Telegram from our machines; this package is our Telegram: it speaks the Bot
API over HTTP, validates every request against the official spec and prose limits, records what
Telegram would reject, and simulates people in private chats.  Start with :class:`TelegramEmulator`.

Names are imported lazily so ``python -m sandbox.emulator`` does not import the module twice.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "TelegramEmulator": "emulator", "load_spec": "emulator", "make_token": "emulator",
    "ApiError": "errors", "Event": "events", "Fault": "faults", "FloodConfig": "flood",
    "MethodOptions": "methods", "Person": "people", "BotApiSpec": "spec", "UploadedFile": "spec",
    "Violation": "violations", "BotState": "world", "StoredFile": "world", "StoredMessage": "world",
    "User": "world",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
