"""Magic filters (``F.text.startswith("/")``, ``F.data.startswith("lang:")`` …) and bare FSM states
(``@router.message(Checkin.photos)``) evaluated on the event loop.

aiogram 3.31 runs every synchronous filter callable through ``asyncio.to_thread``, magic filters and ``State``
objects included, so each such check costs a hop to the default thread pool and back (and GIL hand-overs with
the database threads), far more than the comparison itself: with a few dozen state-bound handlers that was
most of an update's cost. Both kinds are pure and cheap; :func:`inline_magic_filters` wraps each one registered
on a router tree (router-level filters included) in a coroutine so it runs inline. Other sync filters are left
alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.fsm.state import State


def _as_coroutine(resolve: Callable[..., Any]) -> Callable[..., Any]:
    async def resolved(*args: Any, **kwargs: Any) -> Any:
        return resolve(*args, **kwargs)

    return resolved


def inline_magic_filters(router: Router) -> int:
    """Make every magic filter under ``router`` run inline; returns how many were changed."""
    changed = 0
    for r in router.chain_tail:
        for observer in r.observers.values():
            filters = list(observer._handler.filters or ())  # router-level: router.message.filter(...)
            for handler in observer.handlers:
                filters.extend(handler.filters or ())
            for f in filters:
                if not f.awaitable and _is_pure(f):
                    f.callback = _as_coroutine(f.callback)
                    f.awaitable = True
                    changed += 1
    return changed


def _is_pure(f: FilterObject) -> bool:
    return f.magic is not None or isinstance(f.callback, State)
