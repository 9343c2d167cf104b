"""/kasus (a TKSK's open cases) and the buttons of a case card, for whoever presses them.

A card's buttons (``case:<action>:<id>:<arg>``) reach this router from any role: who may do what is decided by
the state machine on the server (:mod:`services.cases.transitions`), from the presser's account, never from the
button. A recipient pressing a TKSK button, a TKSK of another kecamatan, a PSM, a forged case id or a button
of a state long gone get an explanation and change nothing.
"""

from __future__ import annotations

import contextlib
import html
from datetime import date, datetime

from aiogram import Bot, F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import RoleFilter
from bot.messenger import Messenger
from bot.routing import Router
from conversations.case_note import NOTE_ACTIONS, ask_for_note
from db.enums import Role, StaffRole
from db.models import Case, Staff, TelegramAccount
from handlers.case_cards import back_button_of, message_of, refuse, show_card
from services.cases.actions import perform
from services.cases.notify import card_context, render_card, send_media
from services.cases.queue import QueueFilter, list_queue
from services.cases.transitions import SYSTEM_ACTIONS, Action, Actor, CaseActionRefused, Refusal, check, history
from services.cases.views import (
    CaseCb,
    history_text,
    queue_keyboard,
    queue_text,
    visit_days_keyboard,
    visit_more_days_keyboard,
)
from services.clock import Clock
from services.monitoring.risk import risk_lines

router = Router(name="worker_cases")
# Every message handler here is for these roles: checked once, so other people's messages skip the router at once.
router.message.filter(RoleFilter(Role.TKSK))


@router.message(Command("kasus"))
async def my_kecamatan_cases(
    message: Message, session: AsyncSession, account: TelegramAccount, settings: Settings, clock: Clock
) -> None:
    worker = account.worker
    assert worker is not None
    now = clock.now()
    page = await list_queue(session, now=now, filters=QueueFilter(kecamatan_id=worker.kecamatan_id),
                            page_size=settings.cases.page_size)
    title = _("Open cases in {kecamatan}").format(kecamatan=worker.kecamatan.name)
    risks = await risk_lines(session, (i.case.recipient_id for i in page.items), now=now, settings=settings)
    await message.answer(queue_text(page, now=now, settings=settings, title=title, risks=risks),
                         reply_markup=queue_keyboard(page, with_filters=False))


def _visit_day(arg: str) -> date | None:
    try:
        return datetime.strptime(arg, "%Y%m%d").date()
    except ValueError:
        return None


def _done_text(action: Action, number: str) -> str:
    texts = {
        Action.TAKE: _("✋ You took case {number}. The recipient has been told."),
        Action.CLAIM: _("✋ You claimed case {number}."),
        Action.PLAN_VISIT: _("🏠 Visit planned for case {number}. The recipient has been told."),
        Action.ESCALATE: _("⏫ Case {number} was passed to Dinas Sosial."),
        Action.ASK_UPDATE: _("❓ The TKSK was asked for an update on case {number}."),
        Action.REASSIGN: _("🔀 Case {number} was reassigned."),
    }
    return texts.get(action, _("Done.")).format(number=number)


async def _caseworkers(session: AsyncSession, exclude_staff_id: int | None) -> list[Staff]:
    query = select(Staff).where(
        Staff.active.is_(True), Staff.role.in_([StaffRole.CASEWORKER.value, StaffRole.ADMIN.value])
    ).order_by(Staff.name)
    return [s for s in await session.scalars(query) if s.id != exclude_staff_id]


