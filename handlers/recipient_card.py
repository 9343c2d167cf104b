"""The recipient card and its buttons (``rc:<action>:<recipient id>:<version>:<arg>``), for a TKSK or PSM of the
recipient's kecamatan and for Dinas Sosial. Reached from ``/penerima``, the weekly visit list, the TKSK's
missed-check-in digest and case cards.

Every press is checked on the server (:func:`services.monitoring.card.card_scope`): role, kecamatan, and that the
recipient exists. The version in a button is the id of the last visit when the card was shown: a "record a visit"
press on a card older than the latest visit is stale, refused, and the fresh card is shown instead.

* 📞 the phone number, as text Telegram turns into a tap-to-call link; every look-up is audited (never the number);
* 🖼 the photos of the last check-ins and visits, as one album, only on request;
* 📝 record a visit (``/kunjungan``, :mod:`conversations.visit`); 🗓 plan a visit day (the plan row).
"""

from __future__ import annotations

import contextlib
import html
from datetime import timedelta

from aiogram import Bot, F
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import RoleFilter
from bot.routing import Router
from db.enums import Role
from db.models import Recipient, TelegramAccount
from services.audit import audit
from services.cases.views import day_label
from services.clock import Clock
from services.dates import long_date
from services.monitoring.card import (
    CardRefused,
    RcCb,
    card_scope,
    load_card,
    refusal_message,
    render_card,
    worker_of,
)
from services.monitoring.plan import plan_day, planned_day_from

router = Router(name="recipient_card")
CARD_ROLES = (Role.TKSK, Role.PSM, Role.CASEWORKER, Role.ADMIN)
router.callback_query.filter(RoleFilter(*CARD_ROLES))
PLAN_HORIZON_DAYS = 14


def card_keyboard(recipient_id: int, version: int, *, can_visit: bool, has_photos: bool) -> InlineKeyboardMarkup:
    row1 = [InlineKeyboardButton(text=_("📞 Phone"), callback_data=RcCb(action="call", rid=recipient_id).pack())]
    if has_photos:
        row1.append(InlineKeyboardButton(text=_("🖼 Photos"),
                                         callback_data=RcCb(action="pics", rid=recipient_id).pack()))
    rows = [row1]
    if can_visit:
        rows.append([
            InlineKeyboardButton(text=_("📝 Record a visit"),
                                 callback_data=RcCb(action="visit", rid=recipient_id, v=version).pack()),
            InlineKeyboardButton(text=_("🗓 Plan a visit"), callback_data=RcCb(action="plan", rid=recipient_id).pack()),
        ])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def send_card(bot: Bot, chat_id: int, session: AsyncSession, recipient: Recipient, *, role: Role,
                    account: TelegramAccount | None, settings: Settings, clock: Clock, i18n: I18n,
                    edit_message_id: int | None = None) -> None:
    data = await load_card(session, recipient, now=clock.now(), settings=settings)
    text = render_card(data, settings, i18n.current_locale)
    markup = card_keyboard(recipient.id, data.version, can_visit=worker_of(role, account) is not None
                           and recipient.aid_date is not None, has_photos=bool(data.album))
    if edit_message_id is not None:
        try:
            await bot.edit_message_text(text=text, chat_id=chat_id, message_id=edit_message_id, reply_markup=markup)
            return
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                return
    await bot.send_message(chat_id, text, reply_markup=markup)


def _chat(query: CallbackQuery) -> int:
    return query.message.chat.id if isinstance(query.message, Message) else query.from_user.id


async def _scoped(query: CallbackQuery, session: AsyncSession, role: Role, account: TelegramAccount | None,
                  rid: int) -> Recipient | None:
    try:
        return await card_scope(session, role, account, rid)
    except CardRefused as exc:
        await query.answer(refusal_message(exc.reason), show_alert=True)
        return None


@router.callback_query(RcCb.filter(F.action == "open"))
async def open_card(query: CallbackQuery, callback_data: RcCb, session: AsyncSession, role: Role,
                    account: TelegramAccount | None, settings: Settings, clock: Clock, i18n: I18n, bot: Bot) -> None:
    recipient = await _scoped(query, session, role, account, callback_data.rid)
    if recipient is None:
        return
    await query.answer()
    await send_card(bot, _chat(query), session, recipient, role=role, account=account, settings=settings,
                    clock=clock, i18n=i18n)


@router.callback_query(RcCb.filter(F.action == "call"))
async def call(query: CallbackQuery, callback_data: RcCb, session: AsyncSession, role: Role,
               account: TelegramAccount | None, clock: Clock, bot: Bot) -> None:
    recipient = await _scoped(query, session, role, account, callback_data.rid)
    if recipient is None:
        return
    assert account is not None
    # UU PDP: who looked at whose number, and when (never the number itself).
    audit(session, clock, actor=f"account:{account.id}", actor_account_id=account.id,
          action="recipient.phone_viewed", target=f"recipient:{recipient.id}")
    await query.answer()
    name = html.escape(recipient.name)
    if recipient.phone:
        # A bare number in the text: Telegram shows it as a link that starts a call.
        text = _("📞 {name}: {phone}").format(name=name, phone=html.escape(recipient.phone))
        text += "\n" + _("Tap the number to call.")
    else:
        text = _("📞 {name} has no phone number on record. A visit is the way to reach them.").format(name=name)
    await bot.send_message(_chat(query), text)


