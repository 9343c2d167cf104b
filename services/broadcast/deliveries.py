"""Broadcast and delivery rows: create, start (one delivery row per reachable person, one bulk INSERT … SELECT),
claim due deliveries in batches, record outcomes in batches, count, finish.

Claims: one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING …`` (the lock clause is
dropped on SQLite, where the write lock already serialises claimers). ``claimed_until`` is a lease: a crashed
worker's claims expire and another worker takes them. The exact lease timestamp is also the claim's token: a
renewal only succeeds where the row still carries the token this worker wrote.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import BroadcastStatus, DeliveryStatus
from db.models import Broadcast, BroadcastDelivery, FieldWorker, Kecamatan, Recipient, TelegramAccount
from services.audit import audit
from services.broadcast.audience import Audience, reachable_accounts
from services.clock import Clock

D = BroadcastDelivery
T = BroadcastDelivery.__table__  # Core table: per-row executemany updates


@dataclass(slots=True)
class Claimed:
    """One claimed delivery, as the sender needs it (plain values: no ORM objects on the hot path)."""

    id: int
    broadcast_id: int
    chat_id: int
    language: str
    attempts: int
    account_id: int | None
    token: datetime  # the lease written by this claim
    was_blocked: bool = False


@dataclass(frozen=True, slots=True)
class Counts:
    pending: int = 0
    sent: int = 0
    failed: int = 0
    blocked: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.sent + self.failed + self.blocked

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.blocked


async def create_broadcast(
    session: AsyncSession,
    clock: Clock,
    *,
    actor: str,
    actor_account_id: int | None,
    text_id: str,
    text_en: str | None,
    photo_file_id: str | None,
    audience: Audience,
    scheduled_at: datetime | None = None,
    progress_chat_id: int | None = None,
    via: str = "bot",
) -> Broadcast:
    """A broadcast row (audited). Sent now: its deliveries are created at once; scheduled: when it falls due."""
    now = clock.now()
    later = scheduled_at is not None and scheduled_at > now
    broadcast = Broadcast(
        created_by_account_id=actor_account_id, created_by=actor[:200], text_id=text_id, text_en=text_en or None,
        photo_file_id=photo_file_id, audience=audience.to_json(),
        status=BroadcastStatus.SCHEDULED if later else BroadcastStatus.DRAFT,
        scheduled_at=scheduled_at if later else None, total=0, progress_chat_id=progress_chat_id, created_at=now,
    )
    session.add(broadcast)
    await session.flush()
    audit(
        session, clock, actor=actor, actor_account_id=actor_account_id, action="broadcast.create",
        target=f"broadcast:{broadcast.id}",
        details={"audience": audience.to_json(), "scheduled_at": scheduled_at.isoformat() if later else None,
                 "photo": photo_file_id is not None, "english": bool(text_en), "via": via},
    )
    if not later:
        await start_broadcast(session, broadcast, now)
    return broadcast


async def cancel_scheduled(
    session: AsyncSession, clock: Clock, broadcast_id: int, *, actor: str, actor_account_id: int | None
) -> bool:
    """Cancel a broadcast that has not started yet (audited). False when it is already sending, done or
    cancelled: the conditional UPDATE never races with the scan that starts it."""
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.SCHEDULED)
        .values(status=BroadcastStatus.CANCELLED)
    )
    if result.rowcount != 1:
        return False
    audit(session, clock, actor=actor, actor_account_id=actor_account_id, action="broadcast.cancel",
          target=f"broadcast:{broadcast_id}")
    return True


async def start_broadcast(session: AsyncSession, broadcast: Broadcast, now: datetime) -> int:
    """Create every delivery row (one INSERT … SELECT, nothing loaded into Python) and mark it sending."""
    audience = Audience.from_json(broadcast.audience)
    source = reachable_accounts(audience).subquery()
    cols = list(source.c)
    rows = select(
        literal(broadcast.id), cols[0], cols[1], cols[2], literal(str(DeliveryStatus.PENDING)), literal(0),
        literal(now, D.next_attempt_at.type),
    )
    await session.execute(
        insert(D).from_select(
            ["broadcast_id", "telegram_account_id", "chat_id", "language", "status", "attempts", "next_attempt_at"],
            rows,
        )
    )
    total = int(await session.scalar(select(func.count()).select_from(D).where(D.broadcast_id == broadcast.id)) or 0)
    broadcast.total = total
    broadcast.status = BroadcastStatus.SENDING
    broadcast.started_at = now
    await session.flush()
    return total


async def start_due(session: AsyncSession, now: datetime, limit: int = 20) -> list[int]:
    """Start the scheduled broadcasts whose time has come (each once, also with several processes)."""
    due = (
        await session.scalars(
            select(Broadcast)
            .where(Broadcast.status == BroadcastStatus.SCHEDULED, Broadcast.scheduled_at <= now)
            .order_by(Broadcast.scheduled_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    started = []
    for broadcast in due:
        await start_broadcast(session, broadcast, now)
        started.append(broadcast.id)
    return started


def _due_clause(now: datetime, broadcast_id: int | None = None) -> Any:
    parts = [
        D.status == DeliveryStatus.PENDING,
        D.next_attempt_at <= now,
        or_(D.claimed_until.is_(None), D.claimed_until < now),
        D.broadcast_id.in_(select(Broadcast.id).where(Broadcast.status == BroadcastStatus.SENDING)),
    ]
    if broadcast_id is not None:
        parts.append(D.broadcast_id == broadcast_id)
    return and_(*parts)


async def any_due(session: AsyncSession, now: datetime, broadcast_id: int | None = None) -> bool:
    """A read-only probe, so an idle worker does not take SQLite's write lock every time it looks for work."""
    return (await session.scalar(select(D.id).where(_due_clause(now, broadcast_id)).limit(1))) is not None


