"""Typed models of everything that must survive a restart.

Times are aware UTC datetimes (``UtcDateTime``); calendar dates (birth, aid hand-over) are plain dates.
NIKs are never stored in clear: ``nik_encrypted`` (AES-GCM) plus ``nik_hash`` (HMAC blind index).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base
from db.enums import (
    BroadcastStatus,
    BusinessStatus,
    CaseState,
    CheckinDueState,
    DeliveryStatus,
    OnboardingState,
    PhotoStatus,
    ReminderStatus,
)

# BigInteger primary keys become INTEGER on SQLite so they stay rowid aliases (autoincrement).
BigId = BigInteger().with_variant(Integer, "sqlite")


class Kabupaten(Base):
    __tablename__ = "kabupaten"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)

    kecamatan: Mapped[list[Kecamatan]] = relationship(back_populates="kabupaten")


class Kecamatan(Base):
    __tablename__ = "kecamatan"
    __table_args__ = (UniqueConstraint("kabupaten_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kabupaten_id: Mapped[int] = mapped_column(ForeignKey("kabupaten.id"), index=True)

    kabupaten: Mapped[Kabupaten] = relationship(back_populates="kecamatan", lazy="joined")


class Recipient(Base):
    __tablename__ = "recipients"
    # The web desk's people list and search (name order; name, desa and kecamatan read from the index alone).
    # On PostgreSQL, trigram indexes find part of a name or desa (ILIKE '%…%') without reading every row
    # (migration 0013; SQLite has none: info["only_on"] tells the schema check).
    __table_args__ = (
        Index("ix_recipients_search", "name", "desa", "kecamatan_id", "id"),
        Index("ix_recipients_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"},
              info={"only_on": "postgresql"}).ddl_if(dialect="postgresql"),
        Index("ix_recipients_desa_trgm", "desa", postgresql_using="gin", postgresql_ops={"desa": "gin_trgm_ops"},
              info={"only_on": "postgresql"}).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    nik_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nik_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(300), default="")
    desa: Mapped[str] = mapped_column(String(120), default="")
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"), index=True)
    dtks_id: Mapped[str] = mapped_column(String(40), default="")
    pkh: Mapped[bool] = mapped_column(Boolean, default=False)
    business_type: Mapped[str] = mapped_column(String(20), index=True)
    aid_value: Mapped[int] = mapped_column(Integer)
    aid_date: Mapped[date | None] = mapped_column(Date)
    onboarding_state: Mapped[str] = mapped_column(String(20), default=OnboardingState.NOT_JOINED, index=True)
    business_status: Mapped[str] = mapped_column(String(20), default=BusinessStatus.UNKNOWN, index=True)
    business_status_since: Mapped[datetime | None]
    # The survival analysis's two facts from the whole history, kept by db/survival_facts.py in the transaction
    # that writes a check-in or a status row: the earliest "stopped", the latest running/changed/paused.
    first_stopped_at: Mapped[datetime | None]
    last_known_at: Mapped[datetime | None]
    unreachable_since: Mapped[datetime | None]
    joined_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # UU PDP: processing restricted at the person's request (no reminders, no broadcasts), and the moment the
    # person's identifying data was removed (retention ended, or deleted at their request).
    restricted_at: Mapped[datetime | None]
    anonymised_at: Mapped[datetime | None]

    kecamatan: Mapped[Kecamatan] = relationship(lazy="joined")


class BusinessStatusChange(Base):
    """History of a recipient's business status: the input of the survival analysis."""

    __tablename__ = "business_status_changes"
    # Covers a GROUP BY recipient over first stop and last known status (db/survival_facts.refresh).
    __table_args__ = (Index("ix_business_status_changes_survival", "recipient_id", "status", "changed_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime]
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkins.id", ondelete="SET NULL"))


class FieldWorker(Base):
    """TKSK (one per kecamatan) and PSM (community social workers)."""

    __tablename__ = "field_workers"

    id: Mapped[int] = mapped_column(primary_key=True)
    nik_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nik_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(20))
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    kecamatan: Mapped[Kecamatan] = relationship(lazy="joined")


class Staff(Base):
    """Dissos staff: admins and caseworkers."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class TelegramAccount(Base):
    """A Telegram user the bot has met, and what it is linked to (at most one of recipient/worker/staff)."""

    __tablename__ = "telegram_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str | None] = mapped_column(String(5))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipients.id"), unique=True)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("field_workers.id"), unique=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), unique=True)
    # The account belongs to a relative who helps the recipient (shared phone).
    is_proxy: Mapped[bool] = mapped_column(Boolean, default=False)
    # The number of the account's own contact, shared with the contact button during onboarding (E.164).
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    blocked_at: Mapped[datetime | None]
    commands_role: Mapped[str | None] = mapped_column(String(20))  # role whose commands were last set
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]

    recipient: Mapped[Recipient | None] = relationship(lazy="joined")
    worker: Mapped[FieldWorker | None] = relationship(lazy="joined")
    staff: Mapped[Staff | None] = relationship(lazy="joined")


class Invitation(Base):
    """Single-use, expiring deep-link invitation. Only the SHA-256 of the token is stored."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipients.id"), index=True)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("field_workers.id"), index=True)
    staff_role: Mapped[str | None] = mapped_column(String(20))
    staff_name: Mapped[str | None] = mapped_column(String(200))
    created_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("telegram_accounts.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("telegram_accounts.id"))


class IdentityAttempt(Base):
    """One NIK + date-of-birth attempt, for the lockouts: per account (5 wrong tries per 24 hours) and per NIK
    (wrong tries from any accounts together), the NIK known by its keyed hash only."""

    __tablename__ = "identity_attempts"
    __table_args__ = (Index("ix_identity_attempts_user_at", "telegram_user_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]
    success: Mapped[bool] = mapped_column(Boolean)
    nik_hash: Mapped[str | None] = mapped_column(String(64), index=True)


class ConsentRecord(Base):
    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    telegram_account_id: Mapped[int] = mapped_column(ForeignKey("telegram_accounts.id"), index=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipients.id"), index=True)
    decision: Mapped[str] = mapped_column(String(10))
    text_version: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(5))
    at: Mapped[datetime]


class AidPackage(Base):
    __tablename__ = "aid_packages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id", ondelete="CASCADE"), unique=True)
    business_type: Mapped[str] = mapped_column(String(20))
    value: Mapped[int] = mapped_column(Integer)
    delivered_on: Mapped[date | None] = mapped_column(Date)
    receipt_confirmed_at: Mapped[datetime | None]

    items: Mapped[list[AidItem]] = relationship(
        back_populates="package", order_by="AidItem.position", cascade="all, delete-orphan"
    )


class AidItem(Base):
    __tablename__ = "aid_items"
    __table_args__ = (UniqueConstraint("package_id", "position"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("aid_packages.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    received: Mapped[bool | None] = mapped_column(Boolean)
    # From the aid catalog (issue #19): unit, standard unit price (rupiah) and quantity; None for packages
    # written before the catalog.
    unit: Mapped[str | None] = mapped_column(String(20))
    unit_price: Mapped[int | None] = mapped_column(Integer)
    quantity: Mapped[int | None] = mapped_column(Integer)
    # Ticked by the TKSK/PSM on the hand-over checklist.
    handed_over: Mapped[bool | None] = mapped_column(Boolean)

    package: Mapped[AidPackage] = relationship(back_populates="items")

    @property
    def value(self) -> int | None:
        if self.unit_price is None:
            return None
        return self.unit_price * (self.quantity or 1)


class CheckinDue(Base):
    """One check-in period of one recipient: due at 08:00 WITA on its day; open, done or missed."""

    __tablename__ = "checkin_dues"
    __table_args__ = (
        UniqueConstraint("recipient_id", "period_no"),
        Index("ix_checkin_dues_state_due", "state", "due_at"),
        # Covers the reports' compliance by month (a range of due_at, classified by state and completion).
        Index("ix_checkin_dues_compliance", "due_at", "state", "completed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id", ondelete="CASCADE"), index=True)
    period_no: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(10), default=CheckinDueState.OPEN)
    completed_at: Mapped[datetime | None]
    missed_at: Mapped[datetime | None]
    # Set when the missed notice went out in a TKSK digest.
    digested_at: Mapped[datetime | None]


class Reminder(Base):
    """A message due at a time. The scan job sends each at most once (unique dedupe key)."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipients.id", ondelete="CASCADE"), index=True)
    checkin_due_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_dues.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default=ReminderStatus.PENDING)
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(300))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Checkin(Base):
    __tablename__ = "checkins"
    # Check-in ids appear in the TKSK's review buttons: never reused (AUTOINCREMENT on SQLite).
    # The index covers a GROUP BY recipient over first stop and last known status (db/survival_facts.refresh).
    __table_args__ = (
        Index("ix_checkins_survival", "recipient_id", "status", "submitted_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id", ondelete="CASCADE"), index=True)
    checkin_due_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_dues.id", ondelete="SET NULL"))
    # A second report within the same period is kept as an extra report, never silently replacing one.
    is_extra: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20))
    days_open: Mapped[int | None] = mapped_column(Integer)
    sales_bracket: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    voice_file_id: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    reuse_flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    reviewed_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime] = mapped_column(index=True)


class Photo(Base):
    """A picture from Telegram, stored content-addressed by SHA-256 under ``storage.media_dir``."""

    __tablename__ = "photos"
    __table_args__ = (Index("ix_photos_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipients.id", ondelete="CASCADE"), index=True)
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkins.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    aid_package_id: Mapped[int | None] = mapped_column(ForeignKey("aid_packages.id", ondelete="CASCADE"))
    file_id: Mapped[str] = mapped_column(String(200))
    file_unique_id: Mapped[str] = mapped_column(String(100), index=True)
    file_size: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    path: Mapped[str | None] = mapped_column(String(300))
    phash: Mapped[str | None] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(10), default=PhotoStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    reuse_of_photo_id: Mapped[int | None] = mapped_column(ForeignKey("photos.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class PhotoHashByte(Base):
    """One of the 8 bytes of a stored photo's 64-bit perceptual hash, indexed by position and value.

    Two hashes at most ``d`` bits apart differ in at most ``d`` bytes, so they share at least ``8 - d`` bytes
    exactly (multi-index hashing): the reuse check (``services.photos.find_reuse``) reads the photos sharing
    that many bytes with the new one through this index, instead of comparing it with every photo ever stored.
    """

    __tablename__ = "photo_hash_bytes"
    __table_args__ = (Index("ix_photo_hash_bytes_lookup", "position", "value", "photo_id"),)

    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(SmallInteger)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_state_take_due", "state", "take_due_at"),
        # The queue (/antrian, /kasus): open cases by their next deadline (only open cases have one). The
        # filter columns ride along so counting and paging a filtered queue never reads the table.
        Index(
            "ix_cases_open_next_due", "next_due_at", "state", "kind", "kecamatan_id", "urgency", "overdue",
            sqlite_where=text("next_due_at IS NOT NULL"), postgresql_where=text("next_due_at IS NOT NULL"),
        ),
        # Case ids name cases in buttons and numbers: never given again to another case (AUTOINCREMENT).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipients.id", ondelete="CASCADE"), index=True)
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    urgency: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20), default=CaseState.NEW, index=True)
    description: Mapped[str | None] = mapped_column(Text)
    voice_file_id: Mapped[str | None] = mapped_column(String(200))
    video_note_file_id: Mapped[str | None] = mapped_column(String(200))  # a round video, passed on like the voice
    source: Mapped[str] = mapped_column(String(20), default="report")
    owner_worker_id: Mapped[int | None] = mapped_column(ForeignKey("field_workers.id"))
    owner_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    with_dissos: Mapped[bool] = mapped_column(Boolean, default=False)
    take_due_at: Mapped[datetime | None]
    resolve_due_at: Mapped[datetime | None]
    taken_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    resolve_reminded_at: Mapped[datetime | None]
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    visit_planned_for: Mapped[date | None] = mapped_column(Date)
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)
    claimed_until: Mapped[datetime | None]
    # The deadline that matters now: to be taken (nobody has taken it yet) or to be resolved; None once
    # resolved or closed. The queue sorts by it (services/cases/transitions.py keeps it up to date).
    next_due_at: Mapped[datetime | None]
    # The check-in the obstacle was reported from (no foreign key: checkins is created after cases).
    source_checkin_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]

    recipient: Mapped[Recipient | None] = relationship(lazy="joined")
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id")


class CaseEvent(Base):
    """Audit trail of a case: who did what, when and why."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("telegram_accounts.id"))
    actor: Mapped[str] = mapped_column(String(200))  # "system", or a display name with role
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    voice_file_id: Mapped[str | None] = mapped_column(String(200))  # a reason given by voice (passed to Dinas Sosial)

    case: Mapped[Case] = relationship(back_populates="events")


class Broadcast(Base):
    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("telegram_accounts.id"))
    created_by: Mapped[str] = mapped_column(String(200))
    text_id: Mapped[str | None] = mapped_column(Text)
    text_en: Mapped[str | None] = mapped_column(Text)
    photo_file_id: Mapped[str | None] = mapped_column(String(200))
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default=BroadcastStatus.DRAFT, index=True)
    scheduled_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    total: Mapped[int] = mapped_column(Integer, default=0)
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_updated_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class BroadcastDelivery(Base):
    __tablename__ = "broadcast_deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "chat_id"),
        Index("ix_broadcast_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True)
    telegram_account_id: Mapped[int | None] = mapped_column(ForeignKey("telegram_accounts.id"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(5), default="id")
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(300))


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("telegram_accounts.id"))
    action: Mapped[str] = mapped_column(String(60), index=True)
    target: Mapped[str | None] = mapped_column(String(120))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class FsmRecord(Base):
    """aiogram FSM state and data per storage key, so a restart mid-conversation loses nothing."""

    __tablename__ = "fsm_states"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class Candidate(Base):
    """A DTKS resident proposed for the aid, before they are a recipient (issue #19).

    ``stage`` is the current step of candidate → assessed → approved / not approved → package set → handed
    over; every step is also a :class:`CandidateEvent` with its time and actor. On approval the candidate
    becomes a :class:`Recipient` (``recipient_id``), waiting for the aid."""

    __tablename__ = "candidates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    nik_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nik_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(300), default="")
    desa: Mapped[str] = mapped_column(String(120), default="")
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"), index=True)
    dtks_id: Mapped[str] = mapped_column(String(40), default="")
    pkh: Mapped[bool] = mapped_column(Boolean, default=False)
    preferred_business_type: Mapped[str | None] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(20), index=True)
    stage_at: Mapped[datetime]
    approved_business_type: Mapped[str | None] = mapped_column(String(20))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipients.id", ondelete="SET NULL"), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    kecamatan: Mapped[Kecamatan] = relationship(lazy="joined")


