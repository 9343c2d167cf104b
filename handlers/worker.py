"""``/penerima``: the recipients of a TKSK's or PSM's kecamatan (admins: the whole province).

Ten per page with ◀️ ▶️ buttons; send a name or a desa (or ``/penerima NAME``) to search, and filter by status
(not joined, missed report, open case, visit due). Each line shows the onboarding step, the last check-in date
(WITA) and the risk score; a numbered button opens the recipient card (``handlers/recipient_card.py``).
Recipients who have not joined get a button that creates a personal
invitation link with its QR code. The kecamatan is read from the worker's record on every command and every
button press, and every recipient id in a button is checked against it: a forged id is refused. NIKs are masked
for everyone but admins (whose views of full NIKs are audited).
"""

from __future__ import annotations

import contextlib
import html
import math
from datetime import datetime

from aiogram import Bot, F
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.config import Settings
from bot.filters import RoleFilter
from bot.i18n import N_
from bot.routing import Router
from db.enums import BusinessStatus, CheckinDueState, InvitationKind, OnboardingState, Role
from db.models import Case, Checkin, CheckinDue, Recipient, TelegramAccount, VisitDue
from handlers.invitation_messages import send_invitation
from services.audit import audit
from services.cases.transitions import OPEN_STATES
from services.clock import Clock
from services.crypto import NikCipher, mask_nik
from services.dates import long_date
from services.invitations import create_invitation
from services.monitoring.card import RcCb
from services.monitoring.risk import risk_icon, risk_scores
from services.onboarding.linking import settle_phone_case
from services.onboarding.notices import PhoneConfirmCb

router = Router(name="worker")
LIST_ROLES = (Role.TKSK, Role.PSM, Role.ADMIN)
router.message.filter(RoleFilter(*LIST_ROLES))
router.callback_query.filter(RoleFilter(*LIST_ROLES))

PAGE_SIZE = 10

ONBOARDING_LABELS = {
    OnboardingState.NOT_JOINED: N_("not joined"),
    OnboardingState.CONSENT: N_("consent pending"),
    OnboardingState.DECLINED: N_("declined / withdrew"),
    OnboardingState.PHONE: N_("phone check pending"),
    OnboardingState.PROFILE: N_("profile check pending"),
    OnboardingState.AID_WAITING: N_("waiting for aid"),
    OnboardingState.AID_RECEIPT: N_("aid receipt pending"),
    OnboardingState.ACTIVE: N_("active"),
}


class PenerimaCb(CallbackData, prefix="pn"):
    action: str  # page | inv | noop
    page: int = 0
    rid: int = 0


class PenerimaFilterCb(CallbackData, prefix="pnf"):
    """A status filter of the list (STATUS_FILTERS); the filter then stays in the list's state, like the search."""

    f: str = ""


STATUS_FILTERS = {
    "": N_("All"), "nj": N_("Not joined"), "mr": N_("Missed report"), "oc": N_("Open case"), "vd": N_("Visit due"),
}


class PenerimaList(StatesGroup):
    browsing = State()  # data: q (search text), f (status filter)


def _scope_kecamatan(role: Role, account: TelegramAccount | None) -> int | None | bool:
    """The kecamatan id a worker may see; None for an admin (everything); False when nothing."""
    if role is Role.ADMIN:
        return None
    if account is None or account.worker is None or not account.worker.active:
        return False
    return account.worker.kecamatan_id


def _filter_rows(current: str) -> list[list[InlineKeyboardButton]]:
    buttons = [InlineKeyboardButton(text=("• " if code == current else "") + _(label),
                                    callback_data=PenerimaFilterCb(f=code).pack())
               for code, label in STATUS_FILTERS.items()]
    return [buttons[:2], buttons[2:]]


