"""Webhook delivery: POST pending updates to the bot's URL like Telegram does.

Why: production runs the bot behind a webhook; the emulator must deliver updates the same way —
JSON body, ``X-Telegram-Bot-Api-Secret-Token`` header when a secret was set, up to
``max_connections`` requests in parallel, failed deliveries retried (with back-off) and reported in
getWebhookInfo's ``last_error_*``.  An update is confirmed only by a 2xx answer.  Like Telegram, a
2xx answer whose JSON body names a ``method`` is executed as an API call.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from .world import BotState

log = logging.getLogger(__name__)

Executor = Callable[[BotState, str, dict[str, Any]], Awaitable[Any]]


class WebhookDelivery:
    def __init__(
        self,
        bot: BotState,
        session: aiohttp.ClientSession,
        now: Callable[[], int],
        execute: Executor,
        *,
        retry_delay: float = 0.1,
        max_retry_delay: float = 2.0,
        timeout: float = 10.0,
    ) -> None:
        self.bot = bot
        self.session = session
        self.now = now
        self.execute = execute
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.timeout = timeout
        self.delivered = 0
        self.failed = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task:
            # A flag as well as cancel(): Python 3.11's wait_for can swallow a cancellation that races with
            # its inner wait finishing, and the loop would then run on forever.
            self._stopping = True
            self.bot.updates.wake()
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=5)
            self._task = None

    async def _run(self) -> None:
        delay = self.retry_delay
        while not self._stopping:
            hook = self.bot.webhook
            if hook is None:
                return
            if not await self.bot.updates.wait(1.0):
                continue
            batch = self.bot.updates.peek(max(1, hook.max_connections))
            results = await asyncio.gather(*(self._post(hook.url, hook.secret_token, u) for u in batch))
            if all(results):
                delay = self.retry_delay
            else:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_retry_delay)

    async def _post(self, url: str, secret: str | None, update: dict[str, Any]) -> bool:
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        try:
            async with self.session.post(
                url, data=json.dumps(update), headers=headers, timeout=aiohttp.ClientTimeout(total=self.timeout)
            ) as resp:
                body = await resp.read()
                if not 200 <= resp.status < 300:
                    self._error(f"Wrong response from the webhook: {resp.status} {resp.reason}")
                    return False
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any transport problem is a failed delivery
            self._error(f"Connection failed: {type(exc).__name__}: {exc}"[:200])
            return False
        self.delivered += 1
        self.bot.updates.confirm_one(update["update_id"])
        await self._maybe_execute(body)
        return True

    async def _maybe_execute(self, body: bytes) -> None:
        if not body or not body.lstrip().startswith(b"{"):
            return
        try:
            payload = json.loads(body)
        except ValueError:
            return
        if isinstance(payload, dict) and isinstance(payload.get("method"), str):
            params = {k: v for k, v in payload.items() if k != "method"}
            try:
                await self.execute(self.bot, payload["method"], params)
            except Exception:  # noqa: BLE001 - errors are recorded by the pipeline itself
                log.debug("webhook-reply method failed", exc_info=True)

    def _error(self, message: str) -> None:
        self.failed += 1
        if self.bot.webhook:
            self.bot.webhook.last_error_date = self.now()
            self.bot.webhook.last_error_message = message
