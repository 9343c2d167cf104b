"""aiogram FSM storage in the main database, so a restart in the middle of a conversation loses nothing.

Writes made while an update is handled go through that update's session (``db.session.current_session``),
so the conversation state commits or rolls back with the rest of the update: never a state that points past
data that was not saved. Each key is written once, just before the session commits (its last value).
Reads are served from a bounded write-through cache: with DB storage the bot runs as one process (several
processes use Redis storage and Redis event isolation instead), so the cache is never stale; keys written by
an update that rolled back are dropped from it (``forget_uncommitted``). With several processes on one
database (``fsm.events_isolation = "redis"``) there is no cache (``cache_size=0``), but an update reads each
key once, through its own session (``bot.middlewares.fsm_context``), and keeps it with its own writes there
(its person's lock keeps their other updates out meanwhile).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from sqlalchemy import Connection, bindparam, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from db.models import FsmRecord
from db.session import current_session
from services.clock import Clock, SystemClock

_MISSING = object()
_TABLE = FsmRecord.__table__
_DELETE = _TABLE.delete().where(_TABLE.c.key == bindparam("k"))
_UPSERTS: dict[str, Any] = {}


def _upsert(dialect: str) -> Any:
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(_TABLE)
        stmt = _UPSERTS[dialect] = insert.on_conflict_do_update(
            index_elements=[_TABLE.c.key],
            set_={name: insert.excluded[name] for name in ("state", "data", "updated_at")},
        )
    return stmt


_WRITTEN = "uep_fsm_written"  # session.info: keys written in the open transaction
_UNWRITTEN = "uep_fsm_unwritten"  # session.info: key -> (state, data, time), written just before the commit
_READ = "uep_fsm_read"  # session.info: the state of each key as this update knows it (read once, then its writes)


def _write_now(connection: Connection, key: str, state: str | None, data: dict[str, Any], now: datetime) -> None:
    # Core statements built once, values as parameters: most updates of a conversation write here, and
    # building an ORM upsert per write cost more than the rest of the step's database work.
    if state is None and not data:
        connection.execute(_DELETE, {"k": key})
        return
    connection.execute(_upsert(connection.dialect.name), {"key": key, "state": state, "data": data, "updated_at": now})


def _write_unwritten(session: Session) -> None:
    # before_commit runs inside the commit's greenlet, so these synchronous executes are the session's own.
    unwritten = session.info.pop(_UNWRITTEN, None)
    if unwritten:
        connection = session.connection()
        for key, (state, data, now) in unwritten.items():
            _write_now(connection, key, state, data, now)


def _drop_unwritten(session: Session, *_args: Any) -> None:
    session.info.pop(_UNWRITTEN, None)


def _defer_writes_to_commit(session: AsyncSession) -> None:
    cls = type(session.sync_session)
    if not getattr(cls, "_uep_fsm_writes_at_commit", False):
        event.listen(cls, "before_commit", _write_unwritten)
        event.listen(cls, "after_soft_rollback", _drop_unwritten)
        cls._uep_fsm_writes_at_commit = True  # type: ignore[attr-defined]


class DatabaseStorage(BaseStorage):
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        clock: Clock | None = None,
        key_builder: KeyBuilder | None = None,
        cache_size: int = 20_000,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock or SystemClock()
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[str | None, dict[str, Any]]] = OrderedDict()

    async def _load(self, key: str) -> tuple[str | None, dict[str, Any]]:
        cached = self._cache.get(key, _MISSING)
        if cached is not _MISSING:
            self._cache.move_to_end(key)
            return cached  # type: ignore[return-value]
        ambient = current_session.get()
        seen: dict[str, tuple[str | None, dict[str, Any]]] | None = None
        if ambient is not None:
            # Read once per update (several processes, no cache): the person's lock keeps every other update of
            # theirs out until this one ends, and this update's own writes land here too (``_save``). aiogram
            # reads the state for the filters, then each update_data/set_state/get_data would read it again.
            seen = ambient.info.setdefault(_READ, {})
            value = seen.get(key, _MISSING)  # type: ignore[arg-type]
            if value is not _MISSING:
                return value[0], dict(value[1])  # type: ignore[index]
        query = select(FsmRecord.state, FsmRecord.data).where(FsmRecord.key == key)
        if ambient is not None:
            # Through the update's session: it sees the update's own uncommitted writes (with no cache, or
            # cache_size=0 for several processes, a fresh session would read the state from before them).
            with ambient.no_autoflush:
                row = (await ambient.execute(query)).first()
        else:
            async with self.session_factory() as session:
                row = (await session.execute(query)).first()
        value = (row.state, dict(row.data or {})) if row else (None, {})
        if seen is not None:
            seen[key] = (value[0], dict(value[1]))
        self._remember(key, value)
        return value

    def _remember(self, key: str, value: tuple[str | None, dict[str, Any]]) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    async def _write(self, session: AsyncSession, key: str, state: str | None, data: dict[str, Any]) -> None:
        connection = await session.connection()
        now = self.clock.now()
        await connection.run_sync(lambda sync: _write_now(sync, key, state, data, now))

    async def _save(self, key: str, state: str | None, data: dict[str, Any]) -> None:
        if self._cache.get(key) == (state, data):
            return  # nothing changes (e.g. /start clearing an empty state): no write, no SQLite write lock
        ambient = current_session.get()
        if ambient is not None:
            # Written once, when the update's transaction commits: a step's update_data and set_state (and
            # a clear) were two or three upserts of the same row, each a round trip to PostgreSQL.
            _defer_writes_to_commit(ambient)
            ambient.info.setdefault(_UNWRITTEN, {})[key] = (state, dict(data), self.clock.now())
            ambient.info.setdefault(_WRITTEN, set()).add(key)
            ambient.info.setdefault(_READ, {})[key] = (state, dict(data))
        else:
            async with self.session_factory.begin() as session:
                await self._write(session, key, state, data)
        self._remember(key, (state, data))

    def forget_uncommitted(self, session: AsyncSession) -> None:
        """The update's transaction rolled back: its FSM writes never happened, so drop them from the cache."""
        for key in session.info.pop(_WRITTEN, ()):
            self._cache.pop(key, None)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        k = self.key_builder.build(key)
        _, data = await self._load(k)
        value = state.state if isinstance(state, State) else state
        await self._save(k, value, data)

    async def get_state(self, key: StorageKey) -> str | None:
        state, _ = await self._load(self.key_builder.build(key))
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise TypeError(f"FSM data must be a dict, not {type(data).__name__}")
        k = self.key_builder.build(key)
        state, _ = await self._load(k)
        await self._save(k, state, dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        _, data = await self._load(self.key_builder.build(key))
        return dict(data)

    async def close(self) -> None:
        self._cache.clear()
