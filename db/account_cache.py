"""An in-process cache of Telegram accounts with what they are linked to, so that most updates (a menu button,
/help, the next step of a conversation) learn who is writing without a database round trip.

Every update needs the account, its recipient, field worker or staff record and their kecamatan: one SELECT
joining seven tables whose ORM row processing was the largest single cost of an update. The cache keeps a
*detached* copy of that object graph per Telegram user; the identity middleware merges it into the update's
session with ``load=False`` (no SQL), so handlers get ordinary session-bound objects.

Staying correct:

* Every flush through the session factory records which accounts, recipients, field workers or staff rows
  it changed (bulk ``UPDATE``/``DELETE`` on those tables, or a kecamatan change, mark everything); when that
  transaction commits, the affected entries are dropped. A rolled-back transaction drops nothing.
* An entry is only stored by an update whose transaction committed when nothing that account depends on (its
  own row, its recipient, worker or staff row, any kecamatan) changed since it was read: every committed change
  is stamped with a counter (``epoch``), so a read racing with another update's change is never cached.
* With several bot processes (Redis FSM storage) every process publishes what its commits dropped through Redis
  pub/sub and drops what the others publish (``db/account_cache_bus.py``); while that channel is down the
  cache serves nothing. Changes made by a process without the bus (the ``uep`` CLI, an import) are seen after
  ``ttl`` seconds at most.
* Each entry lives a random 75–100% of ``ttl``: people cached in the same second (everyone answering one
  reminder) would otherwise all be read again in the same second a minute later, a burst of full identity
  queries that stalled every update behind it.
"""

from __future__ import annotations

import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from db.models import FieldWorker, Kabupaten, Kecamatan, Recipient, Staff, TelegramAccount

log = logging.getLogger(__name__)

_CHANGES = "uep_account_cache_changes"
_OFFER = "uep_account_cache_offer"
_EVERYTHING = "*"
_OWN = "own"
# Columns of an account that say nothing about who it is: a change to only these, made by the update that read
# the account, leaves the committed object fit to cache (the first update of the day writes last_seen_at, the
# first one after a role change writes commands_role).
_OWN_COLUMNS = frozenset({"last_seen_at", "blocked_at", "chat_id", "first_name", "commands_role", "language"})
_LINKED = {Recipient: "recipient", FieldWorker: "worker", Staff: "staff"}
_SHARED = (Kecamatan, Kabupaten)
_WATCHED = (TelegramAccount, *_LINKED, *_SHARED)


