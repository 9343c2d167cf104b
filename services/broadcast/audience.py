"""Who a broadcast is for: an audience filter (stored as JSON on the broadcast) turned into SQL.

The audience is recipients and/or field workers (TKSK and PSM). Inside one dimension the choices are
alternatives (kecamatan A *or* B); dimensions combine (kecamatan A *and* business type gorengan). Region filters
(kabupaten, kecamatan) apply to recipients and workers alike; business type, onboarding state and business status
only to recipients. Kabupaten and kecamatan together mean "in one of these kabupaten, or one of these kecamatan".

Recipients who declined consent are never in an audience (UU PDP: nothing is sent to them). Inactive workers
neither. Only people with a linked Telegram account can be reached; the others are counted as "not joined yet".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Select, and_, false, func, literal, or_, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from db.enums import OnboardingState
from db.models import FieldWorker, Kecamatan, Recipient, TelegramAccount


@dataclass
class Audience:
    recipients: bool = True
    workers: bool = False
    kabupaten_ids: list[int] = field(default_factory=list)
    kecamatan_ids: list[int] = field(default_factory=list)
    business_types: list[str] = field(default_factory=list)
    onboarding_states: list[str] = field(default_factory=list)
    business_statuses: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Audience:
        data = data or {}
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    @property
    def empty(self) -> bool:
        return not self.recipients and not self.workers

    @property
    def has_recipient_filters(self) -> bool:
        return bool(self.business_types or self.onboarding_states or self.business_statuses)


@dataclass(frozen=True, slots=True)
class AudienceCount:
    """``people`` matched; ``reachable`` of them have a linked Telegram account; ``not_joined`` have none;
    ``blocked`` of the reachable blocked the bot before (they are tried again)."""

    people: int = 0
    reachable: int = 0
    not_joined: int = 0
    blocked: int = 0
    recipients: int = 0
    workers: int = 0


def _region_clause(audience: Audience, kecamatan_col: ColumnElement[int]) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if audience.kecamatan_ids:
        parts.append(kecamatan_col.in_(audience.kecamatan_ids))
    if audience.kabupaten_ids:
        parts.append(
            kecamatan_col.in_(select(Kecamatan.id).where(Kecamatan.kabupaten_id.in_(audience.kabupaten_ids)))
        )
    return or_(*parts) if parts else true()


def recipient_clause(audience: Audience) -> ColumnElement[bool]:
    if not audience.recipients:
        return false()
    parts = [Recipient.onboarding_state != OnboardingState.DECLINED, _region_clause(audience, Recipient.kecamatan_id),
             Recipient.restricted_at.is_(None)]  # UU PDP: a restricted person gets no announcements
    if audience.business_types:
        parts.append(Recipient.business_type.in_(audience.business_types))
    if audience.onboarding_states:
        parts.append(Recipient.onboarding_state.in_(audience.onboarding_states))
    if audience.business_statuses:
        parts.append(Recipient.business_status.in_(audience.business_statuses))
    return and_(*parts)


def worker_clause(audience: Audience) -> ColumnElement[bool]:
    if not audience.workers:
        return false()
    return and_(FieldWorker.active.is_(True), _region_clause(audience, FieldWorker.kecamatan_id))


def reachable_accounts(audience: Audience) -> Select[Any]:
    """(account id, chat id, language) of every linked account in the audience: the deliveries to create."""
    language = func.coalesce(TelegramAccount.language, literal("id"))
    by_recipient = (
        select(TelegramAccount.id, TelegramAccount.chat_id, language)
        .join(Recipient, TelegramAccount.recipient_id == Recipient.id)
        .where(recipient_clause(audience))
    )
    by_worker = (
        select(TelegramAccount.id, TelegramAccount.chat_id, language)
        .join(FieldWorker, TelegramAccount.worker_id == FieldWorker.id)
        .where(worker_clause(audience))
    )
    if audience.recipients and audience.workers:
        return union_all(by_recipient, by_worker)  # type: ignore[return-value]
    return by_worker if audience.workers else by_recipient


async def count_audience(session: AsyncSession, audience: Audience) -> AudienceCount:
    """How many people the audience is, how many can be reached, how many have not joined yet."""
    recipients = reach_r = blocked_r = 0
    workers = reach_w = blocked_w = 0
    if audience.recipients:
        row = (
            await session.execute(
                select(func.count(Recipient.id), func.count(TelegramAccount.id), func.count(TelegramAccount.blocked_at))
                .select_from(Recipient)
                .outerjoin(TelegramAccount, TelegramAccount.recipient_id == Recipient.id)
                .where(recipient_clause(audience))
            )
        ).one()
        recipients, reach_r, blocked_r = (int(v or 0) for v in row)
    if audience.workers:
        row = (
            await session.execute(
                select(
                    func.count(FieldWorker.id), func.count(TelegramAccount.id), func.count(TelegramAccount.blocked_at)
                )
                .select_from(FieldWorker)
                .outerjoin(TelegramAccount, TelegramAccount.worker_id == FieldWorker.id)
                .where(worker_clause(audience))
            )
        ).one()
        workers, reach_w, blocked_w = (int(v or 0) for v in row)
    people = recipients + workers
    reachable = reach_r + reach_w
    return AudienceCount(
        people=people, reachable=reachable, not_joined=people - reachable, blocked=blocked_r + blocked_w,
        recipients=recipients, workers=workers,
    )
