"""``uep run``: the bot against Telegram (long polling, or webhooks with ``--webhook``); ``uep scheduler``: the
scan tick alone, for a deployment of several webhook workers (docs/deploy.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.app import app, run_async
from bot.context import AppContext


@app.command("run")
def run(
    webhook: Annotated[bool, typer.Option("--webhook", help="Serve webhooks instead of long polling.")] = False,
    port: Annotated[
        int | None, typer.Option("--port", help="Webhook port of this process (default telegram.webhook_port).")
    ] = None,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Handle updates only; the scans run in `uep scheduler`.")
    ] = False,
) -> None:
    """Run the bot. Needs BOT_TOKEN, UEP_SECURITY__DATA_KEY and a migrated database (`uep db upgrade`)."""
    from bot.app import BotApp

    async def _run(ctx: AppContext) -> None:
        ctx.settings.require_token()
        if port is not None:
            ctx.settings.telegram.webhook_port = port
        bot_app = BotApp(ctx, with_scheduler=not no_scheduler)
        try:
            if webhook:
                await bot_app.run_webhook()
            else:
                await bot_app.run_polling()
        finally:
            await bot_app.bot.session.close()

    run_async(_run)


@app.command("scheduler")
def scheduler() -> None:
    """The scheduler's scans (reminders, digests, deadlines, photos, broadcasts) and the background workers,
    without handling updates: one such process beside webhook workers started with --no-scheduler."""
    from bot.app import BotApp

    async def _run(ctx: AppContext) -> None:
        ctx.settings.require_token()
        bot_app = BotApp(ctx, with_scheduler=True)
        try:
            await bot_app.run_scheduler()
        finally:
            await bot_app.bot.session.close()

    run_async(_run)
