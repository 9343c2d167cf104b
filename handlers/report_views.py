"""How a report is shown in a chat: the summary text, the survival chart with breakdown buttons, and a
breakdown's chart(s). Shared by /laporan (Dissos staff, the whole province) and /ringkasan (TKSK and PSM, their
own kecamatan). The figures come from :mod:`services.reports`; this module only sends them.

Charts are drawn by matplotlib in a worker thread (one at a time: matplotlib is not thread-safe), so a big
report never blocks the event loop for other people; the person sees "sending a photo…" meanwhile.
"""

from __future__ import annotations

import asyncio
import html
import io
import threading
from collections.abc import Sequence

from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from aiogram.utils.chat_action import ChatActionSender
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from services.clock import Clock
from services.reports import Report, ReportScope, build_report, build_reports, render_charts, render_summary
from services.reports.summary import (
    BREAKDOWN_TITLES,
    Gettext,
    breakdown_heading,
    group_line,
    logrank_text,
    number,
)
from services.reports.tables import write_survival_table

SURVIVAL_EXPORT = "survival"  # /ekspor: the survival table (figures only, no personal data)
CAPTION_LIMIT = 1000  # Telegram allows 1024 characters (UTF-16 units) in a caption; keep a margin
TEXT_LIMIT = 4000  # of 4096 in a message
MAX_CHARTS = 10  # an album holds 2–10 photos

STAFF_BREAKDOWNS: tuple[str, ...] = ("business_type", "kabupaten", "kecamatan", "sex", "pkh", "tksk")
# In one kecamatan, kabupaten/kecamatan/TKSK would each be a single group: not worth a button.
WORKER_BREAKDOWNS: tuple[str, ...] = ("business_type", "sex", "pkh")

_RENDER_LOCK = threading.Lock()


class ReportCb(CallbackData, prefix="rpt"):
    """``rpt:<area>:<breakdown>``. ``area`` is ``all`` (staff) or ``kec`` (the worker's own kecamatan, looked
    up on the server at every press, never taken from the button)."""

    area: str
    breakdown: str


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fit(lines: Sequence[str], limit: int, *, reserve: int = 0) -> list[str]:
    """The first lines that fit, joined by newlines, in ``limit - reserve`` UTF-16 units."""
    out: list[str] = []
    used = 0
    for line in lines:
        cost = _units(line) + (1 if out else 0)
        if used + cost + reserve > limit:
            break
        out.append(line)
        used += cost
    return out


def breakdown_keyboard(area: str, breakdowns: Sequence[str]) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(text=_(BREAKDOWN_TITLES[b]), callback_data=ReportCb(area=area, breakdown=b).pack())
        for b in breakdowns
    ]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def _translator(i18n: I18n) -> tuple[Gettext, str]:
    locale = i18n.current_locale
    return (lambda message: i18n.gettext(message, locale=locale)), locale


def _render_locked(report: Report, gettext: Gettext, locale: str, max_charts: int) -> list[bytes]:
    with _RENDER_LOCK:
        return render_charts(report, gettext=gettext, locale=locale, max_charts=max_charts)


async def render_pngs(report: Report, gettext: Gettext, locale: str, max_charts: int = 3) -> list[bytes]:
    """The report's chart(s) as PNG bytes, drawn in a worker thread."""
    return await asyncio.to_thread(_render_locked, report, gettext, locale, max_charts)


def _file_name(report: Report, settings: Settings, suffix: str) -> str:
    day = report.generated_at.astimezone(settings.program.tz).date().isoformat()
    return f"uep-{suffix}-{day}.png"


