"""The recipient card for a TKSK or PSM (and Dinas Sosial): business, status and risk, the last check-ins,
open cases, past visits, and when the next check-in and visit fall due. Never the NIK or the phone: the phone
is behind a button whose every press is audited.

Who may see a card: a TKSK or PSM of the recipient's kecamatan, Dinas Sosial caseworkers and admins. The check
is :func:`card_scope`, made on the server at every press, never taken from a button.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.utils.i18n import gettext as _
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import N_
from db.enums import CheckinDueState, OnboardingState, Role
from db.models import Case, Checkin, CheckinDue, FieldWorker, Photo, Recipient, TelegramAccount, Visit, VisitDue
from services.cases.transitions import OPEN_STATES
from services.checkins import SALES_BRACKETS
from services.dates import long_date
from services.i18n_labels import business_status_label, business_type_label, case_kind_label, case_state_label
from services.monitoring.risk import Risk, next_visit_day, risk_line, risk_scores

LAST_CHECKINS = 3
LAST_VISITS = 3
MAX_ALBUM = 10

SALES_SHORT = {
    "lt250k": N_("< Rp250k"), "250k_500k": N_("Rp250–500k"), "500k_1m": N_("Rp500k–1m"),
    "1m_2m": N_("Rp1–2m"), "gt2m": N_("> Rp2m"),
}
STOCK_LABELS = {"enough": N_("stock enough"), "low": N_("stock low"), "none": N_("no stock")}
EQUIPMENT_LABELS = {
    "in_use": N_("equipment in use"), "partly": N_("equipment partly used"),
    "unused": N_("equipment not used"), "broken": N_("equipment broken"),
}


class RcCb(CallbackData, prefix="rc"):
    """The recipient card's buttons (handlers/recipient_card.py), also put in digests, lists and case cards."""

    action: str  # open | call | pics | visit | plan | pday
    rid: int
    v: int = -1  # card version (last visit id when shown); -1: not version-bound
    arg: str = ""


class CardRefusal(StrEnum):
    NOT_RECIPIENT = "not_recipient"   # no such recipient (forged or deleted id)
    AREA = "area"                     # a TKSK or PSM of another kecamatan
    ROLE = "role"                     # nobody else sees cards


