"""A button press answered too late is still a button press.

Telegram accepts ``answerCallbackQuery`` only for about 15 seconds after the press. When the bot is behind (a
burst of check-ins at 08:00, a restart after downtime) the answer fails with "query is too old", and that
failure used to abort the whole handler: the person's choice was lost and they saw nothing. The answer only
stops the button's spinner, so its failure is logged and the handler goes on to record the choice and reply.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, EditMessageReplyMarkup, EditMessageText, TelegramMethod

log = logging.getLogger(__name__)


class IgnoreExpiredCallbackAnswers(BaseRequestMiddleware):
    async def __call__(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Any:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            edit = isinstance(method, EditMessageText | EditMessageReplyMarkup)
            if edit and "message is not modified" in exc.message:
                # An update handled again (redelivered after a worker died before its commit): the edit was
                # made the first time. The message shows what it should; carry on.
                log.info("an edit found the message already as it should be; carrying on")
                return True
            if not isinstance(method, AnswerCallbackQuery) or "query is too old" not in exc.message:
                raise
            log.info("a callback query expired before it was answered; carrying on without the answer")
            return True  # what answerCallbackQuery returns
