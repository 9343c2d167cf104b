"""Counting for ``/metrics`` (``services/metrics.py``): every update as it passes the dispatcher, and every
message-sending Bot API call as it passes the bot's HTTP session."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import TelegramObject, Update

from services import metrics


class UpdateMetricsMiddleware(BaseMiddleware):
    """Outermost of the bot's own middlewares: times the whole update (session, commit, replies)."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        kind = event.event_type if isinstance(event, Update) else type(event).__name__
        started = time.perf_counter()
        outcome = "error"
        try:
            with metrics.sending("reply"):
                result = await handler(event, data)
            outcome = "unhandled" if result is UNHANDLED else "handled"
            return result
        finally:
            metrics.UPDATE_SECONDS.labels(kind).observe(time.perf_counter() - started)
            metrics.UPDATES.labels(kind, outcome).inc()


class MessageMetricsMiddleware(BaseRequestMiddleware):
    """Counts sends and edits by kind and outcome, and every 429 whatever the method."""

    async def __call__(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Any:
        name = method.__api_method__
        counted = name.startswith(("send", "edit", "copy", "forward"))
        try:
            result = await make_request(bot, method)
        except TelegramRetryAfter:
            metrics.TELEGRAM_429.labels(name).inc()
            if counted:
                metrics.MESSAGES_SENT.labels(metrics.sending_kind(), "retry_after").inc()
            raise
        except Exception as exc:
            if counted:
                metrics.MESSAGES_SENT.labels(metrics.sending_kind(), _outcome(exc)).inc()
            raise
        if counted:
            metrics.MESSAGES_SENT.labels(metrics.sending_kind(), "sent").inc()
        return result


def _outcome(exc: Exception) -> str:
    if isinstance(exc, TelegramForbiddenError):
        return "blocked"
    if isinstance(exc, TelegramBadRequest):
        return "rejected"
    if isinstance(exc, TelegramServerError):
        return "server_error"
    if isinstance(exc, TelegramNetworkError | TimeoutError | OSError):
        return "network"
    return "error"