async def claim(
    session: AsyncSession, now: datetime, *, limit: int, lease: timedelta, broadcast_id: int | None = None
) -> list[Claimed]:
    """Claim up to ``limit`` due pending deliveries (of one broadcast, or all) for ``lease``; commit at once."""
    until = now + lease
    picked = (
        select(D.id).where(_due_clause(now, broadcast_id)).order_by(D.next_attempt_at).limit(limit)
        .with_for_update(skip_locked=True)
    ).scalar_subquery()
    result = await session.execute(
        update(D)
        .where(D.id.in_(picked))
        .values(claimed_until=until)
        .returning(D.id, D.broadcast_id, D.chat_id, D.language, D.attempts, D.telegram_account_id)
        .execution_options(synchronize_session=False)
    )
    claimed = [Claimed(r[0], r[1], r[2], r[3] or "id", r[4], r[5], until) for r in result.all()]
    account_ids = [c.account_id for c in claimed if c.account_id is not None]
    if account_ids:
        blocked = set(
            (
                await session.scalars(
                    select(TelegramAccount.id).where(
                        TelegramAccount.id.in_(account_ids), TelegramAccount.blocked_at.is_not(None)
                    )
                )
            ).all()
        )
        for c in claimed:
            c.was_blocked = c.account_id in blocked
    claimed.sort(key=lambda c: c.id)
    return claimed


async def renew(session: AsyncSession, ids: Sequence[int], token: datetime, until: datetime) -> set[int]:
    """Extend the lease of claims still carrying ``token``; returns the ids still ours."""
    if not ids:
        return set()
    result = await session.execute(
        update(D)
        .where(D.id.in_(list(ids)), D.claimed_until == token, D.status == DeliveryStatus.PENDING)
        .values(claimed_until=until)
        .returning(D.id)
        .execution_options(synchronize_session=False)
    )
    return set(result.scalars().all())


async def release(session: AsyncSession, ids: Sequence[int]) -> None:
    """Give claims back (graceful stop): another worker, or this one after a restart, takes them at once."""
    if ids:
        await session.execute(
            update(D).where(D.id.in_(list(ids)), D.status == DeliveryStatus.PENDING).values(claimed_until=None)
            .execution_options(synchronize_session=False)
        )