def status_condition(code: str, *, now: datetime, settings: Settings):  # type: ignore[no-untyped-def]
    """The SQL condition of a status filter on ``Recipient``."""
    if code == "nj":
        return ~select(TelegramAccount.id).where(TelegramAccount.recipient_id == Recipient.id).exists()
    if code == "mr":
        later_done = aliased(CheckinDue)
        missed = aliased(CheckinDue)
        return select(missed.id).where(
            missed.recipient_id == Recipient.id, missed.state == CheckinDueState.MISSED,
            ~select(later_done.id).where(later_done.recipient_id == Recipient.id,
                                         later_done.state == CheckinDueState.DONE,
                                         later_done.period_no > missed.period_no).exists(),
        ).exists()
    if code == "oc":
        return select(Case.id).where(Case.recipient_id == Recipient.id, Case.state.in_(OPEN_STATES)).exists()
    if code == "vd":
        today = now.astimezone(settings.program.tz).date()
        return and_(Recipient.business_status != BusinessStatus.STOPPED, select(VisitDue.id).where(
            VisitDue.recipient_id == Recipient.id, or_(VisitDue.due_at <= now, VisitDue.planned_on <= today),
        ).exists())
    return true()


def onboarding_label(state: str) -> str:
    return _(ONBOARDING_LABELS[OnboardingState(state)]) if state in OnboardingState._value2member_map_ else state


async def _page(
    session: AsyncSession, kecamatan_id: int | None, query: str, page: int, status_filter: str = "",
    now: datetime | None = None, settings: Settings | None = None,
) -> tuple[list[Recipient], int, int]:
    conditions = []
    if kecamatan_id is not None:
        conditions.append(Recipient.kecamatan_id == kecamatan_id)
    if query:
        escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(or_(func.lower(Recipient.name).like(f"%{escaped}%", escape="\\"),
                              func.lower(Recipient.desa).like(f"%{escaped}%", escape="\\")))
    if status_filter and now is not None and settings is not None:
        conditions.append(status_condition(status_filter, now=now, settings=settings))
    total = await session.scalar(select(func.count()).select_from(Recipient).where(*conditions)) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    rows = (
        await session.scalars(
            select(Recipient).where(*conditions).order_by(Recipient.name, Recipient.id)
            .offset(page * PAGE_SIZE).limit(PAGE_SIZE)
        )
    ).all()
    return list(rows), page, pages


async def _render(
    session: AsyncSession, *, role: Role, account: TelegramAccount, kecamatan_id: int | None, query: str,
    page: int, settings: Settings, clock: Clock, cipher: NikCipher, status_filter: str = "",
) -> tuple[str, InlineKeyboardMarkup | None]:
    status_filter = status_filter if status_filter in STATUS_FILTERS else ""
    now = clock.now()
    recipients, page, pages = await _page(session, kecamatan_id, query, page, status_filter, now, settings)
    if not recipients:
        if status_filter:
            text = _("No recipient matches the filter “{label}”.").format(label=_(STATUS_FILTERS[status_filter]))
            if query:
                text += " " + _("search: “{query}”").format(query=html.escape(query))
        elif query:
            text = _("No recipient found with the name “{query}”.").format(query=html.escape(query))
        else:
            text = _("There are no recipients on the list for your kecamatan yet.")
        return text + "\n" + _("Send a name to search, or /batal to close the list."), InlineKeyboardMarkup(
            inline_keyboard=_filter_rows(status_filter))
    ids = [r.id for r in recipients]
    last_checkins = dict(
        (await session.execute(
            select(Checkin.recipient_id, func.max(Checkin.submitted_at))
            .where(Checkin.recipient_id.in_(ids)).group_by(Checkin.recipient_id)
        )).all()
    )
    linked = set((await session.scalars(
        select(TelegramAccount.recipient_id).where(TelegramAccount.recipient_id.in_(ids))
    )).all())
    risks = await risk_scores(session, ids, now=now, settings=settings)
    title = _("Recipients, page {page} of {pages}").format(page=page + 1, pages=pages)
    if query:
        title += " · " + _("search: “{query}”").format(query=html.escape(query))
    if status_filter:
        title += " · " + _(STATUS_FILTERS[status_filter])
    lines = [f"<b>{title}</b>"]
    buttons: list[list[InlineKeyboardButton]] = []
    cards: list[InlineKeyboardButton] = []
    for n, r in enumerate(recipients, page * PAGE_SIZE + 1):
        nik = cipher.decrypt(r.nik_encrypted)
        shown_nik = nik if role is Role.ADMIN else mask_nik(nik)
        last = last_checkins.get(r.id)
        last_text = long_date(last, settings.program.tz) if last else "-"
        where = html.escape(r.desa or "-") if kecamatan_id is not None else (
            f"{html.escape(r.desa or '-')}, {html.escape(r.kecamatan.name)}")
        lines.append(
            f"{n}. <b>{html.escape(r.name)}</b>, {where}\n"
            f"    NIK {shown_nik} · {onboarding_label(r.onboarding_state)} · "
            + _("last report: {date}").format(date=last_text)
            + f" · {risk_icon(risks[r.id], settings)} {risks[r.id].score}"
        )
        cards.append(InlineKeyboardButton(text=f"📇 {n}", callback_data=RcCb(action="open", rid=r.id).pack()))
        if r.id not in linked:
            buttons.append([InlineKeyboardButton(
                text=_("🔗 Invite {n}. {name}").format(n=n, name=r.name[:30]),
                callback_data=PenerimaCb(action="inv", rid=r.id).pack(),
            )])
    if role is Role.ADMIN:
        audit(session, clock, actor=f"account:{account.id}", actor_account_id=account.id, action="nik.view",
              target="recipients", details={"recipient_ids": ids})
    lines.append("")
    lines.append(_("📇 opens a card. Send a name or desa to search, or /batal to close the list."))
    buttons[:0] = [cards[i:i + 5] for i in range(0, len(cards), 5)]
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(InlineKeyboardButton(text="◀️", callback_data=PenerimaCb(action="page", page=page - 1).pack()))
        nav.append(InlineKeyboardButton(text=f"{page + 1}/{pages}", callback_data=PenerimaCb(action="noop").pack()))
        if page < pages - 1:
            nav.append(InlineKeyboardButton(text="▶️", callback_data=PenerimaCb(action="page", page=page + 1).pack()))
        buttons.append(nav)
    buttons.extend(_filter_rows(status_filter))
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=buttons) if buttons else None


