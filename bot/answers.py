"""The handler filter for a typed yes; the parser itself is :mod:`services.answers`."""

from __future__ import annotations

from typing import Any

from aiogram.types import Message

from services.answers import YES_WORDS, is_yes, typed_number

__all__ = ["YES_WORDS", "is_yes", "typed_number", "typed_yes"]


def typed_yes(message: Message, **_: Any) -> bool:
    """Filter: the message is a typed yes ("iya", "ya", "setuju", "oke", "siap" …)."""
    return is_yes(message.text)
