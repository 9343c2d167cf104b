"""The application's shared parts, built once from settings and handed to the bot, scheduler, CLI and sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from db.session import create_engine, create_session_factory
from services.clock import Clock, SystemClock
from services.crypto import NikCipher
from services.outgoing.pacer import Pacer


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    cipher: NikCipher
    clock: Clock = field(default_factory=SystemClock)
    # The one outgoing gate (rate, per chat, priorities, 429 pause); in-process unless built with Redis.
    pacer: Pacer = None  # type: ignore[assignment]  (built by __post_init__ when not given)

    def __post_init__(self) -> None:
        if self.pacer is None:
            self.pacer = Pacer(limits=self.settings.telegram)

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> AppContext:
        engine = create_engine(
            settings.database.url, echo=settings.database.echo,
            pool_size=settings.pool_size, max_overflow=settings.database.max_overflow,
        )
        return cls(
            settings=settings,
            engine=engine,
            session_factory=create_session_factory(engine),
            cipher=NikCipher.from_master(settings.require_data_key()),
            clock=clock or SystemClock(),
            pacer=Pacer.from_settings(settings.telegram, settings.pacer_redis()),
        )

    async def close(self) -> None:
        if self.pacer is not None:
            await self.pacer.close()
        await self.engine.dispose()
