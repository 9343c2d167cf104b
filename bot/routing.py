"""The project's ``Router``: aiogram's, minus the per-router wrapping an update pays when there is nothing to wrap.

aiogram walks the router tree for every update, and at each router it builds a middleware chain
(``functools.wraps`` + a closure) around the rest of the walk, even when that router has no outer middleware.
None of ours has any: the middlewares sit on the dispatcher. Unknown text from a recipient visits 20 routers
before the fallback answers, so that wrapping was about a tenth of the update's time in the dispatcher
(measured in-process with ``dp.feed_update``). With no outer middleware on the router's observer, this Router
goes straight to aiogram's own walk; with one, it is aiogram's ``propagate_event`` unchanged.

Every router of the bot is one of these (``tests/foundation/test_routing.py`` checks the tree).
"""

from __future__ import annotations

from typing import Any

from aiogram import Router as AiogramRouter
from aiogram.types import TelegramObject


class Router(AiogramRouter):
    async def propagate_event(self, update_type: str, event: TelegramObject, **kwargs: Any) -> Any:
        observer = self.observers.get(update_type)
        if observer is not None and len(observer.outer_middleware):
            return await super().propagate_event(update_type, event, **kwargs)
        # What aiogram does with an empty chain: call the walk with the same arguments.
        kwargs.update(event_router=self)
        return await self._propagate_event(observer=observer, update_type=update_type, event=event, **kwargs)
