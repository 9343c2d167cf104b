"""``uep import wilayah|roster|workers FILE``: load CSV/XLSX files from Dissos into the database.

Exit codes: 0 every row accepted; 1 some rows rejected (the valid ones are imported); 2 nothing could be
imported (unreadable file, missing required column, no wilayah, no valid row) and nothing was written.
Rejected rows are printed with their line number and reason and written to a report CSV.
"""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import app, fail, run_async
from bot.context import AppContext

log = logging.getLogger(__name__)

import_app = typer.Typer(
    help="Import wilayah (kabupaten/kecamatan), the recipient roster, field workers or candidates from CSV/XLSX.",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")

# More rejected rows than this are only in the report file, not on screen.
MAX_PRINTED = 200


class _Kind(StrEnum):
    wilayah = "wilayah"
    roster = "roster"
    workers = "workers"
    candidates = "candidates"


FileArg = Annotated[
    Path, typer.Argument(help="CSV or XLSX file (formats: shared/data/README.md).", show_default=False)
]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Only check the file; write nothing to the database.")
]
ReportOpt = Annotated[
    Path | None,
    typer.Option(
        "--report", help="Where to write the rejected rows (default: data/import-reports/<file>-ditolak-<time>.csv)."
    ),
]


def _run(kind: _Kind, file: Path, dry_run: bool, report: Path | None) -> None:
    from services.importer.errors import ImportAborted
    from services.importer.reading import read_table
    from services.importer.report import default_report_path, write_report

    try:
        table = read_table(file)
    except ImportAborted as exc:
        raise fail(str(exc)) from None
    progress = sys.stderr.isatty()

    async def _do(ctx: AppContext):  # type: ignore[no-untyped-def]
        from services.importer.roster import import_roster
        from services.importer.wilayah import import_wilayah
        from services.importer.workers import import_workers

        async with ctx.session_factory() as session:
            try:
                if kind is _Kind.wilayah:
                    result = await import_wilayah(session, table, clock=ctx.clock, dry_run=dry_run)
                elif kind is _Kind.roster:
                    result = await import_roster(
                        session,
                        table,
                        program=ctx.settings.program,
                        cipher=ctx.cipher,
                        clock=ctx.clock,
                        dry_run=dry_run,
                        progress=progress,
                    )
                elif kind is _Kind.candidates:
                    from services.importer.candidates import import_candidates

                    result = await import_candidates(
                        session, table, program=ctx.settings.program, cipher=ctx.cipher, clock=ctx.clock,
                        dry_run=dry_run,
                    )
                else:
                    result = await import_workers(
                        session, table, cipher=ctx.cipher, clock=ctx.clock, dry_run=dry_run
                    )
            except ImportAborted as exc:
                await session.rollback()
                raise fail(str(exc)) from None
            if dry_run or result.exit_code == 2:
                await session.rollback()
            else:
                await session.commit()
            return result, ctx.clock.now()

    result, now = run_async(_do)
    for warning in result.warnings:
        typer.echo(f"peringatan: {warning}", err=True)
    for note in result.notes:
        typer.echo(note)
    for rej in sorted(result.rejected, key=lambda r: r.line)[:MAX_PRINTED]:
        typer.echo(f"baris {rej.line}: {rej.reason}")
    if len(result.rejected) > MAX_PRINTED:
        typer.echo(f"... dan {len(result.rejected) - MAX_PRINTED} baris ditolak lainnya (lihat laporan)")
    if result.rejected:
        path = write_report(report or default_report_path(file, now.astimezone()), table, result.rejected)
        typer.echo(f"laporan baris yang ditolak: {path}")
    typer.echo(result.summary())
    if result.exit_code == 2:
        typer.echo("tidak ada yang disimpan: tidak ada baris yang sah", err=True)
    raise typer.Exit(result.exit_code)


@import_app.command("wilayah")
def wilayah(file: FileArg, dry_run: DryRun = False, report: ReportOpt = None) -> None:
    """Kabupaten/kota and kecamatan (kode_kabupaten, kabupaten, kode_kecamatan, kecamatan)."""
    _run(_Kind.wilayah, file, dry_run, report)


@import_app.command("roster")
def roster(file: FileArg, dry_run: DryRun = False, report: ReportOpt = None) -> None:
    """Recipients, upserted by NIK, each with the aid package of their business type.

    Loads wilayah-kaltim.csv from the same folder first when the database has no wilayah yet."""
    _run(_Kind.roster, file, dry_run, report)


@import_app.command("workers")
def workers(file: FileArg, dry_run: DryRun = False, report: ReportOpt = None) -> None:
    """Field workers (TKSK, PSM), upserted by NIK; one TKSK per kecamatan."""
    _run(_Kind.workers, file, dry_run, report)


@import_app.command("candidates")
def candidates(file: FileArg, dry_run: DryRun = False, report: ReportOpt = None) -> None:
    """Candidates before the assessment (the roster's columns without the aid columns, plus usaha_diminati),
    upserted by NIK; a NIK that is already a recipient is refused."""
    _run(_Kind.candidates, file, dry_run, report)
