"""Shared fixtures: a real database per test (SQLite file, or PostgreSQL when UEP_TEST_DB=postgresql),
settings pointing at it, an application context with a frozen clock.

Run the suite on PostgreSQL with ``UEP_TEST_DB=postgresql`` (server on 127.0.0.1:5432, database ``test``;
override with UEP_TEST_PG_URL).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

import bot.speaking
from bot.config import Settings, load_settings
from bot.context import AppContext
from db.migrate import upgrade
from db.models import Base
from db.session import create_engine, create_session_factory
from services.clock import FrozenClock
from services.crypto import NikCipher, decode_data_key

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BOT_API_SPEC = Path(__file__).resolve().parents[1].parent / "shared" / "telegram" / "bot-api.json"
# A fixed key for tests only; production refuses to start without its own key.
TEST_DATA_KEY = "dGVzdC1rZXktZm9yLXVlcC1ib3QtdGVzdHMtb25seSE="
TEST_PG_URL = os.environ.get("UEP_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
# Commit, then speak: a Telegram request made while a database transaction of the same task is open fails the
# test, inside an update and outside (scan tasks, the outbox sender, broadcasts, the CLI).
bot.speaking.STRICT = True
bot.speaking.STRICT_OUTSIDE_UPDATES = True
# 2026-03-02 09:00 WITA: a Monday in the program year, inside working hours.
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def using_postgres() -> bool:
    return os.environ.get("UEP_TEST_DB", "sqlite").lower().startswith("postgres")


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db-template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _postgres_migrated() -> str:
    import asyncio

    async def reset() -> None:
        engine = create_engine(TEST_PG_URL)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())
    upgrade(TEST_PG_URL)
    return TEST_PG_URL


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database for this test."""
    if using_postgres():
        url = request.getfixturevalue("_postgres_migrated")
        yield url
        import asyncio

        async def truncate() -> None:
            engine = create_engine(url)
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            async with engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            await engine.dispose()

        asyncio.run(truncate())
    else:
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "uep.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in list(os.environ):
        if key.startswith("UEP_") and key not in ("UEP_TEST_DB", "UEP_TEST_PG_URL"):
            monkeypatch.delenv(key)
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    monkeypatch.setenv("UEP_DATABASE__URL", db_url)
    monkeypatch.setenv("UEP_SECURITY__DATA_KEY", TEST_DATA_KEY)
    monkeypatch.setenv("UEP_STORAGE__MEDIA_DIR", str(tmp_path / "media"))
    return load_settings(Path(__file__).resolve().parents[1] / "config.toml")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
async def ctx(settings: Settings, clock: FrozenClock) -> AsyncIterator[AppContext]:
    context = AppContext.build(settings, clock=clock)
    yield context
    await context.close()


@pytest.fixture
def cipher() -> NikCipher:
    return NikCipher.from_master(decode_data_key(TEST_DATA_KEY))


@pytest.fixture
async def session(ctx: AppContext):  # type: ignore[no-untyped-def]
    async with ctx.session_factory() as s:
        yield s


# UEP_TEST_REDIS_URL lets parallel runs on one machine use separate Redis databases.
TEST_REDIS_URL = os.environ.get("UEP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def reachable_redis(*, empty: bool = False) -> str:
    """The test Redis database (emptied when asked); the test is skipped when Redis is not reachable."""
    redis = pytest.importorskip("redis.asyncio")
    client = redis.from_url(TEST_REDIS_URL)
    try:
        await (client.flushdb() if empty else client.ping())
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis not reachable at {TEST_REDIS_URL}: {exc}")
    finally:
        await client.aclose()
    return TEST_REDIS_URL


__all__ = [
    "BOT_API_SPEC", "SHARED_DATA", "T0", "TEST_REDIS_URL", "create_session_factory", "reachable_redis",
    "using_postgres",
]


@pytest.fixture
async def sandbox(ctx: AppContext):  # type: ignore[no-untyped-def]
    """The real bot in polling mode against the Telegram emulator (over HTTP). Any request the bot makes
    that Telegram would reject fails the test."""
    from sandbox.runner import SandboxRun

    run = await SandboxRun.start(ctx)
    try:
        yield run
        await run.settle()
        run.emulator.assert_no_violations()
    finally:
        await run.stop()