class CandidateEvent(Base):
    """One step of a candidate's lifecycle: who moved it from which stage to which, when and why."""

    __tablename__ = "candidate_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("telegram_accounts.id"))
    action: Mapped[str] = mapped_column(String(30))
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)


class Assessment(Base):
    """The TKSK's or PSM's assessment of one candidate at home. A draft is written answer by answer, so a
    restart or an interruption loses nothing; it is submitted once, then decided on by Dinas Sosial."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), unique=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("field_workers.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Telegram photo references (file ids) while a draft; Photo row ids once submitted.
    photos: Mapped[list[Any]] = mapped_column(JSON, default=list)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    voice_file_id: Mapped[str | None] = mapped_column(String(200))
    aspect_scores: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    score: Mapped[float | None] = mapped_column(Float)
    feasible_share: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[str | None] = mapped_column(String(12), index=True)
    suggested_business_type: Mapped[str | None] = mapped_column(String(20))
    recommended_business_type: Mapped[str | None] = mapped_column(String(20))
    recommendation_reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]

    candidate: Mapped[Candidate] = relationship(lazy="joined")
    worker: Mapped[FieldWorker] = relationship(lazy="joined")


class Handover(Base):
    """The hand-over of one aid package, recorded by the TKSK/PSM; the BAST (berita acara serah terima) is
    made from it. One per package (a second hand-over is refused by the unique key)."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("aid_packages.id", ondelete="CASCADE"), unique=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("field_workers.id"), index=True)
    handed_over_on: Mapped[date] = mapped_column(Date)
    handed_over_at: Mapped[datetime]
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id"))
    total_value: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class WebLoginLink(Base):
    """A one-time sign-in link for the staff web desk, sent by the bot (``/web``). Only the SHA-256 of the
    token is stored; the link is bound to the account that asked for it, expires quickly and works once."""

    __tablename__ = "web_login_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("telegram_accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class WebSession(Base):
    """A signed-in browser of the web desk. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(ForeignKey("telegram_accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    via: Mapped[str] = mapped_column(String(20), default="link")  # "link" (from /web) or "telegram" (widget)


class Visit(Base):
    """A TKSK's or PSM's visit report (``/kunjungan``): what they saw on site, and what it set in motion.

    ``checkin_id`` is set when the visit counted as an assisted check-in for the recipient's current period
    (no phone, or no report yet); that check-in is marked "assisted" wherever it is shown. A visit without a
    location (refused or unavailable) is allowed and recorded with ``latitude`` NULL.
    """

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_recipient_at", "recipient_id", "visited_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id", ondelete="CASCADE"))
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id"), index=True)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("field_workers.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("telegram_accounts.id"))
    visited_at: Mapped[datetime]
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    observed_status: Mapped[str] = mapped_column(String(20))
    days_open: Mapped[int | None] = mapped_column(Integer)
    sales_bracket: Mapped[str | None] = mapped_column(String(20))
    stock: Mapped[str | None] = mapped_column(String(20))
    equipment: Mapped[str | None] = mapped_column(String(20))
    obstacles: Mapped[list[str] | None] = mapped_column(JSON)
    advice: Mapped[str | None] = mapped_column(Text)
    next_visit_on: Mapped[date | None] = mapped_column(Date)
    photo_file_ids: Mapped[list[str] | None] = mapped_column(JSON)
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkins.id", ondelete="SET NULL"), unique=True)
    # The case in "visit planned" this visit moved on (it goes back to "taken").
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class VisitDue(Base):
    """When a recipient should next be visited: one row per recipient, scanned like reminders.

    ``due_at`` follows ``monitoring.visit_interval_days`` from the aid date or the last visit; a worker may plan a
    day (``planned_on``, from the missed-check-in digest or the card). ``overdue_notified_at`` is set when
    Dinas Sosial was told the visit is more than ``monitoring.overdue_notice_days`` late.
    """

    __tablename__ = "visit_dues"
    __table_args__ = (Index("ix_visit_dues_due", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id", ondelete="CASCADE"), unique=True)
    due_at: Mapped[datetime]
    last_visit_at: Mapped[datetime | None]
    planned_on: Mapped[date | None] = mapped_column(Date)
    planned_at: Mapped[datetime | None]
    overdue_notified_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class PrivacyRequest(Base):
    """A person's request under UU PDP (see, correct, restrict, delete, withdraw consent), answered within
    ``privacy.answer_hours``; the scan reminds before the deadline and escalates when it passes."""

    __tablename__ = "privacy_requests"
    __table_args__ = (Index("ix_privacy_requests_state_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipients.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("telegram_accounts.id"))
    kind: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(10))
    # What the person asked, in their words (a correction); NIK-like numbers are masked before storing.
    details: Mapped[str | None] = mapped_column(Text)
    voice_file_id: Mapped[str | None] = mapped_column(String(200))
    # Sent from a relative's phone (a proxy account): Dinas Sosial checks who asked before applying.
    via_proxy: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(200))
    # The answer as told to the person, and what is kept for the program's public-interest duty (Art. 15).
    answer: Mapped[str | None] = mapped_column(Text)
    kept_note: Mapped[str | None] = mapped_column(Text)


class PrivacyBreach(Base):
    """A personal-data breach: what happened, when, who is affected; the people and the supervising authority
    must be told within ``privacy.answer_hours`` of its discovery."""

    __tablename__ = "privacy_breaches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    description: Mapped[str] = mapped_column(Text)
    data_kinds: Mapped[str] = mapped_column(String(300), default="")
    occurred_at: Mapped[datetime | None]
    discovered_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(200))
    affected_query: Mapped[dict[str, Any]] = mapped_column(JSON)
    affected_count: Mapped[int] = mapped_column(Integer, default=0)
    measures: Mapped[str] = mapped_column(Text, default="")
    notify_due_at: Mapped[datetime] = mapped_column(index=True)
    people_notified_at: Mapped[datetime | None]
    authority_notified_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]


class PrivacyBreachPerson(Base):
    """One person affected by a breach, and when their notice was queued."""

    __tablename__ = "privacy_breach_people"
    __table_args__ = (UniqueConstraint("breach_id", "recipient_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("privacy_breaches.id", ondelete="CASCADE"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"), index=True)
    notified_at: Mapped[datetime | None]


class ProcessedUpdate(Base):
    """A Telegram update whose changes are committed, written in the same transaction: a redelivery of it
    (webhook retried after a worker died before answering, polling after a crash) changes nothing twice."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    handled_at: Mapped[datetime] = mapped_column(index=True)


