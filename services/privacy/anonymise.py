"""Anonymising a person: at their deletion request, or when their retention has ended.

Removed: the NIK cipher and its keyed hash (replaced by a marker that no NIK hashes to), the name (replaced by
``Anonim-<id>``), phone numbers (the roster's and the shared contact), address, desa, DTKS id, the day and
month of birth (the year stays, for age groups), free text the person or staff wrote about them (check-in
notes, case descriptions and notes, request texts, visit advice), locations (check-ins, visits), photos (rows
and files) and voice notes.
The same goes for the candidate row the person came from (issue #19: its NIK copy, name, phone, address), its
assessment's answers, photos, voice note and location; a hand-over keeps its row (the BAST record) with the
place rounded to about 11 km.
Kept (UU PDP Art. 15, the program's public-interest duty of accounting for state aid): the row itself with
kecamatan, sex, PKH, business type, aid value and date, every business status and check-in status with its
date, case kinds and states, consent records, the photo rows (marked deleted, without file or file id).
So every aggregate — the survival report above all — is the
same before and after.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, delete, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.context import AppContext
from db.enums import ConsentDecision, OnboardingState, PhotoStatus, ReminderStatus
from db.models import (
    Assessment,
    Candidate,
    CandidateEvent,
    Case,
    CaseEvent,
    Checkin,
    ConsentRecord,
    Handover,
    Photo,
    PhotoHashByte,
    PrivacyRequest,
    Recipient,
    Reminder,
    TelegramAccount,
    Visit,
)
from services import voice as voice_cache
from services.audit import audit
from services.clock import Clock

log = logging.getLogger(__name__)

ANONYMOUS_HASH_PREFIX = "anonymised:"


@dataclass(slots=True)
class Anonymised:
    recipient_id: int
    photos: int
    files: int
    voice_notes: int


async def anonymise(session: AsyncSession, clock: Clock, settings: Settings, recipient: Recipient, *, reason: str,
                    actor: str) -> Anonymised:
    """Remove what identifies ``recipient`` (see the module docstring); files are deleted after the flush."""
    now = clock.now()
    rid = recipient.id
    recipient.nik_hash = f"{ANONYMOUS_HASH_PREFIX}{rid}"
    recipient.nik_encrypted = b""
    recipient.name = f"Anonim-{rid}"
    recipient.phone = None
    recipient.address = ""
    recipient.desa = ""
    recipient.dtks_id = ""
    recipient.birth_date = date(recipient.birth_date.year, 1, 1)
    recipient.anonymised_at = now
    recipient.updated_at = now
    for account in await session.scalars(select(TelegramAccount).where(TelegramAccount.recipient_id == rid)):
        account.recipient = None
        account.recipient_id = None
        account.first_name = ""
        account.contact_phone = None
        account.is_proxy = False
    checkin_ids = select(Checkin.id).where(Checkin.recipient_id == rid)
    case_ids = select(Case.id).where(Case.recipient_id == rid)
    voice = (await session.scalar(select(func.count()).select_from(Checkin).where(
        Checkin.recipient_id == rid, Checkin.voice_file_id.is_not(None)))) or 0
    voice += (await session.scalar(select(func.count()).select_from(Case).where(
        Case.recipient_id == rid, Case.voice_file_id.is_not(None)))) or 0
    voice += (await session.scalar(select(func.count()).select_from(Case).where(
        Case.recipient_id == rid, Case.video_note_file_id.is_not(None)))) or 0
    voice += (await session.scalar(select(func.count()).select_from(PrivacyRequest).where(
        PrivacyRequest.recipient_id == rid, PrivacyRequest.voice_file_id.is_not(None)))) or 0
    # Voice notes and round videos the web desk fetched for playing are kept on disk (services/voice.py):
    # they go too.
    voice_ids = [*await session.scalars(select(Checkin.voice_file_id).where(
        Checkin.recipient_id == rid, Checkin.voice_file_id.is_not(None)))]
    voice_ids += [*await session.scalars(select(Case.voice_file_id).where(
        Case.recipient_id == rid, Case.voice_file_id.is_not(None)))]
    voice_ids += [*await session.scalars(select(Case.video_note_file_id).where(
        Case.recipient_id == rid, Case.video_note_file_id.is_not(None)))]
    voice_ids += [*await session.scalars(select(CaseEvent.voice_file_id).where(
        CaseEvent.case_id.in_(case_ids), CaseEvent.voice_file_id.is_not(None)))]
    voice_ids += [*await session.scalars(select(PrivacyRequest.voice_file_id).where(
        PrivacyRequest.recipient_id == rid, PrivacyRequest.voice_file_id.is_not(None)))]
    quiet = {"synchronize_session": False}
    await session.execute(update(Checkin).where(Checkin.recipient_id == rid).values(
        note=None, voice_file_id=None, latitude=None, longitude=None).execution_options(**quiet))
    await session.execute(update(Case).where(Case.recipient_id == rid).values(
        description=None, voice_file_id=None, video_note_file_id=None, resolution=None).execution_options(**quiet))
    await session.execute(update(CaseEvent).where(CaseEvent.case_id.in_(case_ids)).values(note=None, voice_file_id=None)
                          .execution_options(**quiet))
    await session.execute(update(Visit).where(Visit.recipient_id == rid).values(
        advice=None, latitude=None, longitude=None, photo_file_ids=None).execution_options(**quiet))
    await session.execute(update(PrivacyRequest).where(PrivacyRequest.recipient_id == rid).values(
        details=None, voice_file_id=None).execution_options(**quiet))
    await session.execute(update(Reminder).where(Reminder.recipient_id == rid,
                                                 Reminder.status == ReminderStatus.PENDING)
                          .values(status=ReminderStatus.SKIPPED, error="anonymised").execution_options(**quiet))
    await _before_the_aid(session, rid)
    photos = list(await session.scalars(select(Photo).where(or_(
        Photo.recipient_id == rid, Photo.checkin_id.in_(checkin_ids), Photo.case_id.in_(case_ids)))))
    paths = {p.path for p in photos if p.path}
    # The picture goes (file and Telegram file id); the row stays, marked deleted, so counts (photos flagged
    # as reused in the report) and a hand-over's BAST record keep their row.
    for photo in photos:
        photo.status = PhotoStatus.DELETED
        photo.file_id = photo.file_unique_id = "deleted"
        photo.path = photo.sha256 = photo.phash = None
        photo.next_attempt_at = None
    await session.execute(delete(PhotoHashByte).where(PhotoHashByte.photo_id.in_([p.id for p in photos]))
                          .execution_options(**quiet))
    await session.flush()
    files = _delete_unshared_files(paths, settings, await _paths_still_used(session, paths))
    files += voice_cache.forget(Path(settings.storage.media_dir), voice_ids)
    audit(session, clock, actor=actor, action="privacy.anonymised", target=f"recipient:{rid}",
          details={"reason": reason, "photos": len(photos), "files": files, "voice_notes": voice})
    await session.flush()
    log.info("recipient %s anonymised (%s): %s photos, %s files", rid, reason, len(photos), files)
    return Anonymised(rid, len(photos), files, voice)


async def _before_the_aid(session: AsyncSession, rid: int) -> None:
    """The candidate row the recipient came from (a copy of the roster data), its assessment and hand-over."""
    quiet = {"synchronize_session": False}
    for candidate in await session.scalars(select(Candidate).where(Candidate.recipient_id == rid)):
        candidate.nik_hash = f"{ANONYMOUS_HASH_PREFIX}c{candidate.id}"
        candidate.nik_encrypted = b""
        candidate.name = f"Anonim-{rid}"
        candidate.phone = None
        candidate.address = candidate.desa = candidate.dtks_id = ""
        candidate.birth_date = date(candidate.birth_date.year, 1, 1)
        await session.execute(update(CandidateEvent).where(CandidateEvent.candidate_id == candidate.id)
                              .values(note=None).execution_options(**quiet))
        await session.execute(update(Assessment).where(Assessment.candidate_id == candidate.id).values(
            answers={}, photos=[], latitude=None, longitude=None, voice_file_id=None).execution_options(**quiet))
    for handover in await session.scalars(select(Handover).where(Handover.recipient_id == rid)):
        # Coordinates are required on a hand-over: kept to one decimal (about 11 km), no longer a house.
        handover.latitude, handover.longitude = round(handover.latitude, 1), round(handover.longitude, 1)


async def _paths_still_used(session: AsyncSession, paths: set[str]) -> set[str]:
    if not paths:
        return set()
    return set(await session.scalars(select(Photo.path).where(Photo.path.in_(paths))))


def _delete_unshared_files(paths: set[str], settings: Settings, still_used: set[str]) -> int:
    """Photos are stored content-addressed: a file another person's photo row still points at stays."""
    deleted = 0
    for stored in paths - still_used:
        path = Path(stored)  # as the downloader wrote it: under storage.media_dir
        try:
            path.unlink()
            deleted += 1
        except FileNotFoundError:
            pass
    return deleted