class AccountCache:
    def __init__(
        self,
        ttl: float,
        *,
        max_size: int = 50_000,
        jitter: float = 0.25,
        monotonic: Callable[[], float] = time.monotonic,
        uniform: Callable[[], float] = random.random,
    ):
        self.ttl = ttl
        self.max_size = max_size
        self.jitter = jitter  # an entry lives between (1 - jitter) * ttl and ttl
        self._monotonic = monotonic
        self._uniform = uniform
        self._entries: OrderedDict[int, tuple[float, TelegramAccount]] = OrderedDict()  # user id → (expiry, account)
        # recipient/worker/staff id → Telegram user id of the cached account linked to it
        self._linked: dict[tuple[str, int], int] = {}
        self.epoch = 0  # bumped by every committed change to what accounts depend on
        self._changed_at: dict[Any, int] = {}  # change key → epoch of its last committed change
        self._everything_at = 0  # epoch of the last change that concerned every account
        self._session_class: type[Session] | None = None
        # Told what each commit dropped (user ids, ("recipient", id) ..., "*"): the cross-process bus listens.
        self.listeners: list[Callable[[set[Any]], None]] = []
        # True while changes made elsewhere could be missed (the bus is reconnecting): nothing is served.
        self.suspended = False

    # ------------------------------------------------------------------ reading
    def get(self, telegram_user_id: int) -> TelegramAccount | None:
        if self._session_class is None or self.suspended:
            return None  # not watching any session (or not hearing other processes): it could not know of changes
        entry = self._entries.get(telegram_user_id)
        if entry is None:
            return None
        expires_at, account = entry
        if self._monotonic() > expires_at:
            self._drop(telegram_user_id)
            return None
        self._entries.move_to_end(telegram_user_id)
        return account

    async def attach(self, session: AsyncSession, telegram_user_id: int) -> TelegramAccount | None:
        """The cached account as an object of ``session`` (no SQL), or None when it is not cached."""
        cached = self.get(telegram_user_id)
        if cached is None:
            return None
        return await session.merge(cached, load=False)

    def offer(self, session: AsyncSession, account: TelegramAccount, epoch: int) -> None:
        """Cache ``account`` (read at ``epoch``) once ``session`` commits, if nothing it depends on changed."""
        session.info[_OFFER] = (account, epoch)

    def __len__(self) -> int:
        return len(self._entries)

    # ------------------------------------------------------------------ wiring
    def install(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        """Watch every session made by ``session_factory`` (the bot's, the scheduler's, the workers')."""
        cls = session_factory.kw.get("sync_session_class", Session)
        if cls is Session:
            raise ValueError("the session factory needs its own sync_session_class (db.session.create_session_factory)")
        self._session_class = cls
        event.listen(cls, "after_flush", self._after_flush)
        event.listen(cls, "do_orm_execute", self._do_orm_execute)
        event.listen(cls, "after_commit", self._after_commit)
        event.listen(cls, "after_rollback", self._after_rollback)

    def uninstall(self) -> None:
        cls, self._session_class = self._session_class, None
        if cls is not None:
            event.remove(cls, "after_flush", self._after_flush)
            event.remove(cls, "do_orm_execute", self._do_orm_execute)
            event.remove(cls, "after_commit", self._after_commit)
            event.remove(cls, "after_rollback", self._after_rollback)
        self.clear()

    def clear(self) -> None:
        self.epoch += 1
        self._everything_at = self.epoch
        self._changed_at.clear()
        self._entries.clear()
        self._linked.clear()

    # ------------------------------------------------------------------ session events
    def _after_flush(self, session: Session, _flush: UOWTransaction) -> None:
        changes: set[Any] = session.info.setdefault(_CHANGES, set())
        for obj in (*session.new, *session.dirty, *session.deleted):
            if isinstance(obj, TelegramAccount):
                # Still the pre-flush state here, so attribute history tells which columns changed.
                state = inspect(obj)
                changed = {a.key for a in state.attrs if a.history.has_changes()}
                if state.persistent and obj not in session.deleted and changed <= _OWN_COLUMNS:
                    changes.add((_OWN, obj.telegram_user_id))
                else:
                    changes.add(obj.telegram_user_id)
            elif isinstance(obj, _SHARED):
                changes.add(_EVERYTHING)
            else:
                kind = _LINKED.get(type(obj))
                if kind is not None and obj.id is not None:
                    changes.add((kind, obj.id))

    def _do_orm_execute(self, state: ORMExecuteState) -> None:
        if (state.is_update or state.is_delete) and any(
            issubclass(m.class_, _WATCHED) for m in state.all_mappers
        ):
            state.session.info.setdefault(_CHANGES, set()).add(_EVERYTHING)

    def _after_commit(self, session: Session) -> None:
        changes = session.info.pop(_CHANGES, None) or set()
        offer = session.info.pop(_OFFER, None)
        # Nothing changed since the offered account was read but its own bookkeeping columns, written by this
        # very transaction: the object holds exactly what was committed, so it can be cached.
        try:
            storable = (
                offer is not None
                and self.ttl > 0
                and changes <= {(_OWN, offer[0].telegram_user_id)}
                and _fully_loaded(offer[0])
                and self._unchanged_since(offer[0], offer[1])
            )
            if changes:
                dropped = {c[1] if isinstance(c, tuple) and c[0] == _OWN else c for c in changes}
                self._evict(dropped)
                for listener in self.listeners:
                    listener(dropped)
            if storable:
                self._store(offer[0])
        except Exception:  # the transaction is committed: a cache problem must not fail the update
            log.exception("account cache: could not record a commit")
            self.clear()

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(_CHANGES, None)
        session.info.pop(_OFFER, None)

    def drop_remote(self, changes: set[Any]) -> None:
        """Changes committed by another process: drop what they touch, and cache no read that raced with them."""
        self._evict(changes)

    # ------------------------------------------------------------------ bookkeeping
    def _unchanged_since(self, account: TelegramAccount, epoch: int) -> bool:
        if self._everything_at > epoch:
            return False
        keys = [account.telegram_user_id, *_links(account)]
        return all(self._changed_at.get(key, 0) <= epoch for key in keys)

    def _evict(self, changes: set[Any]) -> None:
        self.epoch += 1
        if _EVERYTHING in changes or len(self._changed_at) > 4 * self.max_size:
            self.clear()
            return
        for change in changes:
            self._changed_at[change] = self.epoch
            user_id = self._linked.get(change) if isinstance(change, tuple) else change
            if user_id is not None:
                self._drop(user_id)

    def _store(self, account: TelegramAccount) -> None:
        user_id = account.telegram_user_id
        self._drop(user_id)
        lifetime = self.ttl * (1 - self.jitter * self._uniform())
        self._entries[user_id] = (self._monotonic() + lifetime, account)
        for kind, linked_id in _links(account):
            self._linked[(kind, linked_id)] = user_id
        while len(self._entries) > self.max_size:
            self._drop(next(iter(self._entries)))

    def _drop(self, telegram_user_id: int) -> None:
        entry = self._entries.pop(telegram_user_id, None)
        if entry is not None:
            for key in _links(entry[1]):
                self._linked.pop(key, None)


def _links(account: TelegramAccount) -> list[tuple[str, int]]:
    ids = (("recipient", account.recipient_id), ("worker", account.worker_id), ("staff", account.staff_id))
    return [(kind, linked_id) for kind, linked_id in ids if linked_id is not None]


def _fully_loaded(obj: Any, seen: set[int] | None = None) -> bool:
    """Only a graph whose columns are all loaded can be merged without SQL later. Relationships are followed
    only where loaded (touching an unloaded one here would itself be a lazy load); one that a fresh query
    leaves unloaded (``Kabupaten.kecamatan``) stays unloaded in the copy too."""
    seen = seen if seen is not None else set()
    if id(obj) in seen:
        return True
    seen.add(id(obj))
    state = inspect(obj)
    if not state.persistent or state.expired_attributes or state.unloaded & set(state.mapper.column_attrs.keys()):
        return False
    for rel in state.mapper.relationships:
        value = state.dict.get(rel.key)
        if value is not None and not _fully_loaded(value, seen):
            return False
    return True
