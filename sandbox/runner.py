"""The emulator and the real bot application running together in one event loop.

Used by end-to-end tests, benchmarks and ``uep sandbox``: the bot talks to the emulator over real HTTP,
exactly as it would talk to Telegram.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiohttp import web

from bot.app import BotApp
from bot.context import AppContext
from sandbox.activity import Activity
from sandbox.emulator import TelegramEmulator
from sandbox.people import Person

SANDBOX_TOKEN = "4242424242:AAEsandboxTokenForTheUepBotEmulator00"
SANDBOX_BOT_USERNAME = "uep_kaltim_bot"


class HandlingIsActivity(BaseMiddleware):
    """Counts an update the in-process bot is handling as emulator activity, so ``settle`` waits for it.

    Why: in polling mode the emulator sees an update confirmed as soon as the bot fetched it, and a handler
    can spend a while in the database without any API call (on a loaded two-core CI machine, longer than
    the quiet period). From the outside that looked like "done", and a test pressed the next button on a
    screen that was about to change.
    """

    def __init__(self, activity: Activity) -> None:
        self.activity = activity

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self.activity.begin()
        try:
            return await handler(event, data)
        finally:
            self.activity.end()


@dataclass
class SandboxRun:
    ctx: AppContext
    emulator: TelegramEmulator
    mode: Literal["polling", "webhook"] = "polling"
    with_scheduler: bool = False
    app: BotApp | None = None
    _webhook_runner: web.AppRunner | None = field(default=None, repr=False)

    @classmethod
    async def start(
        cls,
        ctx: AppContext,
        *,
        emulator: TelegramEmulator | None = None,
        mode: Literal["polling", "webhook"] = "polling",
        with_scheduler: bool = False,
        webhook_port: int = 0,
    ) -> SandboxRun:
        if emulator is None:
            emulator = TelegramEmulator(clock=ctx.clock.now)
            await emulator.start()
        if not any(b.token == SANDBOX_TOKEN for b in emulator.bots):
            emulator.add_bot(SANDBOX_TOKEN, SANDBOX_BOT_USERNAME, "UEP Kaltim")
        ctx.settings.telegram.api_base = emulator.base_url
        ctx.settings.telegram.token = SANDBOX_TOKEN
        ctx.settings.telegram.polling_timeout = 10
        run = cls(ctx=ctx, emulator=emulator, mode=mode, with_scheduler=with_scheduler)
        await run._start_app(webhook_port)
        return run

    async def _start_app(self, webhook_port: int = 0) -> None:
        self.app = BotApp(self.ctx, token=SANDBOX_TOKEN, with_scheduler=self.with_scheduler)
        # Registered last, so it runs inside the isolation lock: an update waiting for it is counted once its
        # predecessor's end() has just touched the activity, well within the quiet period.
        self.app.dp.update.outer_middleware(HandlingIsActivity(self.emulator.activity))
        if self.mode == "polling":
            await self.app.start_polling()
            return
        tg = self.ctx.settings.telegram
        tg.webhook_host = "127.0.0.1"
        if webhook_port == 0:
            import socket

            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                webhook_port = s.getsockname()[1]
        tg.webhook_port = webhook_port
        tg.webhook_url = f"http://127.0.0.1:{webhook_port}"
        tg.webhook_secret = tg.webhook_secret or "sandbox-webhook-secret"
        self._webhook_runner = await self.app.start_webhook(tg.webhook_host, tg.webhook_port)

    async def stop_bot(self) -> None:
        """Stop the bot as a crash or deploy would; conversation state stays in the database."""
        if self.app is not None:
            await self.app.stop()
            self.app = None
        if self._webhook_runner is not None:
            await self._webhook_runner.cleanup()
            self._webhook_runner = None

    async def restart_bot(self) -> None:
        await self.stop_bot()
        await self._start_app(self.ctx.settings.telegram.webhook_port if self.mode == "webhook" else 0)

    async def stop(self) -> None:
        await self.stop_bot()
        with contextlib.suppress(Exception):
            await self.emulator.stop()

    def person(self, user_id: int, first_name: str = "", **kwargs) -> Person:  # type: ignore[no-untyped-def]
        kwargs.setdefault("started", True)
        return self.emulator.person(user_id, first_name, **kwargs)

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until the bot has handled every update (see ``HandlingIsActivity``) and gone quiet: a quarter second
        without requests, for work a handler leaves behind (an apology from the error handler, an upload task),
        and until the outbox has nothing due left (messages to others, sent after the commit and paced)."""
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self.emulator.wait_until_processed(max(0.1, deadline - loop.time()), quiet=0.25)
            if not await self.outbox_due() or loop.time() >= deadline:
                return
            await asyncio.sleep(0.05)

    async def outbox_due(self) -> int:
        """Outbox rows due now and not yet sent (rows waiting for a retry later are not counted)."""
        from sqlalchemy import func, or_, select

        from db.models import OutboxMessage

        now = self.ctx.clock.now()
        async with self.ctx.session_factory() as session:
            return await session.scalar(
                select(func.count()).select_from(OutboxMessage)
                .where(OutboxMessage.status == "pending",
                       or_(OutboxMessage.due_at.is_(None), OutboxMessage.due_at <= now))
            ) or 0
