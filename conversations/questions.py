"""Every step's question, so it can be asked again, with its buttons.

When an answer cannot be used, the bot sends the question of the person's current step again: a question
"above" may have scrolled out of sight on a small phone. Each conversation registers the function that asks
its step's question (``@asks(State)``); the fallback (``handlers/fallback.py``) calls :func:`ask_again`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import Message

Asker = Callable[[Message, FSMContext, dict[str, Any]], Awaitable[None]]
_ASKERS: dict[str, Asker] = {}


def asks(*states: State) -> Callable[[Asker], Asker]:
    def register(fn: Asker) -> Asker:
        for state in states:
            assert state.state is not None
            _ASKERS[state.state] = fn
        return fn

    return register


async def ask_again(message: Message, state: FSMContext, data: dict[str, Any]) -> bool:
    """Ask the current step's question again; False when the step has no registered question."""
    current = await state.get_state()
    asker = _ASKERS.get(current or "")
    if asker is None:
        return False
    await asker(message, state, data)
    return True
