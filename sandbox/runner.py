"""The emulator and the real bot application running together in one event loop.

Used by end-to-end tests, benchmarks and ``uep sandbox``: the bot talks to the emulator over real HTTP,
exactly as it would talk to Telegram.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

from bot.app import BotApp
from bot.context import AppContext
from sandbox.emulator import TelegramEmulator
from sandbox.people import Person

SANDBOX_TOKEN = "4242424242:AAEsandboxTokenForTheUepBotEmulator00"
SANDBOX_BOT_USERNAME = "uep_kaltim_bot"


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
        """Wait until the bot has handled every update and gone quiet (a quarter second without requests: on a
        loaded two-core CI machine a shorter pause can fall between an update and the bot's answer to it)."""
        await self.emulator.wait_until_processed(timeout, quiet=0.25)
