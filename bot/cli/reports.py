"""``uep report`` (summary and survival charts) and ``uep export`` (CSV/XLSX tables, photo ZIP)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import app, fail, run_async
from bot.context import AppContext


class _By(StrEnum):
    business_type = "business_type"
    kabupaten = "kabupaten"
    kecamatan = "kecamatan"
    sex = "sex"
    pkh = "pkh"
    tksk = "tksk"
    assessment_verdict = "assessment_verdict"
    assessment_score = "assessment_score"


class _Lang(StrEnum):
    id = "id"
    en = "en"


class _Format(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


@app.command("report")
def report(
    by: Annotated[_By | None, typer.Option("--by", help="Break survival down by this attribute.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the chart PNGs.")] = Path("reports"),
    lang: Annotated[_Lang, typer.Option("--lang", help="Language of the summary and charts.")] = _Lang.id,
) -> None:
    """Print the program summary (business survival against the old group model, check-ins, cases) and write
    the survival charts as PNG files and the survival table (every horizon with its interval) as CSV."""
    from services.reports import build_report, render_charts, render_summary, translator
    from services.reports.tables import write_survival_table

    async def _do(ctx: AppContext) -> tuple[str, list[Path]]:
        async with ctx.session_factory() as session:
            rep = await build_report(
                session, settings=ctx.settings, clock=ctx.clock, breakdown=by.value if by else None
            )
        gettext = translator(lang.value)
        text = render_summary(rep, gettext, lang.value)
        pngs = render_charts(rep, gettext=gettext, locale=lang.value)
        out.mkdir(parents=True, exist_ok=True)
        stamp = rep.generated_at.astimezone(ctx.settings.program.tz).strftime("%Y%m%d-%H%M")
        stem = f"survival-{stamp}" + (f"-{by.value}" if by else "")
        paths = []
        for i, png in enumerate(pngs, start=1):
            path = out / (f"{stem}.png" if len(pngs) == 1 else f"{stem}-{i}.png")
            path.write_bytes(png)
            paths.append(path)
        table = out / f"{stem}.csv"
        with table.open("wb") as fh:
            write_survival_table([rep], fh, gettext=gettext, locale=lang.value)
        paths.append(table)
        return text, paths

    text, paths = run_async(_do)
    typer.echo(text)
    typer.echo("")
    for path in paths:
        typer.echo(f"{'table' if path.suffix == '.csv' else 'chart'}: {path}")


export_app = typer.Typer(
    help="Export data for Dinas Sosial staff (NIKs masked unless --full-nik).", no_args_is_help=True
)
app.add_typer(export_app, name="export")


def _export_table(
    kind: str, fmt: _Format, out: Path | None, full_nik: bool, actor: str | None, lang: _Lang = _Lang.id
) -> None:
    from sqlalchemy import func, select

    from db.models import Staff
    from services.exports import ExportNotAllowed, export_table

    if full_nik and not actor:
        raise fail("--full-nik needs --actor NAME (an active admin); the export is recorded in the audit log")

    async def _do(ctx: AppContext) -> tuple[Path, int]:
        async with ctx.session_factory() as session:
            staff = None
            if actor:
                found = (
                    await session.scalars(
                        select(Staff).where(
                            func.lower(Staff.name) == actor.strip().lower(), Staff.active.is_(True)
                        )
                    )
                ).all()
                if len(found) != 1:
                    how_many = "no" if not found else "more than one"
                    raise fail(f"--actor: {how_many} active staff member named {actor!r}")
                staff = found[0]
            stamp = ctx.clock.now().astimezone(ctx.settings.program.tz).strftime("%Y%m%d-%H%M")
            path = out or Path(f"{kind}-{stamp}.{fmt.value}")
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                with path.open("wb") as fh:
                    result = await export_table(
                        session,
                        kind,
                        fh,
                        fmt=fmt.value,
                        settings=ctx.settings,
                        cipher=ctx.cipher,
                        clock=ctx.clock,
                        full_nik=full_nik,
                        actor=staff,
                        lang=lang.value,
                    )
            except ExportNotAllowed as exc:
                path.unlink(missing_ok=True)
                raise fail(str(exc)) from None
            return path, result.rows

    path, rows = run_async(_do)
    note = " (full NIKs; recorded in the audit log)" if full_nik else " (NIKs masked)"
    typer.echo(f"wrote {rows} rows to {path}{note}")


_FormatOpt = Annotated[_Format, typer.Option("--format", help="csv or xlsx.")]
_OutOpt = Annotated[
    Path | None, typer.Option("--out", help="File to write (default: <kind>-<time>.<format>).")
]
_FullNikOpt = Annotated[bool, typer.Option("--full-nik", help="Write full NIKs (admins only; audited).")]
_ActorOpt = Annotated[str | None, typer.Option("--actor", help="Name of the admin asking for full NIKs.")]
_LangOpt = Annotated[_Lang, typer.Option(
    "--lang", help="Headers and values: id (Indonesian, CSV separated by ';' for Excel in Indonesian) or en (',').")]


@export_app.command("recipients")
def export_recipients(
    fmt: _FormatOpt = _Format.csv, out: _OutOpt = None, full_nik: _FullNikOpt = False, actor: _ActorOpt = None,
    lang: _LangOpt = _Lang.id,
) -> None:
    """All recipients with their location, aid and current status."""
    _export_table("recipients", fmt, out, full_nik, actor, lang)


@export_app.command("checkins")
def export_checkins(
    fmt: _FormatOpt = _Format.csv, out: _OutOpt = None, full_nik: _FullNikOpt = False, actor: _ActorOpt = None,
    lang: _LangOpt = _Lang.id,
) -> None:
    """All check-ins with their period and recipient."""
    _export_table("checkins", fmt, out, full_nik, actor, lang)


@export_app.command("cases")
def export_cases(
    fmt: _FormatOpt = _Format.csv, out: _OutOpt = None, full_nik: _FullNikOpt = False, actor: _ActorOpt = None,
    lang: _LangOpt = _Lang.id,
) -> None:
    """All cases with their deadlines and outcome."""
    _export_table("cases", fmt, out, full_nik, actor, lang)


@export_app.command("photos")
def export_photos(
    out: Annotated[Path, typer.Option("--out", help="ZIP file to write.")],
) -> None:
    """Check-in photos as a ZIP: one folder per recipient (name and id), files named by check-in date."""
    from services.exports import export_photos as do_export

    async def _do(ctx: AppContext) -> str:
        out.parent.mkdir(parents=True, exist_ok=True)
        async with ctx.session_factory() as session:
            result = await do_export(session, out, settings=ctx.settings, clock=ctx.clock)
        line = f"wrote {result.files} photos of {result.recipients} recipients to {out}"
        if result.missing:
            line += f"; {len(result.missing)} stored photos were missing on disk and skipped"
        return line

    typer.echo(run_async(_do))
