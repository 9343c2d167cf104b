"""``uep monitoring report``: visit coverage, assisted check-ins, the risk distribution and the time from
"visit planned" to the visit (the same figures as ``/pemantauan``), as plain text."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from bot.cli.app import app, run_async
from bot.context import AppContext

monitoring_app = typer.Typer(help="Monitoring in the field: visits and the risk score.", no_args_is_help=True)
app.add_typer(monitoring_app, name="monitoring")


@monitoring_app.command("report")
def report_command(
    lang: Annotated[str, typer.Option("--lang", help="id or en")] = "id",
) -> None:
    """Print the monitoring figures for the whole province."""
    from bot.factory import create_i18n
    from services.monitoring.reports import monitoring_report, report_text

    async def _run(ctx: AppContext) -> str:
        i18n = create_i18n(ctx)
        async with ctx.session_factory() as session:
            report = await monitoring_report(session, now=ctx.clock.now(), settings=ctx.settings)
        with i18n.context(), i18n.use_locale(lang if lang in i18n.available_locales else "id"):
            return report_text(report, settings=ctx.settings, max_rows=1000)

    typer.echo(re.sub(r"</?b>", "", run_async(_run)))
