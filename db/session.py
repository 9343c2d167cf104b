"""Engine and session factory. SQLite gets WAL, foreign keys and a busy timeout on every connection."""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

SQLITE_BUSY_TIMEOUT_MS = 30_000

# The session of the update being handled (set by the bot's DB-session middleware). The FSM storage writes
# through it, so conversation state commits or rolls back together with the update's other changes, and on
# SQLite never waits for a write lock that its own update holds.
current_session: ContextVar[AsyncSession | None] = ContextVar("uep_current_session", default=None)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(url: str, *, echo: bool = False, pool_size: int = 20, max_overflow: int = 20) -> AsyncEngine:
    """An engine whose pool holds ``pool_size`` connections (+ ``max_overflow`` in a burst): size it with the
    updates handled at once (``Settings.pool_size``, from ``telegram.concurrent_updates``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, pool_size=pool_size,
            max_overflow=max_overflow,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow)
    event.listen(engine.sync_engine, "checkout", _drop_closed_connection)
    return engine


def _drop_closed_connection(dbapi_connection, _record, _proxy) -> None:  # type: ignore[no-untyped-def]
    """A pooled connection the server has closed (a restart, an idle timeout) is replaced before use.

    Instead of SQLAlchemy's ``pool_pre_ping``: on asyncpg that ping is BEGIN, an empty query and ROLLBACK, three
    round trips on every checkout, and an update checks out once per commit (commit, then speak), which made
    the pings a third of the bot's statements. asyncpg notices a closed socket while the connection sits in
    the pool, so asking it costs nothing. A connection lost between this check and its use fails that update;
    its webhook delivery gets no 200 and Telegram delivers it again (``bot.middlewares.update_ledger``).
    """
    connection = getattr(dbapi_connection, "_connection", None)
    if connection is not None and connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: handlers keep using loaded objects after the middleware commits.
    # A session class of its own, so session events (db.account_cache) watch this factory's sessions only.
    session_class = type("UepSession", (Session,), {})
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=session_class)
