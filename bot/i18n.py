"""Gettext i18n on aiogram's I18n, reading the PO catalogs directly.

Message ids are English. Each feature keeps its own catalog fragment, ``locales/<lang>/LC_MESSAGES/<feature>.po``;
all fragments of a language are merged at start-up (with Babel), so there is no compile step to forget and
features never edit one shared file. Indonesian is the default language; English falls back to the msgid.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n.middleware import I18nMiddleware
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parents[1] / "locales"
SUPPORTED_LOCALES = ("id", "en")
DEFAULT_LOCALE = "id"


def load_catalog(locale: str, path: Path = LOCALES_DIR) -> Catalog:
    """All PO fragments of one language merged into one catalog (later fragments never override earlier)."""
    merged = Catalog(locale=locale, charset="utf-8")
    for po in sorted((path / locale / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            fragment = read_po(fh, locale=locale)
        for message in fragment:
            if message.id and message.string and message.id not in merged and not message.fuzzy:
                merged.add(message.id, message.string)
    return merged


def _to_translations(catalog: Catalog) -> gettext.GNUTranslations:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class CatalogI18n(I18n):
    """aiogram's I18n, fed from PO fragments instead of compiled MO files."""

    def __init__(self, *, path: str | Path = LOCALES_DIR, default_locale: str = DEFAULT_LOCALE,
                 locales: tuple[str, ...] = SUPPORTED_LOCALES) -> None:
        self._wanted = locales
        super().__init__(path=path, default_locale=default_locale)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        return {locale: _to_translations(load_catalog(locale, self.path)) for locale in self._wanted}

    def translator(self, locale: str) -> Callable[[str], str]:
        """A plain ``gettext`` bound to one language, for work outside an update (scheduler, CLI)."""
        return lambda message: self.gettext(message, locale=locale)


# aiogram's ``gettext`` looks the current instance up through ``I18n.get_current()``, and its mixin gives every
# subclass a context variable of its own; share I18n's, or ``_()`` would not see this subclass.
CatalogI18n._ContextInstanceMixin__context_instance = I18n._ContextInstanceMixin__context_instance  # type: ignore[attr-defined]


class AccountI18nMiddleware(I18nMiddleware):
    """The language is the one the person chose with /bahasa, else the program default (Indonesian)."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        account = data.get("account")
        language = getattr(account, "language", None)
        if language in self.i18n.available_locales:
            return language
        return self.i18n.default_locale


def N_(message: str) -> str:
    """Marks a msgid for extraction without translating it yet (translated where it is shown)."""
    return message
