"""``uep web``: the staff web desk on its own (the bot may run elsewhere; notices go out through it)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from bot.cli.app import app, run_async
from bot.context import AppContext


@app.command("web")
def web_desk(
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default: web.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default: web.port).")] = None,
) -> None:
    """Serve the web desk for Dinas Sosial staff. Staff sign in with a link from /web in the bot."""
    from bot.factory import create_bot, create_i18n
    from bot.messenger import Messenger
    from web.server import start_desk

    async def _serve(ctx: AppContext) -> None:
        i18n = create_i18n(ctx)
        bot = create_bot(ctx) if ctx.settings.telegram.token else None
        messenger = Messenger(bot, i18n, ctx.clock, ctx.settings.i18n.default_locale) if bot else None
        runner = await start_desk(ctx, host=host, port=port, i18n=i18n, messenger=messenger)
        typer.echo(f"web desk: {ctx.settings.web.base_url}")
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
            if bot is not None:
                await bot.session.close()

    run_async(_serve)
