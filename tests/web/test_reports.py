"""Reports on the desk: the same survival wording and rules as /laporan, the chart, the per-TKSK table and
audited downloads; a TKSK sees their own kecamatan and downloads nothing."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import select

from bot.context import AppContext
from db.models import AuditLog
from services.clock import FrozenClock
from services.reports.report import build_report
from services.reports.summary import survival_lines, translator
from tests.web.conftest import Desk, People, World, csrf_of


async def test_the_report_page_says_what_laporan_says(desk: Desk, people: People, world: World,
                                                      ctx: AppContext) -> None:
    async with ctx.session_factory() as s:
        report = await build_report(s, settings=ctx.settings, clock=FrozenClock(ctx.clock.now()))
    expected = [line for line in survival_lines(report, translator("id"), "id") if line]
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get("/reports", params={"by": "business_type"}) as page:
            html = await page.text()
        import html as html_lib

        for line in expected:
            assert html_lib.escape(line) in html, line
        assert "Palaran" in html and "Nurhayati" in html  # the per-TKSK table
        async with client.get("/reports/chart.png", params={"by": "business_type"}) as image:
            data = await image.read()
            assert image.status == 200 and data[:8] == b"\x89PNG\r\n\x1a\n"


async def test_downloads_are_masked_audited_and_for_staff_only(desk: Desk, people: People, world: World,
                                                               ctx: AppContext) -> None:
    nik = ctx.cipher.decrypt(world.recipient.nik_encrypted)
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get("/reports") as page:
            csrf = csrf_of(await page.text())
        async with client.post("/reports/export", data={"csrf": csrf, "kind": "recipients", "format": "xlsx"}) as a:
            assert a.status == 200 and "attachment" in a.headers["Content-Disposition"]
            book = load_workbook(io.BytesIO(await a.read()))
        cells = [str(c.value) for row in book.active.iter_rows() for c in row if c.value is not None]
        assert "Siti Aminah" in cells and nik not in cells
        async with client.post("/reports/export", data={"kind": "recipients", "format": "csv"}) as a:
            assert a.status == 403
    async with ctx.session_factory() as s:
        assert await s.scalar(select(AuditLog).where(AuditLog.action == "export", AuditLog.target == "recipients"))
    tksk = await desk.signed_in(people.tksk)
    async with tksk:
        async with tksk.get("/reports") as page:
            html = await page.text()
            assert page.status == 200 and "Loa Janan" not in html and "Unduhan" not in html
        async with tksk.post("/reports/export", data={"csrf": csrf_of(html), "kind": "cases", "format": "csv"}) as a:
            assert a.status == 404
