"""TKSK and PSM: /ringkasan, the report for their own kecamatan (the same summary and charts as /laporan,
scoped with ``ReportScope.of([worker.kecamatan_id])``). The kecamatan is read from the worker's record at every
command and button press, never from the button. Field workers get no exports."""

from __future__ import annotations

from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import WORKER_ROLES, RoleFilter
from bot.routing import Router
from db.enums import Role
from db.models import TelegramAccount
from handlers.report_views import WORKER_BREAKDOWNS, ReportCb, send_breakdown, send_report
from services.clock import Clock
from services.reports import ReportScope

router = Router(name="worker_reports")
# Every message handler here is for these roles: checked once, so other people's messages skip the router at once.
router.message.filter(RoleFilter(*WORKER_ROLES))


def _scope(role: Role, account: TelegramAccount | None) -> ReportScope | None:
    if role not in WORKER_ROLES or account is None or account.worker is None:
        return None
    return ReportScope.of([account.worker.kecamatan_id])


@router.message(Command("ringkasan"))
async def summary_command(
    message: Message, role: Role, account: TelegramAccount | None, bot: Bot, session: AsyncSession,
    settings: Settings, clock: Clock, i18n: I18n,
) -> None:
    scope = _scope(role, account)
    if scope is None:  # RoleFilter passed, so this cannot happen; never fall back to the whole province
        await message.answer(_("Sorry, that command is not available for you."))
        return
    await send_report(
        bot, message.chat.id, session, settings=settings, clock=clock, i18n=i18n,
        scope=scope, area="kec", breakdowns=WORKER_BREAKDOWNS,
    )


@router.callback_query(ReportCb.filter(F.area == "kec"))
async def summary_breakdown(
    query: CallbackQuery, callback_data: ReportCb, role: Role, account: TelegramAccount | None, bot: Bot,
    session: AsyncSession, settings: Settings, clock: Clock, i18n: I18n,
) -> None:
    scope = _scope(role, account)
    if scope is None:
        await query.answer(_("Sorry, this is not available for you."), show_alert=True)
        return
    if callback_data.breakdown not in WORKER_BREAKDOWNS:
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    await query.answer()
    await send_breakdown(
        bot, query.from_user.id, session, settings=settings, clock=clock, i18n=i18n,
        scope=scope, breakdown=callback_data.breakdown,
    )
