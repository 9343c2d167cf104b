"""``/undang`` (admins only): invite a Dissos admin or caseworker by name, or a TKSK/PSM by NIK.

Every step is behind ``RoleFilter(Role.ADMIN)``, buttons included, so a caseworker, worker or recipient
pressing an old /undang button gets the stale-button answer and nothing is created.
"""

from __future__ import annotations

import contextlib
import html

from aiogram import Bot, F
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import RoleFilter
from bot.routing import Router
from db.enums import InvitationKind, Role, StaffRole
from db.models import FieldWorker, TelegramAccount
from handlers.invitation_messages import send_invitation
from services.clock import Clock
from services.crypto import NikCipher
from services.invitations import create_invitation
from services.onboarding.identity import parse_nik

router = Router(name="staff_invites")
router.message.filter(RoleFilter(Role.ADMIN))
router.callback_query.filter(RoleFilter(Role.ADMIN))


class UndangCb(CallbackData, prefix="und"):
    who: str  # admin | caseworker | worker


class Undang(StatesGroup):
    staff_name = State()  # data: role
    worker_nik = State()


@router.message(Command("undang"))
async def undang(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(
        _("Whom do you want to invite?"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[
            [InlineKeyboardButton(text=_("👤 Dinas Sosial admin"), callback_data=UndangCb(who="admin").pack()),
             InlineKeyboardButton(text=_("👤 Dinas Sosial caseworker"),
                                  callback_data=UndangCb(who="caseworker").pack())],
            [InlineKeyboardButton(text=_("🧑‍🤝‍🧑 TKSK or PSM (by NIK)"), callback_data=UndangCb(who="worker").pack())],
        ]),
    )


@router.callback_query(UndangCb.filter())
async def undang_choice(query: CallbackQuery, callback_data: UndangCb, state: FSMContext) -> None:
    if not isinstance(query.message, Message) or callback_data.who not in ("admin", "caseworker", "worker"):
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    await query.answer()
    with contextlib.suppress(TelegramAPIError):
        await query.message.edit_reply_markup(reply_markup=None)
    if callback_data.who == "worker":
        await state.set_state(Undang.worker_nik)
        await query.message.answer(_("Type the NIK of the TKSK or PSM (as on the worker list). /batal to stop."))
        return
    await state.set_state(Undang.staff_name)
    await state.set_data({"role": callback_data.who})
    await query.message.answer(_("Type the full name of the new colleague. /batal to stop."))


@router.message(StateFilter(Undang.staff_name), F.text, ~F.text.startswith("/"))
async def staff_name(
    message: Message, state: FSMContext, account: TelegramAccount, session: AsyncSession, settings: Settings,
    clock: Clock, bot: Bot,
) -> None:
    name = " ".join((message.text or "").split())
    if not 2 <= len(name) <= 200:
        await message.answer(_("Please type a name of 2 to 200 characters."))
        return
    role = StaffRole((await state.get_data()).get("role", StaffRole.CASEWORKER))
    await state.clear()
    new = await create_invitation(
        session, settings=settings, clock=clock, kind=InvitationKind.STAFF, staff_role=role, staff_name=name,
        created_by_account_id=account.id, actor=f"account:{account.id}",
    )
    label = _("Dinas Sosial admin") if role is StaffRole.ADMIN else _("Dinas Sosial caseworker")
    await send_invitation(message, bot, new, who=f"{html.escape(name)} ({label})", settings=settings)


@router.message(StateFilter(Undang.worker_nik), F.text, ~F.text.startswith("/"))
async def worker_nik(
    message: Message, state: FSMContext, account: TelegramAccount, session: AsyncSession, settings: Settings,
    clock: Clock, cipher: NikCipher, bot: Bot,
) -> None:
    nik = parse_nik(message.text or "")
    with contextlib.suppress(TelegramAPIError):
        await message.delete()  # the NIK should not stay in the chat
    if nik is None:
        await message.answer(_("A NIK has exactly 16 digits. Please type it again, or /batal to stop."))
        return
    worker = await session.scalar(select(FieldWorker).where(FieldWorker.nik_hash == cipher.blind_index(nik)))
    if worker is None or not worker.active:
        await message.answer(_("There is no active TKSK or PSM with this NIK on the worker list. Check the NIK, or "
                               "import the worker list first (uep import workers)."))
        return
    await state.clear()
    linked = await session.scalar(select(TelegramAccount.id).where(TelegramAccount.worker_id == worker.id))
    if linked is not None:
        await message.answer(_("{name} is already registered in the bot.").format(name=html.escape(worker.name)))
        return
    new = await create_invitation(
        session, settings=settings, clock=clock, kind=InvitationKind.WORKER, worker=worker,
        created_by_account_id=account.id, actor=f"account:{account.id}",
    )
    who = f"{html.escape(worker.name)} ({worker.role.upper()}, {html.escape(worker.kecamatan.name)})"
    await send_invitation(message, bot, new, who=who, settings=settings)