def breakdown_caption(report: Report, gettext: Gettext, locale: str) -> str:
    """The breakdown's groups as short lines (the same as in the summary: figure with its interval, n,
    verdict, or "not enough data"), as many as fit in a photo caption, and the log-rank test (plain text)."""
    assert report.breakdown is not None
    head = breakdown_heading(report, gettext)
    lines = [group_line(report, group, gettext, locale) for group in report.groups]
    if not lines:
        lines.append(gettext("No recipients with aid yet."))
    test = logrank_text(report, gettext, locale) or ""
    tail = [test] if test else []
    if _units("\n".join([head, *lines, *tail])) <= CAPTION_LIMIT:
        return "\n".join([head, *lines, *tail])
    more = gettext("… and {count} more (see the chart or the export)")
    reserve = _units(head) + 1 + _units(more.format(count=number(len(lines), locale))) + 1
    reserve += sum(_units(t) + 1 for t in tail)
    kept = _fit(lines, CAPTION_LIMIT, reserve=reserve)
    return "\n".join([head, *kept, more.format(count=number(len(lines) - len(kept), locale)), *tail])


async def send_report(
    bot: Bot,
    chat_id: int,
    session: AsyncSession,
    *,
    settings: Settings,
    clock: Clock,
    i18n: I18n,
    scope: ReportScope,
    area: str,
    breakdowns: Sequence[str],
) -> Report:
    """The summary as a message, then the survival chart with one button per breakdown."""
    gettext, locale = _translator(i18n)
    async with ChatActionSender.upload_photo(chat_id=chat_id, bot=bot):
        report = await build_report(session, settings=settings, clock=clock, scope=scope)
        summary = _fit(render_summary(report, gettext, locale).split("\n"), TEXT_LIMIT)
        await bot.send_message(chat_id, html.escape("\n".join(summary)))
        png = (await render_pngs(report, gettext, locale, max_charts=1))[0]
        await bot.send_photo(
            chat_id,
            BufferedInputFile(png, filename=_file_name(report, settings, "laporan")),
            caption=html.escape(_("Businesses still running after aid. Choose a breakdown:")),
            reply_markup=breakdown_keyboard(area, breakdowns),
        )
    return report


async def send_breakdown(
    bot: Bot,
    chat_id: int,
    session: AsyncSession,
    *,
    settings: Settings,
    clock: Clock,
    i18n: I18n,
    scope: ReportScope,
    breakdown: str,
) -> Report:
    """A breakdown's chart(s): one photo, or an album of up to three when there are many groups."""
    gettext, locale = _translator(i18n)
    async with ChatActionSender.upload_photo(chat_id=chat_id, bot=bot):
        report = await build_report(session, settings=settings, clock=clock, scope=scope, breakdown=breakdown)
        pngs = await render_pngs(report, gettext, locale)
        caption = html.escape(breakdown_caption(report, gettext, locale))
        name = _file_name(report, settings, breakdown.replace("_", "-"))
        if len(pngs) == 1:
            await bot.send_photo(chat_id, BufferedInputFile(pngs[0], filename=name), caption=caption)
        else:
            await bot.send_media_group(
                chat_id,
                [
                    InputMediaPhoto(
                        media=BufferedInputFile(png, filename=name.replace(".png", f"-{i + 1}.png")),
                        caption=caption if i == 0 else None,
                    )
                    for i, png in enumerate(pngs[:MAX_CHARTS])
                ],
            )
    return report


async def write_survival_export(
    session: AsyncSession,
    *,
    settings: Settings,
    clock: Clock,
    i18n: I18n,
    fmt: str,
    breakdowns: Sequence[str],
    scope: ReportScope | None = None,
) -> tuple[bytes, int]:
    """The survival table (overall and every breakdown) as CSV or XLSX bytes, and its number of rows."""
    gettext, locale = _translator(i18n)
    reports = await build_reports(session, settings=settings, clock=clock, scope=scope, breakdowns=breakdowns)
    buf = io.BytesIO()
    rows = write_survival_table(reports, buf, fmt=fmt, gettext=gettext, locale=locale)  # type: ignore[arg-type]
    return buf.getvalue(), rows


__all__ = [
    "STAFF_BREAKDOWNS",
    "SURVIVAL_EXPORT",
    "WORKER_BREAKDOWNS",
    "ReportCb",
    "breakdown_caption",
    "breakdown_keyboard",
    "render_pngs",
    "send_breakdown",
    "send_report",
    "write_survival_export",
]
