"""/antrian: the Dissos case queue, and the queue's buttons (pages, filters, opening a case) for /kasus too.

One message is edited in place: pages, filter menus and an opened case (with a button back to the same page).
The scope comes from the presser's account on the server: Dissos staff see everything (filters from the
button), a TKSK only their own kecamatan whatever the button says, anyone else nothing.
"""

from __future__ import annotations

import contextlib

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import STAFF_ROLES, RoleFilter
from bot.routing import Router
from db.enums import Role
from db.models import Case, TelegramAccount
from handlers.case_cards import message_of, refuse, show_card
from services.cases.queue import QueueFilter, kabupaten_with_open_cases, list_queue
from services.cases.transitions import Action, Actor, CaseActionRefused, check
from services.cases.views import QueueCb, filter_keyboard, queue_keyboard, queue_text
from services.clock import Clock
from services.monitoring.risk import risk_lines

router = Router(name="staff_queue")
# Every message handler here is for these roles: checked once, so other people's messages skip the router at once.
router.message.filter(RoleFilter(*STAFF_ROLES))


def _title(role: Role, account: TelegramAccount | None) -> str:
    if role is Role.TKSK and account is not None and account.worker is not None:
        return _("Open cases in {kecamatan}").format(kecamatan=account.worker.kecamatan.name)
    return _("Dinas Sosial case queue")


@router.message(Command("antrian"))
async def queue_command(message: Message, session: AsyncSession, settings: Settings, clock: Clock,
                        role: Role, account: TelegramAccount) -> None:
    now = clock.now()
    page = await list_queue(session, now=now, page_size=settings.cases.page_size)
    risks = await risk_lines(session, (i.case.recipient_id for i in page.items), now=now, settings=settings)
    await message.answer(queue_text(page, now=now, settings=settings, title=_title(role, account), risks=risks),
                         reply_markup=queue_keyboard(page, with_filters=True))


@router.callback_query(QueueCb.filter())
async def queue_button(
    query: CallbackQuery,
    callback_data: QueueCb,
    session: AsyncSession,
    account: TelegramAccount | None,
    role: Role,
    settings: Settings,
    clock: Clock,
    bot: Bot,
    i18n: I18n,
) -> None:
    if role.is_staff:
        filters = callback_data.filters()
    elif role is Role.TKSK and account is not None and account.worker is not None:
        filters = QueueFilter(kecamatan_id=account.worker.kecamatan_id)  # never another kecamatan
    else:
        await query.answer(_("Sorry, this action is not available for you."), show_alert=True)
        return
    msg = message_of(query)
    now = clock.now()
    op = callback_data.op

    if op == "o":
        case = await session.get(Case, callback_data.case_id)
        actor = Actor.of(account)
        try:
            check(case, Action.CALL, actor)  # the right to see the case
        except CaseActionRefused as exc:
            await refuse(query, exc, settings)
            return
        assert case is not None
        await query.answer()
        back = InlineKeyboardButton(
            text=_("⬅️ Back to the list"), callback_data=QueueCb.of("p", filters, callback_data.page).pack()
        )
        chat_id = msg.chat.id if msg else query.from_user.id
        await show_card(bot, chat_id, session, case, actor, settings=settings, i18n=i18n, now=now,
                        edit_message_id=msg.message_id if msg else None, back=back)
        return

    if op == "f" and role.is_staff and callback_data.arg in ("kab", "kind", "state"):
        kabupaten = await kabupaten_with_open_cases(session) if callback_data.arg == "kab" else ()
        await query.answer()
        if msg is not None:
            with contextlib.suppress(TelegramBadRequest):
                await msg.edit_reply_markup(reply_markup=filter_keyboard(filters, callback_data.arg, kabupaten))
        return

    if op != "p":
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    page = await list_queue(session, now=now, filters=filters, page=callback_data.page,
                            page_size=settings.cases.page_size)
    await query.answer()
    risks = await risk_lines(session, (i.case.recipient_id for i in page.items), now=now, settings=settings)
    text = queue_text(page, now=now, settings=settings, title=_title(role, account), risks=risks)
    keyboard = queue_keyboard(page, with_filters=role.is_staff)
    if msg is None:
        await bot.send_message(query.from_user.id, text, reply_markup=keyboard)
        return
    with contextlib.suppress(TelegramBadRequest):  # "message is not modified" after 🔄 with nothing new
        await msg.edit_text(text, reply_markup=keyboard)
