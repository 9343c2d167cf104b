"""Dissos staff (admin, caseworker): /laporan, the program report with breakdown charts, and /ekspor, data
exports as CSV or XLSX documents.

Every button is checked again on the server: a recipient, TKSK or PSM pressing an old or forged staff button
is refused with an alert, and full NIKs are exported only for an admin (and audited by
:mod:`services.exports`).
"""

from __future__ import annotations

import html
import tempfile
from pathlib import Path

from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.chat_action import ChatActionSender
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import STAFF_ROLES, RoleFilter
from bot.i18n import N_
from bot.routing import Router
from db.enums import Role
from db.models import TelegramAccount
from handlers.report_views import (
    STAFF_BREAKDOWNS,
    SURVIVAL_EXPORT,
    ReportCb,
    send_breakdown,
    send_report,
    write_survival_export,
)
from services.clock import Clock
from services.crypto import NikCipher
from services.exports import EXPORT_KINDS, ExportNotAllowed, export_table
from services.reports import ReportScope
from services.reports.report import ZONE_ABBREVIATIONS
from services.reports.summary import number

router = Router(name="staff_reports")
# Every message handler here is for these roles: checked once, so other people's messages skip the router at once.
router.message.filter(RoleFilter(*STAFF_ROLES))

EXPORT_TITLES = {
    "recipients": N_("Recipients"),
    "checkins": N_("Check-ins"),
    "cases": N_("Cases"),
    SURVIVAL_EXPORT: N_("Survival figures"),
}
EXPORT_FORMATS = ("csv", "xlsx")
_MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ExportCb(CallbackData, prefix="exp"):
    """``exp:<kind>:<fmt>:<full>``; ``fmt`` is ``-`` while the format is still to be chosen."""

    kind: str
    fmt: str = "-"
    full: int = 0


async def _refuse(query: CallbackQuery) -> None:
    await query.answer(_("Sorry, this is not available for you."), show_alert=True)


# --- /laporan --------------------------------------------------------------------------------------------------
@router.message(Command("laporan"))
async def report_command(
    message: Message, bot: Bot, session: AsyncSession, settings: Settings, clock: Clock, i18n: I18n
) -> None:
    await send_report(
        bot, message.chat.id, session, settings=settings, clock=clock, i18n=i18n,
        scope=ReportScope(), area="all", breakdowns=STAFF_BREAKDOWNS,
    )


@router.callback_query(ReportCb.filter(F.area == "all"))
async def report_breakdown(
    query: CallbackQuery, callback_data: ReportCb, role: Role, bot: Bot, session: AsyncSession,
    settings: Settings, clock: Clock, i18n: I18n,
) -> None:
    if role not in STAFF_ROLES:
        await _refuse(query)
        return
    if callback_data.breakdown not in STAFF_BREAKDOWNS:
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    await query.answer()
    await send_breakdown(
        bot, query.from_user.id, session, settings=settings, clock=clock, i18n=i18n,
        scope=ReportScope(), breakdown=callback_data.breakdown,
    )


# --- /ekspor ---------------------------------------------------------------------------------------------------
def kinds_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=_(EXPORT_TITLES[k]), callback_data=ExportCb(kind=k).pack())]
            for k in (*EXPORT_KINDS, SURVIVAL_EXPORT)
        ]
    )


def formats_keyboard(kind: str, role: Role) -> InlineKeyboardMarkup:
    rows = [[
        InlineKeyboardButton(text=fmt.upper(), callback_data=ExportCb(kind=kind, fmt=fmt).pack())
        for fmt in EXPORT_FORMATS
    ]]
    if role is Role.ADMIN:
        rows.append([
            InlineKeyboardButton(
                text=_("{format}, full NIK").format(format=fmt.upper()),
                callback_data=ExportCb(kind=kind, fmt=fmt, full=1).pack(),
            )
            for fmt in EXPORT_FORMATS
        ])
    return InlineKeyboardMarkup(inline_keyboard=rows)


