"""Sending messages outside an update (reminders, alerts to a TKSK, case notices), in each person's language.

Outside an update every send waits for the shared pacer (``ctx.pacer``) with its priority; inside an update
(a handler telling someone else) it goes at once and is counted against the same budget.

A 403 from Telegram (the person blocked the bot or deleted their account) marks the account unreachable
instead of failing the caller; the caller decides whom to tell.

Every failure has a kind (:func:`failure_kind`): 429, 5xx (JSON, or an HTML page from a proxy, which aiogram
raises as ``ClientDecodeError``), dropped connections and time-outs are transient (``RETRY``: the outbox sends
again from the row, with backoff); only a 4xx that Telegram means (403 → ``BLOCKED``, 400 …) is final.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import Message
from aiohttp import ClientError

from bot.i18n import CatalogI18n
from db.models import TelegramAccount
from services.clock import Clock
from services.outgoing.pacer import Pacer, in_update
from services.outgoing.priority import Priority

log = logging.getLogger(__name__)


class SendOutcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"
    RETRY = "retry"      # 429 or a transient error: try again later
    FAILED = "failed"


@dataclass(slots=True)
class SendResult:
    outcome: SendOutcome
    message: Message | None = None
    retry_after: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is SendOutcome.SENT


class Messenger:
    def __init__(self, bot: Bot, i18n: CatalogI18n, clock: Clock, default_locale: str = "id",
                 pacer: Pacer | None = None) -> None:
        self.bot = bot
        self.i18n = i18n
        self.clock = clock
        self.default_locale = default_locale
        self.pacer = pacer

    def locale_of(self, account: TelegramAccount | None) -> str:
        language = account.language if account else None
        return language if language in self.i18n.available_locales else self.default_locale

    @contextmanager
    def speaking_to(self, account: TelegramAccount | None) -> Iterator[str]:
        """Inside this block ``gettext`` translates into the account's language."""
        locale = self.locale_of(account)
        with self.i18n.context(), self.i18n.use_locale(locale):
            yield locale

    async def send(self, account: TelegramAccount, text: str, *, priority: Priority = Priority.ROUTINE,
                   **kwargs: Any) -> SendResult:
        """sendMessage to the account's chat; a 403 marks the account (and its recipient) unreachable."""
        return await self._call(account, self.bot.send_message, priority=priority, chat_id=account.chat_id,
                                text=text, **kwargs)

    async def send_photo(self, account: TelegramAccount, photo: Any, *, priority: Priority = Priority.ROUTINE,
                         **kwargs: Any) -> SendResult:
        return await self._call(account, self.bot.send_photo, priority=priority, chat_id=account.chat_id,
                                photo=photo, **kwargs)

    async def send_voice(self, account: TelegramAccount, voice: Any, *, priority: Priority = Priority.ROUTINE,
                         **kwargs: Any) -> SendResult:
        return await self._call(account, self.bot.send_voice, priority=priority, chat_id=account.chat_id,
                                voice=voice, **kwargs)

    async def send_video_note(self, account: TelegramAccount, video_note: Any, *,
                              priority: Priority = Priority.ROUTINE, **kwargs: Any) -> SendResult:
        """A round video (by file id); Telegram gives it no caption."""
        return await self._call(account, self.bot.send_video_note, priority=priority, chat_id=account.chat_id,
                                video_note=video_note, **kwargs)

    async def send_media_group(self, account: TelegramAccount, media: list[Any], *,
                               priority: Priority = Priority.ROUTINE, **kwargs: Any) -> SendResult:
        """An album (2-10 items); ``message`` of the result is the list of sent messages."""
        return await self._call(account, self.bot.send_media_group, priority=priority, chat_id=account.chat_id,
                                media=media, **kwargs)

    async def edit_text(self, account: TelegramAccount, message_id: int, text: str, *,
                        priority: Priority = Priority.ROUTINE, **kwargs: Any) -> SendResult:
        """editMessageText in the account's chat; an edit that changes nothing counts as done."""
        async def edit(**params: Any) -> Any:
            try:
                return await self.bot.edit_message_text(**params)
            except TelegramBadRequest as exc:
                if "not modified" in str(exc):
                    return True
                raise

        return await self._call(account, edit, priority=priority, chat_id=account.chat_id, message_id=message_id,
                                text=text, **kwargs)

    async def _call(self, account: TelegramAccount, method: Any, *, priority: Priority = Priority.ROUTINE,
                    **kwargs: Any) -> SendResult:
        try:
            if self.pacer is not None and not in_update():
                async with self.pacer.slot(account.chat_id, priority):
                    message = await method(**kwargs)
            else:
                message = await method(**kwargs)
        except Exception as exc:
            outcome = failure_kind(exc)
            if outcome is None:
                raise
            if outcome is SendOutcome.BLOCKED:
                now = self.clock.now()
                account.blocked_at = now
                if account.recipient is not None and account.recipient.unreachable_since is None:
                    account.recipient.unreachable_since = now
                log.info("account %s is unreachable (403)", account.id)
            else:
                log.warning("send to account %s failed (%s): %s", account.id, outcome.value, type(exc).__name__)
            retry_after = float(exc.retry_after) if isinstance(exc, TelegramRetryAfter) else None
            return SendResult(outcome, retry_after=retry_after, error=failure_text(exc))
        if account.blocked_at is not None:
            account.blocked_at = None
            if account.recipient is not None:
                account.recipient.unreachable_since = None
        return SendResult(SendOutcome.SENT, message=message)


def failure_kind(exc: BaseException) -> SendOutcome | None:
    """What a failed Bot API call means: BLOCKED (403), RETRY (transient), FAILED (a final 4xx); None when
    ``exc`` is not a failure of the call at all (a bug of ours: let it raise)."""
    if isinstance(exc, TelegramForbiddenError):
        return SendOutcome.BLOCKED
    if isinstance(exc, TelegramRetryAfter | TelegramServerError | TelegramNetworkError | ClientDecodeError):
        return SendOutcome.RETRY
    if isinstance(exc, TelegramAPIError):
        return SendOutcome.FAILED
    if isinstance(exc, TimeoutError | ClientError | OSError):
        return SendOutcome.RETRY
    return None


def failure_text(exc: BaseException) -> str:
    """A short description for the row (Telegram's own words; never the request, which may hold user text)."""
    if isinstance(exc, TelegramRetryAfter):
        return f"429 retry after {exc.retry_after}"
    if isinstance(exc, TelegramAPIError):
        return exc.message[:300]
    if isinstance(exc, ClientDecodeError):
        return "undecodable answer (not JSON: an HTML error page?)"
    return type(exc).__name__