@dataclass(slots=True)
class Outcomes:
    """A batch of results, written in one transaction by :func:`record`."""

    sent: list[tuple[int, int | None, bool]]            # (delivery id, account id, account was blocked)
    blocked: list[tuple[int, int | None, str]]          # (delivery id, account id, error)
    failed: list[tuple[int, int, str]]                  # (delivery id, attempts, error)
    retry: list[tuple[int, int, datetime, str]]         # (delivery id, attempts, next attempt, error)

    @classmethod
    def new(cls) -> Outcomes:
        return cls([], [], [], [])

    def __len__(self) -> int:
        return len(self.sent) + len(self.blocked) + len(self.failed) + len(self.retry)


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


async def record(session: AsyncSession, out: Outcomes, now: datetime) -> None:
    """Write a batch of outcomes: a few statements whatever the batch size."""
    for chunk in _chunks(out.sent):
        await session.execute(
            update(D).where(D.id.in_([i for i, _, _ in chunk]))
            .values(status=DeliveryStatus.SENT, sent_at=now, claimed_until=None, attempts=D.attempts + 1, error=None)
            .execution_options(synchronize_session=False)
        )
    unblocked = [a for _, a, was_blocked in out.sent if was_blocked and a is not None]
    if unblocked:  # they can be reached again
        await session.execute(
            update(TelegramAccount).where(TelegramAccount.id.in_(unblocked)).values(blocked_at=None)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(Recipient)
            .where(Recipient.id.in_(select(TelegramAccount.recipient_id).where(TelegramAccount.id.in_(unblocked))))
            .values(unreachable_since=None)
            .execution_options(synchronize_session=False)
        )
    if out.blocked:
        stmt = update(T).where(T.c.id == bindparam("d_id")).values(
            status=DeliveryStatus.BLOCKED, claimed_until=None, attempts=T.c.attempts + 1, error=bindparam("err")
        )
        await session.execute(
            stmt,
            [{"d_id": i, "err": e[:300]} for i, _, e in out.blocked],
        )
        accounts = [a for _, a, _ in out.blocked if a is not None]
        if accounts:
            await session.execute(
                update(TelegramAccount).where(TelegramAccount.id.in_(accounts)).values(blocked_at=now)
                .execution_options(synchronize_session=False)
            )
            await session.execute(
                update(Recipient)
                .where(
                    Recipient.id.in_(select(TelegramAccount.recipient_id).where(TelegramAccount.id.in_(accounts))),
                    Recipient.unreachable_since.is_(None),
                )
                .values(unreachable_since=now)
                .execution_options(synchronize_session=False)
            )
    if out.failed:
        stmt = update(T).where(T.c.id == bindparam("d_id")).values(
            status=DeliveryStatus.FAILED, claimed_until=None, attempts=bindparam("att"), error=bindparam("err")
        )
        await session.execute(
            stmt,
            [{"d_id": i, "att": a, "err": e[:300]} for i, a, e in out.failed],
        )
    if out.retry:
        stmt = update(T).where(T.c.id == bindparam("d_id")).values(
            claimed_until=None, attempts=bindparam("att"), next_attempt_at=bindparam("nxt"), error=bindparam("err")
        )
        await session.execute(
            stmt,
            [{"d_id": i, "att": a, "nxt": n, "err": e[:300]} for i, a, n, e in out.retry],
        )


async def counts(session: AsyncSession, broadcast_id: int) -> Counts:
    rows = await session.execute(
        select(D.status, func.count()).where(D.broadcast_id == broadcast_id).group_by(D.status)
    )
    by = {status: int(n) for status, n in rows.all()}
    return Counts(
        pending=by.get(DeliveryStatus.PENDING, 0), sent=by.get(DeliveryStatus.SENT, 0),
        failed=by.get(DeliveryStatus.FAILED, 0), blocked=by.get(DeliveryStatus.BLOCKED, 0),
    )


