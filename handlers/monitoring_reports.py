"""``/pemantauan``: monitoring figures (visit coverage, assisted check-ins, risk distribution, time from "visit
planned" to the visit) for Dinas Sosial (the province) and for a TKSK or PSM (their kecamatan only)."""

from __future__ import annotations

from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import RoleFilter
from bot.routing import Router
from db.enums import Role
from db.models import TelegramAccount
from services.clock import Clock
from services.monitoring.card import worker_of
from services.monitoring.reports import monitoring_report, report_text

router = Router(name="monitoring_reports")
router.message.filter(RoleFilter(Role.TKSK, Role.PSM, Role.CASEWORKER, Role.ADMIN))


@router.message(Command("pemantauan"))
async def pemantauan(message: Message, session: AsyncSession, role: Role, account: TelegramAccount | None,
                     settings: Settings, clock: Clock) -> None:
    kecamatan_id = None
    if not role.is_staff:
        worker = worker_of(role, account)
        if worker is None:
            await message.answer(_("Sorry, that command is not available for you."))
            return
        kecamatan_id = worker.kecamatan_id  # never another kecamatan's figures
    report = await monitoring_report(session, now=clock.now(), settings=settings, kecamatan_id=kecamatan_id)
    await message.answer(report_text(report, settings=settings))
