"""The running application: Bot, Dispatcher, scheduler and background workers, in polling or webhook mode.

Used by ``uep run``, the sandbox, the tests and the benchmarks alike, so what is tested is what runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import setup_application
from aiohttp import web

from bot import log_privacy
from bot.commands import set_default_commands
from bot.context import AppContext
from bot.factory import create_bot, create_dispatcher, create_i18n
from bot.heap import tune_collector
from bot.i18n import CatalogI18n
from bot.messenger import Messenger
from bot.monitoring import add_routes as add_monitoring_routes
from bot.monitoring import monitoring_app
from bot.webhook import UpdateRequestHandler
from db.account_cache import AccountCache
from db.migrate import ensure_migrated
from services import metrics

log = logging.getLogger("uep")

# Long-running workers started beside the dispatcher (e.g. the broadcast delivery worker).
BackgroundWorker = Callable[["BotApp"], Awaitable[None]]
_BACKGROUND_WORKERS: list[BackgroundWorker] = []


def background_worker(func: BackgroundWorker) -> BackgroundWorker:
    _BACKGROUND_WORKERS.append(func)
    return func


async def _until_stopped() -> None:
    """Until SIGTERM (systemd stop, a deploy) or SIGINT (Ctrl-C)."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


class BotApp:
    def __init__(self, ctx: AppContext, *, token: str | None = None, with_scheduler: bool = True) -> None:
        log_privacy.install()  # also when embedded (sandbox, benches), not only through the CLI
        self.ctx = ctx
        self.i18n: CatalogI18n = create_i18n(ctx)
        self.bot: Bot = create_bot(ctx, token=token)
        self.dp: Dispatcher = create_dispatcher(ctx, i18n=self.i18n)
        self.account_cache: AccountCache | None = self.dp.get("account_cache")
        self.messenger = Messenger(self.bot, self.i18n, ctx.clock, ctx.settings.i18n.default_locale, ctx.pacer)
        self.dp["messenger"] = self.messenger
        self.dp["app"] = self
        self.with_scheduler = with_scheduler
        self.scheduler = None
        self._tasks: list[asyncio.Task[None]] = []
        self._polling: asyncio.Task[None] | None = None
        self._monitoring: web.AppRunner | None = None

    @property
    def redis(self) -> object | None:
        """The Redis client this process uses (FSM storage), for /healthz; None without Redis."""
        return getattr(self.dp.storage, "redis", None) or getattr(self.dp.fsm.events_isolation, "redis", None)

    async def _startup(self) -> None:
        await ensure_migrated(self.ctx.engine)
        bus = self.dp.get("account_cache_bus")
        if bus is not None:
            await bus.start()
        with self.i18n.context():
            await set_default_commands(self.bot)
        if self.with_scheduler:
            from scheduler.setup import create_scheduler

            self.scheduler = create_scheduler(self.ctx, self.messenger)
            self.scheduler.start()
        import bot.workers  # noqa: F401  (registers background workers)

        for worker in _BACKGROUND_WORKERS:
            name = getattr(worker, "__name__", "worker")
            with metrics.sending(name.removesuffix("_worker")):  # the task keeps this context: its sends' kind
                self._tasks.append(asyncio.create_task(worker(self), name=name))

    async def start_monitoring(self) -> None:
        """/healthz and /metrics on ``monitoring.port`` (polling mode, ``uep scheduler``); nothing when 0."""
        mon = self.ctx.settings.monitoring
        if mon.port <= 0 or self._monitoring is not None:
            return
        self._monitoring = web.AppRunner(monitoring_app(self.ctx, self.redis), access_log=None)
        await self._monitoring.setup()
        await web.TCPSite(self._monitoring, mon.host, mon.port).start()
        log.info("/healthz and /metrics on %s:%s", mon.host, mon.port)

    async def _shutdown(self) -> None:
        bus = self.dp.get("account_cache_bus")
        if bus is not None:
            await bus.stop()
        if self._monitoring is not None:
            await self._monitoring.cleanup()
            self._monitoring = None
        if self.account_cache is not None:
            self.account_cache.uninstall()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    @staticmethod
    def _tune_collector() -> None:
        # Only for the long-running process: a test process builds many apps and must not freeze their heaps.
        frozen = tune_collector()
        log.info("start-up heap frozen (%d objects); collector thresholds %s", frozen, gc.get_threshold())

    # --- polling -------------------------------------------------------------------------------------------
    async def start_polling(self, *, handle_signals: bool = False) -> None:
        """Start long polling in the background and return once it runs."""
        await self._startup()
        await self.bot.delete_webhook(drop_pending_updates=False)
        self._polling = asyncio.create_task(
            self.dp.start_polling(
                self.bot,
                polling_timeout=self.ctx.settings.telegram.polling_timeout,
                handle_signals=handle_signals,
                close_bot_session=False,
                allowed_updates=self.dp.resolve_used_update_types(),
                tasks_concurrency_limit=self.ctx.settings.telegram.concurrent_updates,
            )
        )
        await asyncio.sleep(0)

    async def run_polling(self) -> None:
        """Run until interrupted (``uep run``)."""
        await self._startup()
        try:
            await self.start_monitoring()
            await self.bot.delete_webhook(drop_pending_updates=False)
            me = await self.bot.get_me()
            self._tune_collector()
            log.info("polling as @%s", me.username)
            await self.dp.start_polling(
                self.bot,
                polling_timeout=self.ctx.settings.telegram.polling_timeout,
                allowed_updates=self.dp.resolve_used_update_types(),
                tasks_concurrency_limit=self.ctx.settings.telegram.concurrent_updates,
            )
        finally:
            await self._shutdown()

    async def stop(self) -> None:
        if self._polling is not None:
            with contextlib.suppress(RuntimeError):
                await self.dp.stop_polling()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._polling, 10)
            self._polling = None
        await self._shutdown()
        await self.dp.storage.close()
        await self.dp.fsm.events_isolation.close()
        await self.bot.session.close()

    # --- webhook -------------------------------------------------------------------------------------------
    def webhook_app(self) -> web.Application:
        """An aiohttp app that accepts updates only with the right secret token (a malformed one gets a 400), and
        serves /healthz and /metrics (the reverse proxy forwards only the webhook path)."""
        tg = self.ctx.settings.telegram
        app = web.Application()
        UpdateRequestHandler(
            self.dp, self.bot, secret_token=tg.webhook_secret or None, concurrency=tg.concurrent_updates
        ).register(app, path=tg.webhook_path)
        setup_application(app, self.dp, bot=self.bot)
        add_monitoring_routes(app, self.ctx, self.redis)
        return app

    async def register_webhook(self) -> None:
        tg = self.ctx.settings.telegram
        await self.bot.set_webhook(
            url=tg.webhook_url.rstrip("/") + tg.webhook_path,
            secret_token=tg.webhook_secret or None,
            allowed_updates=self.dp.resolve_used_update_types(),
            max_connections=tg.webhook_max_connections,
        )

    async def start_webhook(self, host: str, port: int) -> web.AppRunner:
        """Serve webhooks in the background (tests, sandbox); returns the runner to clean up."""
        await self._startup()
        runner = web.AppRunner(self.webhook_app())
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        await self.register_webhook()
        return runner

    async def run_webhook(self) -> None:
        tg = self.ctx.settings.telegram
        if not tg.webhook_url or not tg.webhook_secret:
            from bot.config import ConfigError

            raise ConfigError("telegram.webhook_url and telegram.webhook_secret: both are required for --webhook")
        runner = await self.start_webhook(tg.webhook_host, tg.webhook_port)
        self._tune_collector()
        log.info("serving webhooks on %s:%s%s", tg.webhook_host, tg.webhook_port, tg.webhook_path)
        try:
            await _until_stopped()
            log.info("stopping: finishing the updates in hand")
        finally:
            await runner.cleanup()  # stops accepting, lets the posts in flight finish and answer
            await self._shutdown()

    async def run_scheduler(self) -> None:
        """``uep scheduler``: the scan tick and the background workers, no updates (those go to the webhook
        workers); /healthz and /metrics on ``monitoring.port``."""
        await self._startup()
        try:
            await self.start_monitoring()
            self._tune_collector()
            log.info("scheduler running: a scan every %ss", self.ctx.settings.scheduler.scan_interval_seconds)
            await _until_stopped()
        finally:
            await self._shutdown()
