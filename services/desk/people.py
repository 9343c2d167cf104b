"""People at the desk: finding a recipient by name, desa, kecamatan or NIK, and everything the program holds
about one of them on one page.

A typed NIK is found by its keyed hash (the NIK itself is never searched in clear). Opening a recipient's page,
revealing a full NIK (admins only) and looking up a phone number are each written to the audit log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Broadcast,
    BroadcastDelivery,
    Case,
    Checkin,
    ConsentRecord,
    Kabupaten,
    Kecamatan,
    Photo,
    Recipient,
    Reminder,
    TelegramAccount,
    Visit,
)
from services.audit import audit
from services.clock import FrozenClock
from services.crypto import NikCipher, mask_nik
from services.desk.access import DeskForbidden, DeskUser
from services.text_match import contains, prefer_text_indexes

_NIK_SEPARATORS = re.compile(r"[\s.\-]")


def as_nik(text: str) -> str | None:
    """The NIK in ``text`` when it is 16 digits once spaces, dots and dashes are dropped."""
    digits = _NIK_SEPARATORS.sub("", text)
    return digits if len(digits) == 16 and digits.isdigit() else None


@dataclass(slots=True)
class PersonRow:
    recipient: Recipient
    kecamatan: str
    kabupaten: str


@dataclass(slots=True)
class PeoplePage:
    items: list[PersonRow]
    total: int
    page: int
    page_size: int
    by_nik: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


async def search_people(
    session: AsyncSession, cipher: NikCipher, viewer: DeskUser, query: str, *,
    kecamatan_id: int | None = None, page: int = 0, page_size: int = 25,
) -> PeoplePage:
    """Recipients whose name, desa or kecamatan contains ``query`` (any case), or whose NIK it is."""
    where = [viewer.scope(Recipient.kecamatan_id)]
    text = " ".join(query.split())
    nik = as_nik(text)
    if nik is not None:
        where.append(Recipient.nik_hash == cipher.blind_index(nik))
    order: list[ColumnElement[object]] = [Recipient.name, Recipient.id]
    if text and nik is None:
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        # The kecamatan first (about a hundred rows), so the recipients' condition is three plain ones that
        # PostgreSQL answers from indexes (the name and desa trigram indexes, the kecamatan index) at once.
        places = list(await session.scalars(select(Kecamatan.id).where(contains(Kecamatan.name, text, dialect))))
        matches = [contains(Recipient.name, text, dialect), contains(Recipient.desa, text, dialect)]
        if places:
            matches.append(Recipient.kecamatan_id.in_(places))
        where.append(or_(*matches))
        await prefer_text_indexes(session, dialect)
        if dialect == "postgresql":
            # Sorted after finding the matches: walking the name index in order and testing every one of the
            # 100,000 names (what the planner picks for "ORDER BY name LIMIT 25") is ten times slower.
            order = [Recipient.name.concat(""), Recipient.id]
    if kecamatan_id is not None:
        where.append(Recipient.kecamatan_id == kecamatan_id)
    total = await session.scalar(select(func.count()).select_from(Recipient).where(*where)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(page, 0), pages - 1)
    # The page's ids from the recipients alone (an index walk in name order), then their rows and places.
    ids = list(await session.scalars(
        select(Recipient.id).where(*where).order_by(*order).limit(page_size).offset(page * page_size)
    ))
    rows = {r.id: (r, kec, kab) for r, kec, kab in (await session.execute(
        select(Recipient, Kecamatan.name, Kabupaten.name)
        .join(Kecamatan, Kecamatan.id == Recipient.kecamatan_id)
        .join(Kabupaten, Kabupaten.id == Kecamatan.kabupaten_id)
        .where(Recipient.id.in_(ids))
    )).unique()} if ids else {}
    items = [PersonRow(*rows[i]) for i in ids]
    return PeoplePage(items, total, page, page_size, by_nik=nik is not None)


TimelineKind = Literal["checkin", "case", "reminder", "broadcast", "consent", "visit"]


@dataclass(slots=True)
class TimelineEntry:
    at: datetime
    kind: TimelineKind
    obj: object
    photos: list[Photo] = field(default_factory=list)
    assisted: bool = False  # a check-in made through a visit by the TKSK or PSM (the person had not reported)


@dataclass(slots=True)
class RecipientRecord:
    recipient: Recipient
    kecamatan: str
    kabupaten: str
    nik_masked: str
    account: TelegramAccount | None
    consents: list[ConsentRecord]
    timeline: list[TimelineEntry]
    open_cases: int


async def load_recipient(session: AsyncSession, viewer: DeskUser, recipient_id: int) -> Recipient:
    """The recipient, if this viewer may see them (else DeskForbidden, the same answer as a missing one)."""
    recipient = await session.get(Recipient, recipient_id)
    if recipient is None:
        raise DeskForbidden("not_found")
    viewer.check_kecamatan(recipient.kecamatan_id)
    return recipient


async def recipient_record(
    session: AsyncSession, cipher: NikCipher, viewer: DeskUser, recipient_id: int, *, now: datetime,
    timeline_limit: int = 200,
) -> RecipientRecord:
    """Everything about one recipient for their desk page; the view is audited (UU PDP)."""
    recipient = await load_recipient(session, viewer, recipient_id)
    kecamatan = recipient.kecamatan
    account = await session.scalar(select(TelegramAccount).where(TelegramAccount.recipient_id == recipient.id))
    consents = list(await session.scalars(
        select(ConsentRecord).where(ConsentRecord.recipient_id == recipient.id).order_by(ConsentRecord.at.desc())
    ))
    checkins = list(await session.scalars(
        select(Checkin).where(Checkin.recipient_id == recipient.id)
        .order_by(Checkin.submitted_at.desc()).limit(timeline_limit)
    ))
    photos: dict[int, list[Photo]] = {}
    if checkins:
        for photo in await session.scalars(
            select(Photo).where(Photo.checkin_id.in_([c.id for c in checkins])).order_by(Photo.id)
        ):
            photos.setdefault(photo.checkin_id or 0, []).append(photo)
    cases = list(await session.scalars(
        select(Case).where(Case.recipient_id == recipient.id).order_by(Case.created_at.desc()).limit(timeline_limit)
    ))
    reminders = list(await session.scalars(
        select(Reminder).where(Reminder.recipient_id == recipient.id, Reminder.sent_at.is_not(None))
        .order_by(Reminder.sent_at.desc()).limit(timeline_limit)
    ))
    deliveries: list[tuple[BroadcastDelivery, Broadcast]] = []
    if account is not None:
        deliveries = [(d, b) for d, b in await session.execute(
            select(BroadcastDelivery, Broadcast).join(Broadcast, Broadcast.id == BroadcastDelivery.broadcast_id)
            .where(BroadcastDelivery.telegram_account_id == account.id)
            .order_by(BroadcastDelivery.id.desc()).limit(timeline_limit)
        )]
    visits = list(await session.scalars(
        select(Visit).where(Visit.recipient_id == recipient.id).order_by(Visit.visited_at.desc()).limit(timeline_limit)
    ))
    assisted = {v.checkin_id for v in visits if v.checkin_id is not None}
    timeline = [TimelineEntry(c.submitted_at, "checkin", c, photos.get(c.id, []), assisted=c.id in assisted)
                for c in checkins]
    timeline += [TimelineEntry(v.visited_at, "visit", v) for v in visits]
    timeline += [TimelineEntry(c.created_at, "case", c) for c in cases]
    timeline += [TimelineEntry(r.sent_at, "reminder", r) for r in reminders if r.sent_at is not None]
    timeline += [TimelineEntry(d.sent_at or b.created_at, "broadcast", (d, b)) for d, b in deliveries]
    timeline += [TimelineEntry(c.at, "consent", c) for c in consents]
    timeline.sort(key=lambda e: e.at, reverse=True)
    audit(session, FrozenClock(now), actor=viewer.label, actor_account_id=viewer.account_id,
          action="desk.recipient_viewed", target=f"recipient:{recipient.id}")
    from services.cases.transitions import OPEN_STATES

    open_cases = sum(1 for c in cases if c.state in {s.value for s in OPEN_STATES})
    return RecipientRecord(
        recipient=recipient, kecamatan=kecamatan.name, kabupaten=kecamatan.kabupaten.name,
        nik_masked=mask_nik(cipher.decrypt(recipient.nik_encrypted)), account=account, consents=consents,
        timeline=timeline[:timeline_limit], open_cases=open_cases,
    )


async def reveal_nik(session: AsyncSession, cipher: NikCipher, viewer: DeskUser, recipient_id: int, *,
                     now: datetime) -> str:
    """The full NIK, for an admin only; audited."""
    if not viewer.is_admin:
        raise DeskForbidden("admin_only")
    recipient = await load_recipient(session, viewer, recipient_id)
    audit(session, FrozenClock(now), actor=viewer.label, actor_account_id=viewer.account_id,
          action="desk.nik_viewed", target=f"recipient:{recipient.id}")
    return cipher.decrypt(recipient.nik_encrypted)


async def look_up_phone(session: AsyncSession, viewer: DeskUser, recipient_id: int, *, now: datetime) -> str | None:
    """The recipient's phone number (roster, else the one shared in the bot); the look-up is audited."""
    recipient = await load_recipient(session, viewer, recipient_id)
    account = await session.scalar(select(TelegramAccount).where(TelegramAccount.recipient_id == recipient.id))
    audit(session, FrozenClock(now), actor=viewer.label, actor_account_id=viewer.account_id,
          action="desk.phone_viewed", target=f"recipient:{recipient.id}")
    return recipient.phone or (account.contact_phone if account is not None else None)