__all__ = [
    "AidItem",
    "OutboxMessage",
    "AidPackage",
    "Assessment",
    "AuditLog",
    "Base",
    "Broadcast",
    "BroadcastDelivery",
    "BusinessStatusChange",
    "Candidate",
    "CandidateEvent",
    "Case",
    "CaseEvent",
    "Checkin",
    "CheckinDue",
    "ConsentRecord",
    "FieldWorker",
    "FsmRecord",
    "Handover",
    "IdentityAttempt",
    "Invitation",
    "Kabupaten",
    "Kecamatan",
    "Photo",
    "PrivacyBreach",
    "PrivacyBreachPerson",
    "PrivacyRequest",
    "ProcessedUpdate",
    "Recipient",
    "Reminder",
    "Staff",
    "TelegramAccount",
    "WebLoginLink",
    "WebSession",
    "Visit",
    "VisitDue",
    "BroadcastStatus",
    "BusinessStatus",
    "CaseState",
    "DeliveryStatus",
    "OnboardingState",
]


class OutboxMessage(Base):
    """A message to someone other than the person whose update is being handled (a TKSK alert, a case
    notice): written in the caller's transaction, sent after its commit by ``services.outgoing.outbox``.

    ``text`` and ``reply_markup`` are final (translated into the account's language when written); a kind with
    a refresher (``services.outgoing.outbox.refresher``) may rebuild them, or skip the row, just before sending.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "due_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("telegram_accounts.id", ondelete="CASCADE"), index=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(40))
    priority: Mapped[int] = mapped_column(Integer, default=2)
    text: Mapped[str] = mapped_column(Text)
    reply_markup: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    photo: Mapped[str | None] = mapped_column(String(300))
    # Voice notes and photos sent after the message, as replies to it: [{"type": "voice"|"photo", "file_id": …}].
    media: Mapped[list[Any] | None] = mapped_column(JSON)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    due_at: Mapped[datetime | None]  # None: as soon as the transaction that wrote it commits
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(300))


# The survival facts on recipients follow every ORM insert of a check-in or a status row (registers the events).
from db import survival_facts as _survival_facts  # noqa: E402, F401
