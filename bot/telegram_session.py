"""The HTTP session the Bot uses: aiogram's aiohttp session, keeping its parsed response types alive.

Why: aiogram parses every Bot API answer with ``Response[method.__returning__]``, a parametrised pydantic
generic. Pydantic (2.12+) caches those classes in a ``WeakValueDictionary`` only, and a model class sits in
reference cycles, so each garbage-collector pass frees it and the next API call builds the class again: a full
schema build of ``Response[Message]`` (several milliseconds of CPU) on nearly every sendMessage once handlers
allocate enough to trigger the collector (measured with ``bench/core_throughput.py``: ~40% of the bot's CPU,
throughput below a sixth of a bare aiogram bot). Holding one strong reference per return type keeps pydantic's
cache warm; there are a few dozen types at most.
"""

from __future__ import annotations

from typing import Any

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods.base import Response

_PINNED: dict[Any, type] = {}


def pin_response_type(returning: Any) -> None:
    """Build ``Response[returning]`` once and keep it, so pydantic's weak cache never drops it."""
    try:
        if returning in _PINNED:
            return
        _PINNED[returning] = Response[returning]  # type: ignore[index]
    except TypeError:  # an unhashable return annotation: leave it to aiogram
        return


class PinnedAiohttpSession(AiohttpSession):
    def check_response(self, bot, method, status_code, content):  # type: ignore[no-untyped-def, override]
        pin_response_type(method.__returning__)
        return super().check_response(bot, method, status_code, content)
