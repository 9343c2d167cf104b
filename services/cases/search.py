"""Finding cases at the desk: the queue of ``services.cases.queue`` widened to every state (resolved and
closed included), an owner, a text search and a choice of order, for the web desk's case list.

Open cases keep the queue's order (latest against their deadline first); done cases have no deadline and
follow by when they were last changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import CaseKind, CaseState
from db.models import Case, Kecamatan, Recipient
from services.cases.queue import OVERDUE, URGENCY_RANK, QueueItem, queue_items
from services.cases.transitions import OPEN_STATES
from services.text_match import contains, prefer_text_indexes

SORTS = ("due", "newest", "oldest", "updated")
OWNER_FILTERS = ("mine", "nobody")  # or a staff id as text
_NUMBER = re.compile(r"^(UEP-)?\d{4}-\d{1,6}$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class CaseSearch:
    kabupaten_id: int | None = None
    kecamatan_id: int | None = None
    kind: str | None = None
    state: str | None = None      # a CaseState value, "open" (default), "overdue" or "all"
    owner: str | None = None      # "mine", "nobody", or a staff id
    text: str = ""
    sort: str = "due"

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in CaseKind._value2member_map_:
            raise ValueError(f"unknown case kind {self.kind!r}")
        if self.state is not None and self.state not in (*CaseState._value2member_map_, OVERDUE, "open", "all"):
            raise ValueError(f"unknown state {self.state!r}")
        if self.sort not in SORTS:
            raise ValueError(f"unknown sort {self.sort!r}")
        if self.owner is not None and self.owner not in OWNER_FILTERS and not self.owner.isdigit():
            raise ValueError(f"unknown owner {self.owner!r}")


@dataclass(slots=True)
class CaseResults:
    items: list[QueueItem]
    total: int
    page: int
    page_size: int
    search: CaseSearch = field(default_factory=CaseSearch)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _where(s: CaseSearch, scope: ColumnElement[bool], staff_id: int | None, dialect: str
           ) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [scope]
    state = s.state or "open"
    if state == "open":
        clauses.append(Case.state.in_([x.value for x in OPEN_STATES]))
    elif state == OVERDUE:
        clauses += [Case.overdue.is_(True), Case.state.in_([x.value for x in OPEN_STATES])]
    elif state != "all":
        clauses.append(Case.state == state)
    if s.kecamatan_id is not None:
        clauses.append(Case.kecamatan_id == s.kecamatan_id)
    if s.kabupaten_id is not None:
        clauses.append(Case.kecamatan_id.in_(select(Kecamatan.id).where(Kecamatan.kabupaten_id == s.kabupaten_id)))
    if s.kind is not None:
        clauses.append(Case.kind == s.kind)
    if s.owner == "mine":
        clauses.append(Case.owner_staff_id == staff_id if staff_id is not None else Case.id.is_(None))
    elif s.owner == "nobody":
        clauses += [Case.owner_staff_id.is_(None), Case.owner_worker_id.is_(None)]
    elif s.owner is not None:
        clauses.append(Case.owner_staff_id == int(s.owner))
    text = " ".join(s.text.split())
    if text:
        if _NUMBER.match(text):
            number = text.upper() if text.upper().startswith("UEP-") else f"UEP-{text}"
            clauses.append(func.upper(Case.number) == number)
        else:
            # By the recipient's name (read from the narrow ix_recipients_search, not the wide table).
            clauses.append(
                Case.recipient_id.in_(select(Recipient.id).where(contains(Recipient.name, text, dialect))))
    return clauses


def _order(s: CaseSearch) -> list[object]:
    if s.sort == "newest":
        return [Case.created_at.desc(), Case.id.desc()]
    if s.sort == "oldest":
        return [Case.created_at, Case.id]
    if s.sort == "updated":
        return [Case.updated_at.desc(), Case.id.desc()]
    # Open cases by their next deadline (nulls last: done cases), then urgency, then the newest done first.
    return [Case.next_due_at.is_(None), Case.next_due_at, URGENCY_RANK, Case.updated_at.desc(), Case.id]


async def search_cases(
    session: AsyncSession, *, now: datetime, search: CaseSearch, page: int = 0, page_size: int = 25,
    scope: ColumnElement[bool] | None = None, staff_id: int | None = None,
) -> CaseResults:
    """One page of matching cases. ``scope`` limits rows to what the viewer may see (a TKSK's kecamatan)."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    where = _where(search, scope if scope is not None else true(), staff_id, dialect)
    if search.text.strip() and not _NUMBER.match(" ".join(search.text.split())):
        await prefer_text_indexes(session, dialect)  # by the recipient's name: the trigram index
    total = await session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(page, 0), pages - 1)
    ids_query: Select[tuple[int]] = (
        select(Case.id).where(*where).order_by(*_order(search)).limit(page_size).offset(page * page_size)
    )
    items = await queue_items(session, list(await session.scalars(ids_query)), now=now)
    return CaseResults(items, total, page, page_size, search)
