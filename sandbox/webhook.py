"""Webhook delivery: POST pending updates to the bot's URL like Telegram does.

Why: production runs the bot behind a webhook; the emulator must deliver updates the same way —
JSON body, ``X-Telegram-Bot-Api-Secret-Token`` header when a secret was set, up to
``max_connections`` requests in parallel, failed deliveries retried (with back-off) and reported in
getWebhookInfo's ``last_error_*``.  An update is confirmed only by a 2xx answer: one that got no answer
within ``timeout`` (a worker killed mid-update, a hung handler) or an error is delivered again.  Like
Telegram, a 2xx answer whose JSON body names a ``method`` is executed as an API call.

Several bot processes: ``targets`` lists their URLs and the deliveries go round-robin over them, as the
reverse proxy in front of them would spread Telegram's connections (a retry goes to the next one, as with
nginx's ``proxy_next_upstream``). Deliveries run as a pipeline (a free connection takes the next update at
once, no batch waits for its slowest post), one update per person at a time and in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
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
        targets: list[str] | None = None,
    ) -> None:
        self.bot = bot
        self.session = session
        self.now = now
        self.execute = execute
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.timeout = timeout
        self.targets: list[str] = list(targets or [])
        self._next_target = 0
        self._attempts: dict[int, int] = {}  # update id → posts so far (for back-off and the redelivery count)
        self._not_before: dict[int, float] = {}
        self._posted_to: dict[int, str] = {}  # update id → target of its latest post
        self._failed_at: dict[int, str] = {}  # update id → target its latest post failed on
        self._down_until: dict[str, float] = {}  # target → not used for new posts until then
        self.target_down_seconds = 5.0
        self.delivered = 0
        self.failed = 0
        self.redelivered = 0  # posts of an update that had been posted before without a 2xx
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
        in_flight: dict[int, asyncio.Task[bool]] = {}
        try:
            while not self._stopping:
                hook = self.bot.webhook
                if hook is None:
                    return
                self._fill(hook, in_flight)
                if not in_flight:
                    if not await self.bot.updates.wait(1.0) or self._stopping:
                        continue
                    await asyncio.sleep(0.005)  # pending but all waiting out their back-off
                    continue
                done, _ = await asyncio.wait(in_flight.values(), timeout=0.01, return_when=asyncio.FIRST_COMPLETED)
                for uid in [uid for uid, task in in_flight.items() if task in done]:
                    task = in_flight.pop(uid)
                    if task.cancelled() or task.exception() is not None or not task.result():
                        self._back_off(uid)
                    else:
                        for book in (self._attempts, self._not_before, self._posted_to, self._failed_at):
                            book.pop(uid, None)
        finally:
            for task in in_flight.values():
                task.cancel()

    def _fill(self, hook: Any, in_flight: dict[int, asyncio.Task[bool]]) -> None:
        """Start posts for the oldest pending update of each person not already waiting, up to the limit."""
        limit = max(1, hook.max_connections)
        if len(in_flight) >= limit:
            return
        now = time.monotonic()
        seen: set[Any] = set()
        for update in self.bot.updates.peek(self.bot.updates.pending):
            person = _person_of(update)
            first_of_person = person not in seen
            seen.add(person)
            uid = update["update_id"]
            if not first_of_person or uid in in_flight or self._not_before.get(uid, 0) > now:
                continue
            attempts = self._attempts.get(uid, 0)
            if attempts:
                self.redelivered += 1
            self._attempts[uid] = attempts + 1
            url = self._target(hook, avoid=self._failed_at.get(uid))
            self._posted_to[uid] = url
            in_flight[uid] = asyncio.ensure_future(self._post(url, hook.secret_token, update))
            if len(in_flight) >= limit:
                return

    def _target(self, hook: Any, avoid: str | None = None) -> str:
        """Round-robin over the targets, skipping one that failed lately (nginx's max_fails/fail_timeout) and
        the one this update just failed on (proxy_next_upstream); the plain URL with one target."""
        if not self.targets:
            return hook.url
        now = time.monotonic()
        for _ in range(len(self.targets)):
            url = self.targets[self._next_target % len(self.targets)]
            self._next_target += 1
            if url != avoid and self._down_until.get(url, 0) <= now:
                return url
        return self.targets[self._next_target % len(self.targets)]

    def _back_off(self, uid: int) -> None:
        url = self._posted_to.get(uid)
        if url is not None:
            self._failed_at[uid] = url
            if len(self.targets) > 1:
                self._down_until[url] = time.monotonic() + self.target_down_seconds
        delay = min(self.retry_delay * 2 ** (self._attempts.get(uid, 1) - 1), self.max_retry_delay)
        self._not_before[uid] = time.monotonic() + delay

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


def _person_of(update: dict[str, Any]) -> Any:
    """Who an update comes from (their updates are delivered one at a time, in order)."""
    for value in update.values():
        if isinstance(value, dict):
            sender = value.get("from") or value.get("chat") or {}
            if isinstance(sender, dict) and "id" in sender:
                return sender["id"]
    return ("update", update.get("update_id"))