class CardRefused(Exception):
    def __init__(self, reason: CardRefusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


def refusal_message(reason: CardRefusal) -> str:
    return {
        CardRefusal.NOT_RECIPIENT: _("Sorry, this person is not a recipient of the program."),
        CardRefusal.AREA: _("Sorry, this recipient is not in your kecamatan."),
        CardRefusal.ROLE: _("Sorry, this is not available for you."),
    }[reason]


def worker_of(role: Role, account: TelegramAccount | None) -> FieldWorker | None:
    if role.is_worker and account is not None and account.worker is not None and account.worker.active:
        return account.worker
    return None


async def card_scope(session: AsyncSession, role: Role, account: TelegramAccount | None,
                     recipient_id: int) -> Recipient:
    """The recipient if this account may see their card; raises :class:`CardRefused` otherwise."""
    if not (role.is_staff or worker_of(role, account) is not None):
        raise CardRefused(CardRefusal.ROLE)
    recipient = await session.get(Recipient, recipient_id, populate_existing=True)
    if recipient is None:
        raise CardRefused(CardRefusal.NOT_RECIPIENT)
    worker = worker_of(role, account)
    if worker is not None and worker.kecamatan_id != recipient.kecamatan_id:
        raise CardRefused(CardRefusal.AREA)
    return recipient


@dataclass(slots=True)
class CardData:
    recipient: Recipient
    risk: Risk
    on_telegram: bool
    checkins: list[Checkin]
    photo_counts: dict[int, int]
    assisted: set[int]
    cases: list[Case]
    visits: list[tuple[Visit, str]]
    next_checkin: datetime | None
    next_visit: date | None
    planned_visit: date | None
    album: list[str] = field(default_factory=list)

    @property
    def version(self) -> int:
        """Changes when a visit is recorded: a card (and its visit button) made before it is stale."""
        return self.visits[0][0].id if self.visits else 0


async def current_version(session: AsyncSession, recipient_id: int) -> int:
    return await session.scalar(select(func.max(Visit.id)).where(Visit.recipient_id == recipient_id)) or 0


async def load_card(session: AsyncSession, recipient: Recipient, *, now: datetime, settings: Settings) -> CardData:
    rid = recipient.id
    risk = (await risk_scores(session, [rid], now=now, settings=settings))[rid]
    account = await session.scalar(select(TelegramAccount).where(TelegramAccount.recipient_id == rid))
    checkins = list(await session.scalars(
        select(Checkin).where(Checkin.recipient_id == rid)
        .order_by(Checkin.submitted_at.desc(), Checkin.id.desc()).limit(LAST_CHECKINS)
    ))
    ids = [c.id for c in checkins]
    photo_counts = dict((await session.execute(
        select(Photo.checkin_id, func.count()).where(Photo.checkin_id.in_(ids)).group_by(Photo.checkin_id)
    )).all()) if ids else {}
    assisted = set(await session.scalars(select(Visit.checkin_id).where(Visit.checkin_id.in_(ids)))) if ids else set()
    cases = list(await session.scalars(
        select(Case).where(Case.recipient_id == rid, Case.state.in_(OPEN_STATES)).order_by(Case.id)
    ))
    visits = [(v, name or "-") for v, name in await session.execute(
        select(Visit, FieldWorker.name).outerjoin(FieldWorker, FieldWorker.id == Visit.worker_id)
        .where(Visit.recipient_id == rid).order_by(Visit.visited_at.desc(), Visit.id.desc()).limit(LAST_VISITS)
    )]
    next_checkin = await session.scalar(
        select(CheckinDue.due_at).where(CheckinDue.recipient_id == rid, CheckinDue.state == CheckinDueState.OPEN)
        .order_by(CheckinDue.period_no).limit(1)
    )
    due = await session.scalar(select(VisitDue).where(VisitDue.recipient_id == rid))
    tz = settings.program.tz
    last_visit = visits[0][0].visited_at.astimezone(tz).date() if visits else None
    next_visit = next_visit_day(recipient.aid_date, last_visit, settings)
    album = list(await session.scalars(
        select(Photo.file_id).where(Photo.checkin_id.in_(ids)).order_by(Photo.id.desc()).limit(MAX_ALBUM)
    )) if ids else []
    for visit, _name in visits:
        album.extend(f for f in (visit.photo_file_ids or []) if f not in album)
    return CardData(
        recipient=recipient, risk=risk, on_telegram=account is not None and account.blocked_at is None,
        checkins=checkins, photo_counts=photo_counts, assisted=assisted, cases=cases, visits=visits,
        next_checkin=next_checkin, next_visit=next_visit, planned_visit=due.planned_on if due else None,
        album=album[:MAX_ALBUM],
    )


def _day(moment: datetime | date, settings: Settings) -> str:
    return long_date(moment, settings.program.tz)


def sales_label(code: str | None) -> str | None:
    return _(SALES_SHORT[code]) if code in SALES_SHORT else None


def checkin_line(c: Checkin, *, photos: int, assisted: bool, settings: Settings) -> str:
    parts = [_day(c.submitted_at, settings), business_status_label(c.status)]
    if c.days_open is not None:
        parts.append(_("{n} days open").format(n=c.days_open))
    label = sales_label(c.sales_bracket) if c.sales_bracket in SALES_BRACKETS else None
    if label:
        parts.append(label)
    if photos:
        parts.append(f"📷{photos}")
    if assisted:
        parts.append(_("🤝 assisted (visit)"))
    if c.reuse_flagged:
        parts.append(_("⚠️ photo reused"))
    return "• " + html.escape(" · ".join(parts))


def visit_line(v: Visit, who: str, settings: Settings) -> str:
    parts = [_day(v.visited_at, settings), who, business_status_label(v.observed_status)]
    if v.latitude is None:
        parts.append(_("📍 no location"))
    if v.checkin_id is not None:
        parts.append(_("🤝 assisted check-in"))
    return "• " + html.escape(" · ".join(parts))


def render_card(data: CardData, settings: Settings, locale: str) -> str:
    r = data.recipient
    place = ", ".join(p for p in (r.desa, r.kecamatan.name) if p)
    lines = [f"👤 <b>{html.escape(r.name)}</b> · {html.escape(place)}"]
    status = business_status_label(r.business_status)
    if r.business_status_since is not None:
        status += " " + _("(since {day})").format(day=_day(r.business_status_since, settings))
    business = business_type_label(r.business_type, settings, locale)
    lines.append(f"🏪 {html.escape(business)} · {html.escape(status)}")
    if r.onboarding_state != OnboardingState.ACTIVE or not data.on_telegram:
        lines.append("📵 " + (_("Not on Telegram: reports come through visits.") if not data.on_telegram
                             else _("Still joining the bot.")))
    lines.append(risk_line(data.risk, settings))
    lines.append("")
    lines.append("<b>" + _("Last reports") + "</b>")
    if data.checkins:
        lines.extend(checkin_line(c, photos=data.photo_counts.get(c.id, 0), assisted=c.id in data.assisted,
                                  settings=settings) for c in data.checkins)
    else:
        lines.append("• " + _("no report yet"))
    lines.append("<b>" + _("Open cases") + "</b>")
    if data.cases:
        for c in data.cases:
            text = f"{c.number} · {case_kind_label(c.kind)} · {case_state_label(c.state)}"
            if c.visit_planned_for is not None:
                text += " " + _day(c.visit_planned_for, settings)
            lines.append("• " + html.escape(text))
    else:
        lines.append("• " + _("none"))
    lines.append("<b>" + _("Visits") + "</b>")
    if data.visits:
        lines.extend(visit_line(v, who, settings) for v, who in data.visits)
    else:
        lines.append("• " + _("no visit yet"))
    lines.append("")
    lines.append(_("⏭ Next report due: {day}").format(
        day=_day(data.next_checkin, settings) if data.next_checkin else "-"))
    visit = _day(data.next_visit, settings) if data.next_visit else "-"
    if data.planned_visit is not None:
        visit += " · " + _("planned {day}").format(day=_day(data.planned_visit, settings))
    lines.append(_("🏠 Next visit due: {day}").format(day=visit))
    return "\n".join(lines)