async def photo_for(session: AsyncSession, viewer: DeskUser, photo_id: int) -> Photo:
    """A stored photo the viewer may see (the recipient's kecamatan, or the case's)."""
    photo = await session.get(Photo, photo_id)
    if photo is None or photo.path is None:
        raise DeskForbidden("not_found")
    if photo.recipient_id is not None:
        await load_recipient(session, viewer, photo.recipient_id)
    elif photo.case_id is not None:
        case = await session.get(Case, photo.case_id)
        viewer.check_kecamatan(case.kecamatan_id if case else None)
    elif viewer.kecamatan_id is not None:
        raise DeskForbidden("area")
    return photo


@dataclass(slots=True)
class GalleryItem:
    photo: Photo
    recipient_id: int | None
    recipient: str
    kecamatan: str
    kabupaten: str
    earlier: Photo | None = None  # for a reused picture: the earlier photo it matches
    reviewed_at: datetime | None = None


@dataclass(slots=True)
class GalleryPage:
    items: list[GalleryItem]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


GALLERY_KINDS = ("checkin", "case", "reused")


async def gallery(
    session: AsyncSession, viewer: DeskUser, *, kabupaten_id: int | None = None, kind: str | None = None,
    since: datetime | None = None, until: datetime | None = None, page: int = 0, page_size: int = 24,
) -> GalleryPage:
    """Stored photos, newest first, that the viewer may see; ``kind`` "reused" pairs each flagged photo with
    the earlier one it matches, and the check-in's review."""
    where = [Photo.path.is_not(None), viewer.scope(Recipient.kecamatan_id)]
    if kabupaten_id is not None:
        where.append(Recipient.kecamatan_id.in_(select(Kecamatan.id).where(Kecamatan.kabupaten_id == kabupaten_id)))
    if kind == "checkin":
        where.append(Photo.checkin_id.is_not(None))
    elif kind == "case":
        where.append(Photo.case_id.is_not(None))
    elif kind == "reused":
        where.append(Photo.reuse_of_photo_id.is_not(None))
    if since is not None:
        where.append(Photo.created_at >= since)
    if until is not None:
        where.append(Photo.created_at < until)
    base = select(Photo.id).join(Recipient, Recipient.id == Photo.recipient_id).where(*where)
    total = await session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(page, 0), pages - 1)
    ids = list(await session.scalars(base.order_by(Photo.created_at.desc(), Photo.id.desc())
                                      .limit(page_size).offset(page * page_size)))
    if not ids:
        return GalleryPage([], total, page, page_size)
    rows = {p.id: (p, rid, name, kec, kab) for p, rid, name, kec, kab in await session.execute(
        select(Photo, Recipient.id, Recipient.name, Kecamatan.name, Kabupaten.name)
        .join(Recipient, Recipient.id == Photo.recipient_id)
        .join(Kecamatan, Kecamatan.id == Recipient.kecamatan_id)
        .join(Kabupaten, Kabupaten.id == Kecamatan.kabupaten_id)
        .where(Photo.id.in_(ids))
    )}
    earlier_ids = [rows[i][0].reuse_of_photo_id for i in ids if rows[i][0].reuse_of_photo_id]
    earlier = {p.id: p for p in await session.scalars(select(Photo).where(Photo.id.in_(earlier_ids)))} \
        if earlier_ids else {}
    checkin_ids = [rows[i][0].checkin_id for i in ids if rows[i][0].checkin_id]
    reviewed = dict((await session.execute(
        select(Checkin.id, Checkin.reviewed_at).where(Checkin.id.in_(checkin_ids))
    )).all()) if checkin_ids else {}
    items = []
    for i in ids:
        photo, rid, name, kec, kab = rows[i]
        items.append(GalleryItem(photo, rid, name, kec, kab, earlier.get(photo.reuse_of_photo_id or 0),
                                 reviewed.get(photo.checkin_id or 0)))
    return GalleryPage(items, total, page, page_size)