@router.callback_query(CaseCb.filter(F.action != Action.REOPEN.value))
async def case_button(
    query: CallbackQuery,
    callback_data: CaseCb,
    state: FSMContext,
    session: AsyncSession,
    account: TelegramAccount | None,
    settings: Settings,
    clock: Clock,
    messenger: Messenger,
    bot: Bot,
    i18n: I18n,
) -> None:
    actor = Actor.of(account)
    now = clock.now()
    msg = message_of(query)
    chat_id = msg.chat.id if msg else (account.chat_id if account else query.from_user.id)
    back = back_button_of(msg.reply_markup if msg else None)
    case = await session.get(Case, callback_data.case_id)
    name = callback_data.action

    # Looking, not changing: history and media follow the right to see the phone number.
    if name in ("card", "hist", "media"):
        try:
            check(case, Action.CALL, actor)
        except CaseActionRefused as exc:
            await refuse(query, exc, settings)
            return
        assert case is not None
        await query.answer()
        if name == "card":  # back from a question asked on the card
            if msg is not None:
                await show_card(bot, chat_id, session, case, actor, settings=settings, i18n=i18n, now=now,
                                edit_message_id=msg.message_id, back=back)
        elif name == "hist":
            await bot.send_message(chat_id, history_text(case, await history(session, case.id), settings))
        elif account is not None:
            ctx = await card_context(session, case, last_events=0)
            await send_media(messenger, account, voice_file_ids=[case.voice_file_id] if case.voice_file_id else [],
                             photo_file_ids=ctx.photo_ids, caption=_("Case {number}").format(number=case.number),
                             video_note_file_ids=[case.video_note_file_id] if case.video_note_file_id else [])
        return

    if name not in Action._value2member_map_ or Action(name) in SYSTEM_ACTIONS:
        await refuse(query, CaseActionRefused(Refusal.ROLE, case), settings)
        return
    action = Action(name)
    try:
        check(case, action, actor)
    except CaseActionRefused as exc:
        await refuse(query, exc, settings)
        if exc.reason is Refusal.STATE and msg is not None and case is not None:
            # A stale card: show what the case looks like now.
            await show_card(bot, chat_id, session, case, actor, settings=settings, i18n=i18n, now=now,
                            edit_message_id=msg.message_id, back=back)
        return
    assert case is not None
    today = now.astimezone(settings.program.tz).date()

    # Steps that need one more answer first: asked on the card itself (its buttons become the choices, with a way
    # back), so the chat never holds the card in one state and a picker for another.
    if action is Action.PLAN_VISIT and callback_data.arg in ("", "more"):
        await query.answer()
        keyboard = (visit_more_days_keyboard if callback_data.arg == "more" else visit_days_keyboard)(case.id, today)
        await _ask_on_card(bot, chat_id, msg, session, case, actor, settings, i18n, now, back, keyboard,
                           _("🏠 Case {number}: which day will you visit?").format(number=html.escape(case.number)))
        return
    if action is Action.REASSIGN and not callback_data.arg:
        await query.answer()
        people = await _caseworkers(session, case.owner_staff_id)
        if not people:
            await bot.send_message(chat_id, _("There is no other caseworker to pass it to."))
            return
        buttons = [[InlineKeyboardButton(text=p.name[:60], callback_data=CaseCb(
            action=Action.REASSIGN.value, case_id=case.id, arg=str(p.id)).pack())] for p in people[:20]]
        await _ask_on_card(bot, chat_id, msg, session, case, actor, settings, i18n, now, back,
                           InlineKeyboardMarkup(inline_keyboard=buttons),
                           _("🔀 Case {number}: to whom?").format(number=html.escape(case.number)))
        return
    if action in NOTE_ACTIONS:
        await query.answer()
        if msg is not None:
            await ask_for_note(msg, state, case=case, action=action, card_message_id=msg.message_id,
                               back=back.model_dump(exclude_none=True) if back else None)
        return

    visit_on = _visit_day(callback_data.arg) if action is Action.PLAN_VISIT else None
    target = None
    if action is Action.REASSIGN:
        target = int(callback_data.arg) if callback_data.arg.isdigit() else None
    try:
        applied = await perform(session, messenger, case.id, action, actor, now=now, settings=settings,
                                visit_on=visit_on, target_staff_id=target,
                                shown_in=(chat_id, msg.message_id) if msg is not None else None)
    except CaseActionRefused as exc:
        await refuse(query, exc, settings)
        return

    if action is Action.CALL:
        await query.answer()
        phone = applied.case.recipient.phone if applied.case.recipient else None
        name_ = html.escape(applied.case.recipient.name) if applied.case.recipient else "-"
        if phone:
            text = _("📞 {name}: {phone}").format(name=name_, phone=html.escape(phone))
        else:
            text = _("📞 {name} has no phone number on record.").format(name=name_)
        await bot.send_message(chat_id, text)
        return

    await query.answer(_done_text(action, applied.case.number)[:200])
    if msg is not None:
        # The card it was pressed on (the day or person was chosen on the card itself) shows the new state.
        picked = action in (Action.PLAN_VISIT, Action.REASSIGN)
        await show_card(bot, chat_id, session, applied.case, actor, settings=settings, i18n=i18n, now=now,
                        edit_message_id=msg.message_id, back=back,
                        header=_done_text(action, html.escape(applied.case.number)) if picked else None)


async def _ask_on_card(
    bot: Bot, chat_id: int, msg: Message | None, session: AsyncSession, case: Case, actor: Actor,
    settings: Settings, i18n: I18n, now: datetime, back: InlineKeyboardButton | None,
    choices: InlineKeyboardMarkup, question: str,
) -> None:
    """The card asks the question: its text under the question, the choices as its buttons, then "back to the
    case" (and the queue's back button when it came from a list)."""
    rows = [*choices.inline_keyboard, [InlineKeyboardButton(
        text=_("↩️ Back to the case"), callback_data=CaseCb(action="card", case_id=case.id).pack())]]
    if back is not None:
        rows.append([back])
    text, _keyboard, _ctx = await render_card(session, case, actor, now=now, settings=settings,
                                              locale=i18n.current_locale, header=question)
    markup = InlineKeyboardMarkup(inline_keyboard=rows)
    if msg is not None:
        with contextlib.suppress(TelegramBadRequest):
            await bot.edit_message_text(text=text, chat_id=chat_id, message_id=msg.message_id, reply_markup=markup)
            return
    await bot.send_message(chat_id, text, reply_markup=markup)