async def next_due_at(session: AsyncSession, broadcast_id: int | None = None) -> datetime | None:
    """When the earliest pending delivery of a sending broadcast falls due (to sleep until then)."""
    stmt = select(func.min(D.next_attempt_at)).where(
        D.status == DeliveryStatus.PENDING,
        D.broadcast_id.in_(select(Broadcast.id).where(Broadcast.status == BroadcastStatus.SENDING)),
    )
    if broadcast_id is not None:
        stmt = stmt.where(D.broadcast_id == broadcast_id)
    return await session.scalar(stmt)


async def finish_done(session: AsyncSession, now: datetime) -> list[int]:
    """Mark finished every sending broadcast without pending deliveries; returns the ids this call finished."""
    candidates = (
        await session.scalars(
            select(Broadcast.id).where(
                Broadcast.status == BroadcastStatus.SENDING,
                ~exists().where(D.broadcast_id == Broadcast.id, D.status == DeliveryStatus.PENDING),
            )
        )
    ).all()
    finished = []
    for bid in candidates:
        result = await session.execute(
            update(Broadcast).where(Broadcast.id == bid, Broadcast.status == BroadcastStatus.SENDING)
            .values(status=BroadcastStatus.DONE, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            finished.append(bid)
    return finished


async def take_progress_turn(session: AsyncSession, broadcast_id: int, now: datetime, interval: float) -> bool:
    """True for the one caller (of any process) allowed to update the progress message now."""
    result = await session.execute(
        update(Broadcast)
        .where(
            Broadcast.id == broadcast_id,
            or_(Broadcast.progress_updated_at.is_(None),
                Broadcast.progress_updated_at <= now - timedelta(seconds=interval)),
        )
        .values(progress_updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


FAILED_CSV_HEADER = ["delivery_id", "status", "attempts", "error", "kind", "person_id", "name", "kecamatan",
                     "kabupaten", "language", "telegram_account_id"]


async def failed_rows(session: AsyncSession, broadcast_id: int, chunk: int = 1000) -> AsyncIterator[list[Any]]:
    """Failed and unreachable deliveries with who they were for (no NIK, no phone), streamed."""
    r_kec = Kecamatan.__table__.alias("rk")
    w_kec = Kecamatan.__table__.alias("wk")
    stmt = (
        select(
            D.id, D.status, D.attempts, D.error, Recipient.id, Recipient.name, FieldWorker.id, FieldWorker.name,
            FieldWorker.role, func.coalesce(r_kec.c.name, w_kec.c.name), func.coalesce(r_kec.c.kabupaten_id,
                                                                                      w_kec.c.kabupaten_id),
            D.language, D.telegram_account_id,
        )
        .select_from(D)
        .outerjoin(TelegramAccount, TelegramAccount.id == D.telegram_account_id)
        .outerjoin(Recipient, Recipient.id == TelegramAccount.recipient_id)
        .outerjoin(FieldWorker, FieldWorker.id == TelegramAccount.worker_id)
        .outerjoin(r_kec, r_kec.c.id == Recipient.kecamatan_id)
        .outerjoin(w_kec, w_kec.c.id == FieldWorker.kecamatan_id)
        .where(D.broadcast_id == broadcast_id, D.status.in_([DeliveryStatus.FAILED, DeliveryStatus.BLOCKED]))
        .order_by(D.id)
    )
    from db.models import Kabupaten

    kab_names = dict((await session.execute(select(Kabupaten.id, Kabupaten.name))).all())
    result = await session.stream(stmt.execution_options(yield_per=chunk))
    async for part in result.partitions(chunk):
        rows = []
        for d_id, status, attempts, error, r_id, r_name, w_id, w_name, w_role, kec, kab_id, lang, acc in part:
            kind = "recipient" if r_id is not None else (w_role or "worker")
            rows.append([d_id, status, attempts, error or "", kind, r_id if r_id is not None else w_id,
                         r_name or w_name or "", kec or "", kab_names.get(kab_id, ""), lang, acc])
        yield rows
