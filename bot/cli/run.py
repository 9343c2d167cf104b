"""``uep run``: the bot against Telegram (long polling, or webhooks with ``--webhook``)."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.app import app, run_async
from bot.context import AppContext


@app.command("run")
def run(
    webhook: Annotated[bool, typer.Option("--webhook", help="Serve webhooks instead of long polling.")] = False,
) -> None:
    """Run the bot. Needs BOT_TOKEN, UEP_SECURITY__DATA_KEY and a migrated database (`uep db upgrade`)."""
    from bot.app import BotApp

    async def _run(ctx: AppContext) -> None:
        ctx.settings.require_token()
        bot_app = BotApp(ctx)
        try:
            if webhook:
                await bot_app.run_webhook()
            else:
                await bot_app.run_polling()
        finally:
            await bot_app.bot.session.close()

    run_async(_run)
