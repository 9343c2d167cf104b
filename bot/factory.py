"""Bot and Dispatcher factory: everything an update passes through, assembled in one place."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation

from bot.commands import CommandsSyncMiddleware
from bot.context import AppContext
from bot.expired_callbacks import IgnoreExpiredCallbackAnswers
from bot.i18n import AccountI18nMiddleware, CatalogI18n
from bot.inline_filters import inline_magic_filters
from bot.layout import FitKeyboardsMiddleware
from bot.middlewares import DbSessionMiddleware, IdentityMiddleware, ThrottlingMiddleware
from bot.middlewares.fsm_context import FsmStateMiddleware, PersonLockMiddleware, take_fsm_middleware
from bot.middlewares.metrics import MessageMetricsMiddleware, UpdateMetricsMiddleware
from bot.middlewares.update_ledger import UpdateLedgerMiddleware, watch_writes
from bot.speaking import CommitBeforeSpeaking
from bot.telegram_session import PinnedAiohttpSession
from db.account_cache import AccountCache
from db.account_cache_bus import AccountCacheBus, FlushCacheDrops
from db.fsm_storage import DatabaseStorage
from services.outgoing.pacer import PacerRequestMiddleware, UpdateScopeMiddleware


def create_bot(ctx: AppContext, *, token: str | None = None) -> Bot:
    """A Bot talking to ``telegram.api_base`` (Telegram, or the sandbox's emulator), file downloads included."""
    api = TelegramAPIServer.from_base(ctx.settings.telegram.api_base)
    session = PinnedAiohttpSession(api=api)
    session.middleware(CommitBeforeSpeaking())  # commit, then speak: see bot/speaking.py
    session.middleware(IgnoreExpiredCallbackAnswers())
    session.middleware(FitKeyboardsMiddleware())  # no inline label cut off on a 360-px phone
    # Every message counts against the pacer's budget; a 429 anywhere pauses all sending.
    session.middleware(PacerRequestMiddleware(ctx.pacer))
    # Last, next to the network: every attempt and every 429 is counted, also those the pacer waits out.
    session.middleware(MessageMetricsMiddleware())
    return Bot(
        token=token or ctx.settings.require_token(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def create_storage(ctx: AppContext) -> tuple[BaseStorage, BaseEventIsolation]:
    """FSM storage and event isolation. Event isolation is always on, so one person's updates run in order."""
    fsm = ctx.settings.fsm
    lock = {"timeout": fsm.isolation_lock_seconds}
    if fsm.storage == "redis":
        from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

        storage = RedisStorage.from_url(fsm.redis_url)
        return storage, RedisEventIsolation(storage.redis, lock_kwargs=lock)
    if fsm.storage == "memory":
        return MemoryStorage(), SimpleEventIsolation()
    if fsm.events_isolation == "redis":
        # Several processes on one database: the state commits with the update (so a redelivered update after a
        # kill -9 replays exactly), read fresh each time (another process may have moved it on), and a person's
        # updates are serialised across processes by a Redis lock.
        from aiogram.fsm.storage.redis import RedisEventIsolation
        from redis.asyncio import Redis

        isolation = RedisEventIsolation(Redis.from_url(fsm.redis_url), lock_kwargs=lock)
        return DatabaseStorage(ctx.session_factory, clock=ctx.clock, cache_size=0), isolation
    return DatabaseStorage(ctx.session_factory, clock=ctx.clock), SimpleEventIsolation()


def create_account_cache(ctx: AppContext) -> AccountCache | None:
    """The identity cache, watching the context's sessions (with several processes, kept coherent by the bus)."""
    ttl = ctx.settings.telegram.identity_cache_seconds
    if ttl <= 0:
        return None
    cache = AccountCache(ttl)
    cache.install(ctx.session_factory)
    return cache


def create_account_cache_bus(ctx: AppContext, cache: AccountCache | None) -> AccountCacheBus | None:
    """With several bot processes (Redis isolation), the pub/sub bus that drops other processes' changes."""
    if cache is None or not ctx.settings.fsm.several_processes:
        return None
    from redis.asyncio import Redis

    # A client of its own: a subscribed connection must never go back into the storage's pool.
    return AccountCacheBus(cache, Redis.from_url(ctx.settings.fsm.redis_url), owns_client=True)


def create_i18n(ctx: AppContext) -> CatalogI18n:
    return CatalogI18n(
        default_locale=ctx.settings.i18n.default_locale, locales=tuple(ctx.settings.i18n.locales)
    )


def create_dispatcher(ctx: AppContext, *, i18n: CatalogI18n | None = None) -> Dispatcher:
    from handlers import build_root_router

    storage, isolation = create_storage(ctx)
    i18n = i18n or create_i18n(ctx)
    dp = Dispatcher(storage=storage, events_isolation=isolation)
    # Injected into every handler by name.
    dp["ctx"] = ctx
    dp["settings"] = ctx.settings
    dp["clock"] = ctx.clock
    dp["cipher"] = ctx.cipher

    if isinstance(storage, DatabaseStorage):
        db_session = DbSessionMiddleware(ctx.session_factory, storage.forget_uncommitted)
    else:
        db_session = DbSessionMiddleware(ctx.session_factory)
    # aiogram's FSM middleware, split in two around the session (bot/middlewares/fsm_context.py). The lock
    # stays first, where aiogram had it: everything below, commits included, runs while it is held.
    fsm = take_fsm_middleware(dp)
    dp.update.outer_middleware(PersonLockMiddleware(fsm))
    dp.update.outer_middleware(UpdateMetricsMiddleware())  # outermost of ours: times session and commit too
    # Everything sent while handling an update is a reply (counted by the pacer, never delayed).
    dp.update.outer_middleware(UpdateScopeMiddleware())
    dp["account_cache"] = account_cache = create_account_cache(ctx)
    dp["account_cache_bus"] = bus = create_account_cache_bus(ctx, account_cache)
    if bus is not None:  # outside the session: publishes the update's drops after its commit
        dp.update.outer_middleware(FlushCacheDrops(bus))
    dp.update.outer_middleware(db_session)
    dp.update.outer_middleware(FsmStateMiddleware())  # read through the update's session
    watch_writes(ctx.session_factory)
    dp.update.outer_middleware(UpdateLedgerMiddleware(ctx.clock))  # a redelivered update changes nothing twice
    dp.update.outer_middleware(IdentityMiddleware(ctx.clock, account_cache))
    dp.update.outer_middleware(AccountI18nMiddleware(i18n))
    dp.update.outer_middleware(
        ThrottlingMiddleware(ctx.settings.throttling.rate, ctx.settings.throttling.per_seconds)
    )
    dp.update.outer_middleware(CommandsSyncMiddleware())
    dp.include_router(build_root_router())
    inline_magic_filters(dp)  # aiogram would run each magic filter in a thread
    return dp
