"""A recipient's side of cases: 🆘 / /kendala starts a problem report, 📂 / /status lists their cases in plain
words, and "Still a problem" reopens a resolved one."""

from __future__ import annotations

import html
from typing import Any

from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy import case as sql_case
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import ButtonText, RoleFilter
from bot.messenger import Messenger
from bot.routing import Router
from conversations.obstacle import begin_obstacle_report
from db.enums import Role
from db.models import Case, TelegramAccount
from handlers.case_cards import message_of, refuse
from handlers.keyboards import MENU_PROBLEM, MENU_STATUS
from services.cases.actions import perform
from services.cases.transitions import OPEN_STATES, Action, Actor, CaseActionRefused
from services.cases.views import CaseCb, status_keyboard, status_text
from services.clock import Clock
from services.dates import long_date
from services.schedule import open_due

router = Router(name="recipient_cases")
# Every message handler here is for these roles: checked once, so other people's messages skip the router at once.
router.message.filter(RoleFilter(Role.RECIPIENT))
STATUS_LIMIT = 10


@router.message(Command("kendala"))
@router.message(ButtonText(MENU_PROBLEM))
async def report_problem(message: Message, state: FSMContext, **data: Any) -> None:
    await begin_obstacle_report(message, state, **data)


async def recipient_cases(session: AsyncSession, recipient_id: int) -> list[Case]:
    """Open cases first, then the latest others."""
    open_first = sql_case((Case.state.in_([s.value for s in OPEN_STATES]), 0), else_=1)
    return list(await session.scalars(
        select(Case).where(Case.recipient_id == recipient_id).order_by(open_first, Case.id.desc()).limit(STATUS_LIMIT)
    ))


@router.message(Command("status"))
@router.message(ButtonText(MENU_STATUS))
async def my_status(
    message: Message, session: AsyncSession, account: TelegramAccount, settings: Settings, clock: Clock
) -> None:
    recipient = account.recipient
    assert recipient is not None
    now = clock.now()
    cases = await recipient_cases(session, recipient.id)
    text = status_text(cases, now, settings)
    due = await open_due(session, recipient.id)
    if due is not None:
        day = long_date(due.due_at.astimezone(settings.program.tz).date())
        text += "\n\n" + _("📋 Your next business report is due on {day}.").format(day=day)
    await message.answer(text, reply_markup=status_keyboard(cases, Actor.of(account), now, settings))


@router.callback_query(CaseCb.filter(F.action == Action.REOPEN.value))
async def still_a_problem(
    query: CallbackQuery,
    callback_data: CaseCb,
    session: AsyncSession,
    account: TelegramAccount | None,
    settings: Settings,
    clock: Clock,
    messenger: Messenger,
    bot: Bot,
) -> None:
    try:
        applied = await perform(session, messenger, callback_data.case_id, Action.REOPEN, Actor.of(account),
                                now=clock.now(), settings=settings)
    except CaseActionRefused as exc:
        await refuse(query, exc, settings)
        return
    await query.answer()
    msg = message_of(query)
    if msg is not None:
        await msg.edit_reply_markup(reply_markup=None)
    text = _("⚠️ Case <b>{number}</b> is opened again. Your TKSK has been told and will contact you.").format(
        number=html.escape(applied.case.number))
    await bot.send_message(msg.chat.id if msg else query.from_user.id, text)
