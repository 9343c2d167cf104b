"""A recipient's ways into the check-in: the 📋 main-menu button, /lapor, and the button under a reminder.

The conversation itself is ``conversations/checkin.py``. Only recipients reach these handlers (the role is
checked on the server for every update); ``begin_checkin`` then explains politely to anyone not yet active.
"""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.filters import ButtonText, RoleFilter
from bot.routing import Router
from conversations.checkin import CiCb, begin_checkin
from conversations.kept import Kept
from db.enums import Role
from db.models import TelegramAccount
from handlers.keyboards import MENU_REPORT

router = Router(name="recipient")
router.message.filter(RoleFilter(Role.RECIPIENT))
router.callback_query.filter(RoleFilter(Role.RECIPIENT))


@router.message(Command("lapor"))
@router.message(StateFilter(None, Kept.choose), ButtonText(MENU_REPORT))
async def open_from_menu(message: Message, state: FSMContext, account: TelegramAccount | None) -> None:
    await begin_checkin(message, state, account)


@router.callback_query(CiCb.filter(F.step == "open"))
async def open_from_reminder(query: CallbackQuery, state: FSMContext, account: TelegramAccount | None) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await begin_checkin(query.message, state, account)