@router.message(Command("penerima"))
async def penerima(
    message: Message, command: CommandObject, state: FSMContext, role: Role, account: TelegramAccount,
    session: AsyncSession, settings: Settings, clock: Clock, cipher: NikCipher,
) -> None:
    scope = _scope_kecamatan(role, account)
    if scope is False:
        await message.answer(_("Sorry, that command is not available for you."))
        return
    query = " ".join((command.args or "").split())[:100]
    await state.set_state(PenerimaList.browsing)
    await state.set_data({"q": query, "f": ""})
    text, markup = await _render(session, role=role, account=account, kecamatan_id=scope or None, query=query,
                                 page=0, settings=settings, clock=clock, cipher=cipher)
    await message.answer(text, reply_markup=markup)


@router.message(StateFilter(PenerimaList.browsing), F.text, ~F.text.startswith("/"))
async def search(
    message: Message, state: FSMContext, role: Role, account: TelegramAccount, session: AsyncSession,
    settings: Settings, clock: Clock, cipher: NikCipher,
) -> None:
    scope = _scope_kecamatan(role, account)
    if scope is False:
        await state.clear()
        await message.answer(_("Sorry, that command is not available for you."))
        return
    query = " ".join((message.text or "").split())[:100]
    status_filter = str((await state.get_data()).get("f", ""))
    await state.set_data({"q": query, "f": status_filter})
    text, markup = await _render(session, role=role, account=account, kecamatan_id=scope or None, query=query,
                                 page=0, settings=settings, clock=clock, cipher=cipher, status_filter=status_filter)
    await message.answer(text, reply_markup=markup)


@router.callback_query(PenerimaCb.filter(F.action == "noop"))
async def noop(query: CallbackQuery) -> None:
    await query.answer()


@router.callback_query(PenerimaCb.filter(F.action == "page"))
async def turn_page(
    query: CallbackQuery, callback_data: PenerimaCb, state: FSMContext, role: Role, account: TelegramAccount,
    session: AsyncSession, settings: Settings, clock: Clock, cipher: NikCipher,
) -> None:
    data = await state.get_data() if await state.get_state() == PenerimaList.browsing.state else {}
    await _show_page(query, state, role, account, session, settings, clock, cipher, query_text=str(data.get("q", "")),
                     status_filter=str(data.get("f", "")), page=callback_data.page)


