"""``uep jobs run-due``: run every due scan task once, now or at a given time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from bot.cli.app import app, fail, run_async
from bot.context import AppContext

jobs_app = typer.Typer(help="Scheduled work (reminders, deadlines, deliveries).", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("run-due")
def run_due_command(
    now: Annotated[
        str | None, typer.Option("--now", help="Pretend it is this time (ISO 8601; no zone means UTC).")
    ] = None,
) -> None:
    """Run every due job once, at the real or a given time; prints how many rows each task handled."""
    from bot.factory import create_bot, create_i18n
    from bot.messenger import Messenger
    from scheduler.runner import run_due
    from services.clock import FrozenClock

    at: datetime | None = None
    if now:
        try:
            at = datetime.fromisoformat(now)
        except ValueError:
            raise fail(f"--now: {now!r} is not an ISO 8601 time such as 2026-03-02T08:00+08:00") from None
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)

    async def _run(ctx: AppContext) -> dict[str, int]:
        if at is not None:
            ctx.clock = FrozenClock(at)
        bot = create_bot(ctx)
        try:
            messenger = Messenger(bot, create_i18n(ctx), ctx.clock, ctx.settings.i18n.default_locale, ctx.pacer)
            return await run_due(ctx, messenger, ctx.clock.now())
        finally:
            await bot.session.close()

    for name, count in run_async(_run).items():
        typer.echo(f"{name}: {count}")