@router.message(Command("ekspor"))
async def export_command(message: Message) -> None:
    await message.answer(
        _("What do you want to export? NIKs are masked (first and last four digits)."),
        reply_markup=kinds_keyboard(),
    )


@router.callback_query(ExportCb.filter())
async def export_choice(
    query: CallbackQuery, callback_data: ExportCb, role: Role, account: TelegramAccount | None, bot: Bot,
    session: AsyncSession, settings: Settings, clock: Clock, cipher: NikCipher, i18n: I18n,
) -> None:
    if role not in STAFF_ROLES or account is None or account.staff is None:
        await _refuse(query)
        return
    kind, fmt = callback_data.kind, callback_data.fmt
    if kind not in (*EXPORT_KINDS, SURVIVAL_EXPORT) or fmt not in (*EXPORT_FORMATS, "-"):
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    if fmt == "-":
        await query.answer()
        if isinstance(query.message, Message):
            text = _("{title}: choose the file format.").format(title=_(EXPORT_TITLES[kind]))
            if role is Role.ADMIN and kind != SURVIVAL_EXPORT:
                text += "\n" + _("Exports with full NIKs are recorded in the audit log.")
            keyboard = formats_keyboard(kind, Role.CASEWORKER if kind == SURVIVAL_EXPORT else role)
            await query.message.edit_text(html.escape(text), reply_markup=keyboard)
        return
    full = bool(callback_data.full)
    if full and role is not Role.ADMIN:
        await query.answer(_("Only an admin may export full NIKs."), show_alert=True)
        return

    chat_id = query.from_user.id
    day = clock.now().astimezone(settings.program.tz).date().isoformat()
    if kind == SURVIVAL_EXPORT:  # figures only, no personal data: no NIK question, nothing to audit
        await query.answer(_("Preparing the file…"))
        async with ChatActionSender.upload_document(chat_id=chat_id, bot=bot):
            data, rows = await write_survival_export(
                session, settings=settings, clock=clock, i18n=i18n, fmt=fmt, breakdowns=STAFF_BREAKDOWNS
            )
            caption = _("{title}: {rows} rows, times in {zone}.").format(
                title=_(EXPORT_TITLES[kind]),
                rows=number(rows, i18n.current_locale),
                zone=ZONE_ABBREVIATIONS.get(settings.program.timezone, settings.program.timezone),
            )
            await bot.send_document(
                chat_id,
                BufferedInputFile(data, filename=f"uep-survival-{day}.{fmt}"),
                caption=html.escape(caption),
            )
        return
    name = f"uep-{kind}{'-full-nik' if full else ''}-{day}.{fmt}"
    await query.answer(_("Preparing the file…"))
    with tempfile.TemporaryDirectory(prefix="uep-export-") as folder:
        path = Path(folder) / name
        async with ChatActionSender.upload_document(chat_id=chat_id, bot=bot):
            try:
                with path.open("wb") as out:
                    result = await export_table(
                        session, kind, out, fmt=fmt,  # type: ignore[arg-type]
                        settings=settings, cipher=cipher, clock=clock, full_nik=full,
                        actor=account.staff, actor_account_id=account.id,
                        lang="en" if i18n.current_locale == "en" else "id",  # the staff member's language
                    )
            except ExportNotAllowed:
                await bot.send_message(chat_id, html.escape(_("Only an admin may export full NIKs.")))
                return
            caption = _("{title}: {rows} rows, times in {zone}.").format(
                title=_(EXPORT_TITLES[kind]),
                rows=number(result.rows, i18n.current_locale),
                zone=ZONE_ABBREVIATIONS.get(settings.program.timezone, settings.program.timezone),
            )
            caption += "\n" + (
                _("Full NIKs: keep this file safe and delete it when done. This export was recorded.")
                if full
                else _("NIKs are masked.")
            )
            await bot.send_document(chat_id, FSInputFile(path, filename=name), caption=html.escape(caption))