@router.callback_query(PenerimaFilterCb.filter())
async def filter_list(
    query: CallbackQuery, callback_data: PenerimaFilterCb, state: FSMContext, role: Role, account: TelegramAccount,
    session: AsyncSession, settings: Settings, clock: Clock, cipher: NikCipher,
) -> None:
    """A filter keeps the search text and starts at the first page; the list stays open for more searches."""
    data = await state.get_data() if await state.get_state() == PenerimaList.browsing.state else {}
    status_filter = callback_data.f if callback_data.f in STATUS_FILTERS else ""
    await state.set_state(PenerimaList.browsing)
    await state.set_data({"q": str(data.get("q", "")), "f": status_filter})
    await _show_page(query, state, role, account, session, settings, clock, cipher, query_text=str(data.get("q", "")),
                     status_filter=status_filter, page=0)


async def _show_page(
    query: CallbackQuery, state: FSMContext, role: Role, account: TelegramAccount, session: AsyncSession,
    settings: Settings, clock: Clock, cipher: NikCipher, *, query_text: str, status_filter: str, page: int,
) -> None:
    scope = _scope_kecamatan(role, account)
    if scope is False or not isinstance(query.message, Message):
        await query.answer(_("Sorry, this is not available for you."), show_alert=True)
        return
    text, markup = await _render(session, role=role, account=account, kecamatan_id=scope or None,
                                 query=query_text, page=page, settings=settings, clock=clock, cipher=cipher,
                                 status_filter=status_filter)
    await query.answer()
    with contextlib.suppress(TelegramAPIError):  # "message is not modified" when pressed twice
        await query.message.edit_text(text, reply_markup=markup)


@router.callback_query(PenerimaCb.filter(F.action == "inv"))
async def invite_recipient(
    query: CallbackQuery, callback_data: PenerimaCb, role: Role, account: TelegramAccount, session: AsyncSession,
    settings: Settings, clock: Clock, bot: Bot,
) -> None:
    scope = _scope_kecamatan(role, account)
    recipient = await session.get(Recipient, callback_data.rid)
    if scope is False or recipient is None or (scope is not None and recipient.kecamatan_id != scope) or (
            not isinstance(query.message, Message)):
        # A recipient of another kecamatan (or a forged id): refused, nothing created.
        await query.answer(_("Sorry, this recipient is not in your kecamatan."), show_alert=True)
        return
    linked = await session.scalar(select(TelegramAccount.id).where(TelegramAccount.recipient_id == recipient.id))
    if linked is not None:
        await query.answer(_("{name} has already joined the bot.").format(name=recipient.name), show_alert=True)
        return
    await query.answer()
    new = await create_invitation(
        session, settings=settings, clock=clock, kind=InvitationKind.RECIPIENT, recipient=recipient,
        created_by_account_id=account.id, actor=f"account:{account.id}",
    )
    who = f"{html.escape(recipient.name)} ({html.escape(recipient.desa or '-')})"
    await send_invitation(query.message, bot, new, who=who, settings=settings)


@router.callback_query(PhoneConfirmCb.filter())
async def phone_confirmation(
    query: CallbackQuery, callback_data: PhoneConfirmCb, account: TelegramAccount, session: AsyncSession,
    settings: Settings, clock: Clock,
) -> None:
    """The TKSK confirms (or not) a recipient's new phone number; the state machine checks kecamatan and state."""
    from services.cases.transitions import CaseActionRefused

    try:
        new_phone = await settle_phone_case(
            session, case_id=callback_data.case_id, confirmed=callback_data.ok, account=account, settings=settings,
            clock=clock,
        )
    except CaseActionRefused:
        await query.answer(_("Sorry, you cannot do this: the case is not in your kecamatan or is already settled."),
                           show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramAPIError):
            await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(
            _("✅ The new number {phone} is now on the roster.").format(phone=html.escape(new_phone)) if new_phone
            else _("The old number stays on the roster. Please check with the recipient.")
        )
