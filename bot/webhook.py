"""The webhook endpoint: aiogram's request handler, with a malformed update refused as a logged 400 and at most
``telegram.concurrent_updates`` updates handled at once by this process.

aiogram parses the body inside its handler, so a post with the right secret but a body that is not an update
(broken JSON, a list, a message without a chat) ended in a 500 with a traceback, and Telegram would retry it
forever. A 400 says "this will never work"; the log names the update id and where the update is wrong,
never its content (it may hold a NIK or a phone number).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError

from services import metrics

log = logging.getLogger("uep.webhook")


class UpdateRequestHandler(SimpleRequestHandler):
    def __init__(self, dispatcher: Dispatcher, bot: Bot, *, secret_token: str | None, concurrency: int,
                 **data: Any) -> None:
        super().__init__(dispatcher=dispatcher, bot=bot, secret_token=secret_token, handle_in_background=False,
                         **data)
        # Beyond it a post waits here, so a burst queues instead of exhausting the database pool.
        self._slots = asyncio.Semaphore(concurrency)

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        try:
            payload = await request.json(loads=bot.session.json_loads)
        except ValueError:  # not JSON, or not UTF-8
            return _refuse("not_json", "the body is not JSON")
        if not isinstance(payload, dict):
            return _refuse("not_an_object", "the body is not a JSON object")
        try:
            update = Update.model_validate(payload, context={"bot": bot})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(root)"
            update_id = payload.get("update_id")
            return _refuse(
                "invalid_update",
                f"update {update_id if isinstance(update_id, int) else '?'} is malformed "
                f"({exc.error_count()} error(s), first at {where}: {first['type']})",
            )
        async with self._slots:
            result = await self.dispatcher.feed_webhook_update(bot, update, **self.data)
        return web.Response(body=self._build_response_writer(bot=bot, result=result))


def _refuse(reason: str, detail: str) -> web.Response:
    metrics.WEBHOOK_REJECTED.labels(reason).inc()
    log.warning("webhook post refused with 400: %s", detail)
    return web.Response(status=400, text=f"Bad Request: {detail}")
