"""The case queue: open cases, the latest against their deadline first, then the most urgent.

Used by /antrian (Dissos, the whole province, filters by kabupaten, kind and state) and /kasus (a TKSK, their
own kecamatan, taken from the account on the server). "How late" is ``now - next_due_at`` where
``next_due_at`` is the take deadline while nobody has taken the case and the resolve deadline after that, so
sorting by ``next_due_at`` ascending puts the latest first. Only open cases have a ``next_due_at``, and the
partial index ``ix_cases_open_next_due`` holds exactly them: a page is an index walk that stops after
``page_size`` rows, not a sort of every case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import CaseKind, CaseState, Urgency
from db.models import Case, Kabupaten, Kecamatan
from services.cases.transitions import OPEN_STATES

URGENCY_RANK = case(
    (Case.urgency == Urgency.HIGH.value, 0), (Case.urgency == Urgency.NORMAL.value, 1), else_=2
)
# "overdue" is offered beside the states: open cases past their resolve deadline.
OVERDUE = "overdue"
STATE_FILTERS = (*(s.value for s in CaseState if s in OPEN_STATES), OVERDUE)


@dataclass(frozen=True, slots=True)
class QueueFilter:
    kabupaten_id: int | None = None
    kecamatan_id: int | None = None
    kind: str | None = None
    state: str | None = None  # one of STATE_FILTERS

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in CaseKind._value2member_map_:
            raise ValueError(f"unknown case kind {self.kind!r}")
        if self.state is not None and self.state not in STATE_FILTERS:
            raise ValueError(f"unknown queue state {self.state!r}")


@dataclass(slots=True)
class QueueItem:
    case: Case
    kecamatan: str
    kabupaten: str
    late_by_seconds: float  # negative: time left

    @property
    def late(self) -> bool:
        return self.late_by_seconds > 0


@dataclass(slots=True)
class QueuePage:
    items: list[QueueItem]
    total: int
    page: int
    page_size: int
    filters: QueueFilter = field(default_factory=QueueFilter)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _filtered(query: Select, f: QueueFilter) -> Select:  # type: ignore[type-arg]
    query = query.where(Case.next_due_at.is_not(None), Case.state.in_([s.value for s in OPEN_STATES]))
    if f.kecamatan_id is not None:
        query = query.where(Case.kecamatan_id == f.kecamatan_id)
    if f.kabupaten_id is not None:
        query = query.where(
            Case.kecamatan_id.in_(select(Kecamatan.id).where(Kecamatan.kabupaten_id == f.kabupaten_id))
        )
    if f.kind is not None:
        query = query.where(Case.kind == f.kind)
    if f.state == OVERDUE:
        query = query.where(Case.overdue.is_(True))
    elif f.state is not None:
        query = query.where(Case.state == f.state)
    return query


async def list_queue(
    session: AsyncSession, *, now: datetime, filters: QueueFilter | None = None, page: int = 0, page_size: int = 8
) -> QueuePage:
    """One page of the queue (0-based ``page``, clamped to the last page) and the number of matching cases."""
    f = filters or QueueFilter()
    total = await session.scalar(_filtered(select(func.count()).select_from(Case), f)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(page, 0), pages - 1)
    ids_query = (
        _filtered(select(Case.id), f)
        .order_by(Case.next_due_at, URGENCY_RANK, Case.id)
        .limit(page_size)
        .offset(page * page_size)
    )
    items = await queue_items(session, list(await session.scalars(ids_query)), now=now)
    return QueuePage(items, total, page, page_size, f)


async def queue_items(session: AsyncSession, ids: list[int], *, now: datetime) -> list[QueueItem]:
    """The cases of ``ids`` with their kecamatan and kabupaten names, in the order of ``ids``."""
    if not ids:
        return []
    rows = await session.execute(
        select(Case, Kecamatan.name, Kabupaten.name)
        .join(Kecamatan, Kecamatan.id == Case.kecamatan_id)
        .join(Kabupaten, Kabupaten.id == Kecamatan.kabupaten_id)
        .where(Case.id.in_(ids))
    )
    by_id = {c.id: (c, kec, kab) for c, kec, kab in rows.unique()}
    items: list[QueueItem] = []
    for case_id in ids:
        c, kec, kab = by_id[case_id]
        late = (now - c.next_due_at).total_seconds() if c.next_due_at is not None else 0.0
        items.append(QueueItem(c, kec, kab, late))
    return items


async def kabupaten_with_open_cases(session: AsyncSession) -> list[tuple[int, str, int]]:
    """(id, name, open cases) of every kabupaten, for the queue's filter buttons."""
    rows = await session.execute(
        select(Kabupaten.id, Kabupaten.name, func.count(Case.id))
        .join(Kecamatan, Kecamatan.kabupaten_id == Kabupaten.id)
        .join(Case, (Case.kecamatan_id == Kecamatan.id) & Case.next_due_at.is_not(None), isouter=True)
        .group_by(Kabupaten.id, Kabupaten.name)
        .order_by(Kabupaten.name)
    )
    return [(i, n, c) for i, n, c in rows]