@router.callback_query(RcCb.filter(F.action == "pics"))
async def photos(query: CallbackQuery, callback_data: RcCb, session: AsyncSession, role: Role,
                 account: TelegramAccount | None, settings: Settings, clock: Clock, bot: Bot) -> None:
    recipient = await _scoped(query, session, role, account, callback_data.rid)
    if recipient is None:
        return
    data = await load_card(session, recipient, now=clock.now(), settings=settings)
    if not data.album:
        await query.answer(_("There are no photos yet."), show_alert=True)
        return
    await query.answer()
    caption = _("Photos of {name}").format(name=html.escape(recipient.name))
    chat_id = _chat(query)
    if len(data.album) == 1:
        await bot.send_photo(chat_id, data.album[0], caption=caption)
    else:
        await bot.send_media_group(chat_id, [InputMediaPhoto(media=f, caption=caption if i == 0 else None)
                                             for i, f in enumerate(data.album)])


@router.callback_query(RcCb.filter(F.action == "visit"))
async def record_visit(query: CallbackQuery, callback_data: RcCb, state: FSMContext, session: AsyncSession,
                       role: Role, account: TelegramAccount | None, settings: Settings, clock: Clock, i18n: I18n,
                       bot: Bot) -> None:
    from conversations.visit import begin_visit
    from services.monitoring.visits import VisitRefusal, VisitRefused, card_refusal_of, check_can_visit

    try:
        recipient = await check_can_visit(session, role, account, callback_data.rid,
                                          callback_data.v if callback_data.v >= 0 else None)
    except VisitRefused as exc:
        if exc.reason is VisitRefusal.STALE:
            await query.answer(_("This card is out of date: a visit was recorded since. Here is the current card."),
                               show_alert=True)
            recipient = await session.get(Recipient, callback_data.rid)
            if recipient is not None and isinstance(query.message, Message):
                await send_card(bot, _chat(query), session, recipient, role=role, account=account,
                                settings=settings, clock=clock, i18n=i18n, edit_message_id=query.message.message_id)
            return
        reason = card_refusal_of(exc.reason)
        await query.answer(refusal_message(reason) if reason else _("Sorry, this is not available for you."),
                           show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        version = callback_data.v if callback_data.v >= 0 else None
        await begin_visit(query.message, state, recipient, session=session, version=version)


@router.callback_query(RcCb.filter(F.action == "plan"))
async def plan(query: CallbackQuery, callback_data: RcCb, session: AsyncSession, role: Role,
               account: TelegramAccount | None, settings: Settings, clock: Clock, bot: Bot) -> None:
    recipient = await _scoped(query, session, role, account, callback_data.rid)
    if recipient is None:
        return
    if worker_of(role, account) is None or recipient.aid_date is None:
        await query.answer(_("Sorry, this is not available for you."), show_alert=True)
        return
    await query.answer()
    today = clock.now().astimezone(settings.program.tz).date()
    days = [today + timedelta(days=i) for i in range(PLAN_HORIZON_DAYS)]
    buttons = [InlineKeyboardButton(text=day_label(d, today), callback_data=RcCb(
        action="pday", rid=recipient.id, arg=d.strftime("%Y%m%d")).pack()) for d in days]
    await bot.send_message(_chat(query), _("🗓 {name}: which day will you visit?").format(
        name=html.escape(recipient.name)),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[buttons[i:i + 2] for i in range(0, len(buttons), 2)]))


@router.callback_query(RcCb.filter(F.action == "pday"))
async def plan_chosen(query: CallbackQuery, callback_data: RcCb, session: AsyncSession, role: Role,
                      account: TelegramAccount | None, settings: Settings, clock: Clock) -> None:
    recipient = await _scoped(query, session, role, account, callback_data.rid)
    if recipient is None:
        return
    now = clock.now()
    today = now.astimezone(settings.program.tz).date()
    day = planned_day_from(callback_data.arg)
    if worker_of(role, account) is None or recipient.aid_date is None:
        await query.answer(_("Sorry, this is not available for you."), show_alert=True)
        return
    if day is None or not today <= day < today + timedelta(days=PLAN_HORIZON_DAYS):
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    await plan_day(session, recipient, day, now=now)
    assert account is not None
    audit(session, clock, actor=f"account:{account.id}", actor_account_id=account.id, action="visit.planned",
          target=f"recipient:{recipient.id}", details={"day": day.isoformat()})
    text = _("🗓 Visit to {name} planned for {day}.").format(name=html.escape(recipient.name),
                                                            day=long_date(day))
    await query.answer()
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_text(text)
