"""Reports: the survival figures of /laporan with the same rules and wording (interval, number observed,
minimum, verdict against 46%, unknowns), breakdowns and the log-rank test, the chart, the operations figures,
a table per TKSK, and CSV/XLSX downloads (audited). A TKSK sees their own kecamatan."""

from __future__ import annotations

import asyncio
import io

from aiogram.utils.i18n import gettext
from aiohttp import web

from db.models import Staff
from services.clock import FrozenClock
from services.exports import export_table
from services.reports.breakdowns import BREAKDOWNS
from services.reports.charts import render_charts
from services.reports.per_tksk import per_tksk
from services.reports.report import ReportScope, build_report
from services.reports.summary import breakdown_heading, data_range, group_line, logrank_text, survival_lines
from web.app import render
from web.forms import checked_form, viewer_of
from web.keys import CTX, DB, LOCALE, NOW

routes = web.RouteTableDef()
EXPORTS = ("recipients", "checkins", "cases")
FORMATS = ("csv", "xlsx")


def _scope(request: web.Request) -> ReportScope:
    viewer = viewer_of(request)
    return ReportScope.of([viewer.kecamatan_id]) if viewer.kecamatan_id is not None else ReportScope()


def _breakdown(request: web.Request) -> str | None:
    by = request.query.get("by") or None
    return by if by in BREAKDOWNS else None


@routes.get("/reports")
async def reports_page(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    locale = request[LOCALE]
    by = _breakdown(request)
    scope = _scope(request)
    report = await build_report(request[DB], settings=ctx.settings, clock=FrozenClock(request[NOW]), scope=scope,
                                breakdown=by)
    tz = ctx.settings.program.tz
    rows = await per_tksk(request[DB], now=request[NOW], tz=tz, tzname=ctx.settings.program.timezone,
                          kecamatan_ids=list(scope.kecamatan_ids) if scope.kecamatan_ids is not None else None)
    return render(request, "reports.html", {
        "report": report, "by": by, "breakdowns": list(BREAKDOWNS.values()),
        "survival": survival_lines(report, gettext, locale),
        "range": data_range(report, gettext, locale),
        "heading": breakdown_heading(report, gettext) if by else None,
        "groups": [group_line(report, g, gettext, locale).lstrip("• ") for g in report.groups] if by else [],
        "logrank": logrank_text(report, gettext, locale) if by else None,
        "tksk_rows": rows, "exports": EXPORTS, "formats": FORMATS,
    })


@routes.get("/reports/chart.png")
async def chart(request: web.Request) -> web.Response:
    """The survival chart of the page (the same figure /laporan sends), drawn off the event loop."""
    ctx = request.app[CTX]
    report = await build_report(request[DB], settings=ctx.settings, clock=FrozenClock(request[NOW]),
                                scope=_scope(request), breakdown=_breakdown(request))
    pngs = await asyncio.to_thread(render_charts, report, gettext=gettext, locale=request[LOCALE], max_charts=1)
    return web.Response(body=pngs[0], content_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@routes.post("/reports/export")
async def download(request: web.Request) -> web.StreamResponse:
    """A CSV or XLSX export, NIK masked (staff only; the export writes its own audit entry)."""
    form = await checked_form(request)
    viewer = viewer_of(request)
    viewer.require_staff()
    kind, fmt = str(form.get("kind", "")), str(form.get("format", ""))
    if kind not in EXPORTS or fmt not in FORMATS:
        raise web.HTTPNotFound()
    ctx = request.app[CTX]
    staff = await request[DB].get(Staff, viewer.staff_id)
    out = io.BytesIO()
    await export_table(request[DB], kind, out, fmt=fmt, settings=ctx.settings, cipher=ctx.cipher,  # type: ignore[arg-type]
                       clock=FrozenClock(request[NOW]), actor=staff, actor_account_id=viewer.account_id,
                       lang=request[LOCALE])
    stamp = request[NOW].astimezone(ctx.settings.program.tz).strftime("%Y%m%d-%H%M")
    mime = "text/csv; charset=utf-8" if fmt == "csv" else (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return web.Response(body=out.getvalue(), headers={
        "Content-Type": mime, "Content-Disposition": f'attachment; filename="uep-{kind}-{stamp}.{fmt}"',
        "Cache-Control": "no-store",
    })
