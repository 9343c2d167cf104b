"""``uep assessments approve FILE``: Dinas Sosial's decisions on assessed candidates in bulk.

Exit codes as the imports: 0 every row decided; 1 some rows refused (the others decided); 2 nothing decided.
``--dry-run`` checks every row and writes nothing. Refused rows are printed with their line and reason and
written to a report CSV. The TKSK of each decided candidate is told (through the outbox).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import app, fail, run_async
from bot.context import AppContext

assessments_app = typer.Typer(help="Decisions on assessed candidates (issue #19).", no_args_is_help=True)
app.add_typer(assessments_app, name="assessments")


@assessments_app.command("approve")
def approve_file(
    file: Annotated[Path, typer.Argument(help="CSV/XLSX: nik, keputusan (setuju/tolak), jenis_usaha, alasan.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only check the file; write nothing.")] = False,
    report: Annotated[Path | None, typer.Option("--report", help="Where to write the refused rows.")] = None,
    by: Annotated[str, typer.Option("--by", help="Name of the Dinas Sosial officer deciding (recorded).")] = "cli",
    admin: Annotated[str | None, typer.Option(
        "--admin", help="Name of an active admin: allows approving candidates never assessed (with alasan).")] = None,
) -> None:
    from services.importer.errors import ImportAborted
    from services.importer.reading import read_table
    from services.importer.report import default_report_path, write_report

    try:
        table = read_table(file)
    except ImportAborted as exc:
        raise fail(str(exc)) from None

    async def _do(ctx: AppContext):  # type: ignore[no-untyped-def]
        from sqlalchemy import select

        from bot.i18n import CatalogI18n
        from db.enums import StaffRole
        from db.models import Staff
        from services.aid.bulk import decide_from_table
        from services.aid.lifecycle import Actor
        from services.aid.notices import decision_notices, queue

        async with ctx.session_factory() as session:
            actor, is_admin = Actor(f"cli {by}"), False
            if admin is not None:
                staff = await session.scalar(select(Staff).where(
                    Staff.name == admin, Staff.role == StaffRole.ADMIN, Staff.active.is_(True)))
                if staff is None:
                    raise fail(f"--admin: tidak ada admin aktif bernama {admin!r}")
                actor, is_admin = Actor(f"admin {staff.name} (cli)"), True
            try:
                result = await decide_from_table(session, table, settings=ctx.settings, cipher=ctx.cipher,
                                                 clock=ctx.clock, dry_run=dry_run, actor=actor, admin=is_admin)
            except ImportAborted as exc:
                await session.rollback()
                raise fail(str(exc)) from None
            if dry_run or result.exit_code == 2:
                await session.rollback()
            else:
                i18n = CatalogI18n(default_locale=ctx.settings.i18n.default_locale)
                for candidate, approved in result.decided:
                    from services.aid.decision import _assessment

                    notices = await decision_notices(
                        session, candidate, await _assessment(session, candidate), approved=approved,
                        settings=ctx.settings, i18n=i18n, total=None if not approved else (
                            await _package_total(session, candidate)))
                    await queue(session, notices)
                await session.commit()
            return result, ctx.clock.now()

    result, now = run_async(_do)
    for warning in result.warnings:
        typer.echo(f"peringatan: {warning}", err=True)
    for rej in sorted(result.rejected, key=lambda r: r.line):
        typer.echo(f"baris {rej.line}: {rej.reason}")
    if result.rejected:
        path = write_report(report or default_report_path(file, now.astimezone()), table, result.rejected)
        typer.echo(f"laporan baris yang ditolak: {path}")
    typer.echo(result.summary())
    raise typer.Exit(result.exit_code)


async def _package_total(session, candidate) -> int | None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from db.models import AidPackage

    return await session.scalar(select(AidPackage.value).where(AidPackage.recipient_id == candidate.recipient_id))
