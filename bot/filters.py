"""Filters shared by the role routers."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import TelegramObject

from db.enums import Role


class RoleFilter(Filter):
    """Passes only for the given roles. Checked on the server for every update, stale buttons included."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, event: TelegramObject, role: Role = Role.UNKNOWN, **_: Any) -> bool:
        return role in self.roles


STAFF_ROLES = (Role.ADMIN, Role.CASEWORKER)
WORKER_ROLES = (Role.TKSK, Role.PSM)


class ButtonText(Filter):
    """Matches a reply-keyboard button by its msgid, in any language: a keyboard sent before a language
    switch keeps working."""

    def __init__(self, *msgids: str) -> None:
        self.msgids = msgids
        self._texts: frozenset[str] | None = None

    def _all_texts(self) -> frozenset[str]:
        if self._texts is None:
            from aiogram.utils.i18n import I18n

            i18n = I18n.get_current(no_error=True)
            locales = i18n.available_locales if i18n else ()
            texts = set(self.msgids)
            for msgid in self.msgids:
                for locale in locales:
                    texts.add(i18n.gettext(msgid, locale=locale))  # type: ignore[union-attr]
            self._texts = frozenset(texts)
        return self._texts

    async def __call__(self, event: TelegramObject, **_: Any) -> bool:
        text = getattr(event, "text", None)
        return text is not None and text.strip() in self._all_texts()
