"""Translating into one person's language outside their own update (TKSK and staff notices, the CLI)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from bot.i18n import CatalogI18n
from db.models import TelegramAccount


@lru_cache(maxsize=1)
def _i18n() -> CatalogI18n:
    return CatalogI18n()


def locale_of(account: TelegramAccount | None) -> str:
    i18n = _i18n()
    language = account.language if account is not None else None
    return language if language in i18n.available_locales else i18n.default_locale


@contextmanager
def speaking(locale: str) -> Iterator[str]:
    """Inside this block ``gettext`` translates into ``locale`` (nested blocks restore the outer language)."""
    i18n = _i18n()
    with i18n.context(), i18n.use_locale(locale):
        yield locale