# ---------------------------------------------------------------------------------------------- retention
def participation_ended_before(settings: Settings, now: datetime) -> tuple[datetime, date | None]:
    """(withdrawals before this moment, program end on or before this day) have reached their retention end."""
    keep = timedelta(days=settings.privacy.retention_days_after_program)
    cutoff = now - keep
    program_end = settings.privacy.program_end
    end_day = program_end if program_end is not None and program_end <= cutoff.astimezone(
        settings.program.tz).date() else None
    return cutoff, end_day


def retention_over_clause(settings: Settings, now: datetime):  # type: ignore[no-untyped-def]
    """Recipients whose retention has ended: they left (withdrew consent) longer ago than the retention, or
    the program ended longer ago than that."""
    cutoff, end_day = participation_ended_before(settings, now)
    last_withdrawal = (
        select(func.max(ConsentRecord.at))
        .where(ConsentRecord.recipient_id == Recipient.id, ConsentRecord.decision == ConsentDecision.WITHDRAW)
        .scalar_subquery()
    )
    left = and_(Recipient.onboarding_state == OnboardingState.DECLINED, last_withdrawal <= cutoff)
    return and_(Recipient.anonymised_at.is_(None), left if end_day is None else true())


async def run_retention(ctx: AppContext, now: datetime) -> int:
    """The scan task: anonymise everyone whose retention has ended, one transaction each."""
    handled = 0
    while True:
        async with ctx.session_factory() as session:
            ids = list(await session.scalars(
                select(Recipient.id).where(retention_over_clause(ctx.settings, now)).order_by(Recipient.id)
                .limit(ctx.settings.scheduler.batch_size)
            ))
        for rid in ids:
            async with ctx.session_factory.begin() as session:
                lock = select(Recipient).where(Recipient.id == rid, retention_over_clause(ctx.settings, now))
                if session.bind.dialect.name == "postgresql":
                    lock = lock.with_for_update(skip_locked=True, of=Recipient)
                recipient = await session.scalar(lock)
                if recipient is None:
                    continue
                await anonymise(session, ctx.clock, ctx.settings, recipient, reason="retention ended",
                                actor="system")
                handled += 1
        if len(ids) < ctx.settings.scheduler.batch_size:
            return handled
