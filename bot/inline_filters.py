"""Magic filters (``F.text.startswith("/")``, ``F.data.startswith("lang:")`` …) evaluated on the event loop.

aiogram 3.31 runs every synchronous filter callable through ``asyncio.to_thread``, magic filters included, so
each such check costs a hop to the default thread pool and back (and GIL hand-overs with the database threads),
far more than the attribute comparison itself. Magic filters are pure and cheap; :func:`inline_magic_filters`
wraps each one registered on a router tree in a coroutine so it runs inline. Other sync filters are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Router


def _as_coroutine(resolve: Callable[..., Any]) -> Callable[..., Any]:
    async def resolved(*args: Any, **kwargs: Any) -> Any:
        return resolve(*args, **kwargs)

    return resolved


def inline_magic_filters(router: Router) -> int:
    """Make every magic filter under ``router`` run inline; returns how many were changed."""
    changed = 0
    for r in router.chain_tail:
        for observer in r.observers.values():
            for handler in observer.handlers:
                for f in handler.filters or ():
                    if getattr(f, "magic", None) is not None and not f.awaitable:
                        f.callback = _as_coroutine(f.callback)
                        f.awaitable = True
                        changed += 1
    return changed
