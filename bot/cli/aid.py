"""``uep bast``, ``uep packages export`` and ``uep pipeline``: the hand-over records and the figures before
the aid (issue #19)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import app, fail, run_async
from bot.context import AppContext

packages_app = typer.Typer(help="Aid packages at standard prices.", no_args_is_help=True)
app.add_typer(packages_app, name="packages")


@app.command("bast")
def bast_command(
    number: Annotated[str | None, typer.Argument(help="The BAST number of one hand-over.")] = None,
    kabupaten: Annotated[str | None, typer.Option("--kabupaten", help="Every BAST of this kabupaten/kota.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="File (one BAST) or folder (--kabupaten).")] = None,
    full_nik: Annotated[bool, typer.Option("--full-nik", help="Print NIKs in full (admin only; audited).")] = False,
    actor: Annotated[str | None, typer.Option("--actor", help="The active admin asking for --full-nik.")] = None,
) -> None:
    """The BAST PDF of a hand-over (NIK masked unless an admin asks; every print is audited)."""
    if (number is None) == (kabupaten is None):
        raise fail("give a BAST number or --kabupaten NAME (not both)")
    if kabupaten is not None and out is None:
        raise fail("--kabupaten needs --out DIR")

    async def _do(ctx: AppContext) -> list[Path]:
        from sqlalchemy import select

        from db.enums import StaffRole
        from db.models import Staff
        from services.aid import bast

        async with ctx.session_factory() as session:
            who = "cli"
            if full_nik:
                staff = await session.scalar(select(Staff).where(
                    Staff.name == (actor or ""), Staff.role == StaffRole.ADMIN, Staff.active.is_(True)))
                if staff is None:
                    raise fail("--full-nik needs --actor NAME of an active admin")
                who = f"admin {staff.name} (cli)"
            if number is not None:
                try:
                    items = [await bast.load(session, number)]
                except bast.BastNotFound:
                    raise fail(f"no hand-over has the BAST number {number!r}") from None
            else:
                items = await bast.in_kabupaten(session, kabupaten or "")
                if not items:
                    raise fail(f"no hand-over in kabupaten {kabupaten!r}", code=1)
            written: list[Path] = []
            for data in items:
                pdf = bast.render(data, ctx.settings, ctx.cipher, full_nik=full_nik)
                if number is not None:
                    path = out or Path(bast.file_name(data.handover.number))
                else:
                    assert out is not None
                    out.mkdir(parents=True, exist_ok=True)
                    path = out / bast.file_name(data.handover.number)
                path.write_bytes(pdf)
                bast.audit_print(session, ctx.clock, data, actor=who, account_id=None, full_nik=full_nik)
                written.append(path)
            await session.commit()
            return written

    for path in run_async(_do):
        typer.echo(str(path))


@packages_app.command("export")
def packages_export(
    by: Annotated[str, typer.Option("--by", help="Grouping: kabupaten.")] = "kabupaten",
    out: Annotated[Path | None, typer.Option("--out", help="CSV file (default: standard output).")] = None,
    include_delivered: Annotated[bool, typer.Option("--include-delivered",
                                                    help="Also packages already handed over.")] = False,
) -> None:
    """The procurement list: items × quantities × standard prices per kabupaten, with totals."""
    if by != "kabupaten":
        raise fail("--by: only kabupaten")

    async def _do(ctx: AppContext):  # type: ignore[no-untyped-def]
        from services.aid.pipeline import procurement_by_kabupaten

        async with ctx.session_factory() as session:
            return await procurement_by_kabupaten(session, include_delivered=include_delivered)

    result = run_async(_do)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(["kabupaten", "jenis_usaha", "barang", "satuan", "harga_satuan", "jumlah", "nilai"])
    kabupaten = None
    for line in result.lines:
        if kabupaten is not None and line.kabupaten != kabupaten:
            writer.writerow([kabupaten, "", "JUMLAH", "", "", "", result.total(kabupaten)])
        kabupaten = line.kabupaten
        writer.writerow([line.kabupaten, line.business_type, line.item, line.unit, line.unit_price, line.quantity,
                         line.value])
    if kabupaten is not None:
        writer.writerow([kabupaten, "", "JUMLAH", "", "", "", result.total(kabupaten)])
    writer.writerow(["SEMUA", "", "JUMLAH", "", "", "", result.total()])
    text = buffer.getvalue()
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8-sig")
        typer.echo(f"{out}: {len(result.lines)} baris, jumlah Rp{result.total():,}".replace(",", "."))


@app.command("pipeline")
def pipeline_command(
    out: Annotated[Path | None, typer.Option("--out", help="Also write the table as CSV.")] = None,
) -> None:
    """Candidates → assessed (layak / meragukan / tidak layak) → approved → package set → handed over, per
    kabupaten."""

    async def _do(ctx: AppContext):  # type: ignore[no-untyped-def]
        from services.aid.pipeline import pipeline_by_kabupaten

        async with ctx.session_factory() as session:
            return await pipeline_by_kabupaten(session)

    from services.aid.pipeline import PIPELINE_COLUMNS

    table = run_async(_do)
    header = ["kabupaten", *PIPELINE_COLUMNS]
    width = max([len(k) for k in table] + [9])
    typer.echo(f"{'kabupaten':<{width}} " + " ".join(f"{c:>16}" for c in PIPELINE_COLUMNS))
    for kab, row in table.items():
        typer.echo(f"{kab:<{width}} " + " ".join(f"{row[c]:>16}" for c in PIPELINE_COLUMNS))
    if out is not None:
        with out.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh, delimiter=";")
            writer.writerow(header)
            for kab, row in table.items():
                writer.writerow([kab, *(row[c] for c in PIPELINE_COLUMNS)])
