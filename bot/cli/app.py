"""The root Typer application and the shared ``--config`` option."""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from bot import log_privacy
from bot.config import ConfigError, Settings, load_settings
from bot.context import AppContext
from bot.event_loop import run_loop

app = typer.Typer(
    help="UEP bot: monitoring of the productive-business aid program (Dinas Sosial Kaltim).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")


class _State:
    config_path: str | None = None


state = _State()


@app.callback()
def main(
    config: Annotated[
        str | None, typer.Option("--config", help="Settings file (default: $UEP_CONFIG or ./config.toml).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more detail.")] = False,
) -> None:
    state.config_path = config
    log_privacy.install()  # before the first record: NIK- and phone-like numbers never reach a log
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Migration chatter is noise for operators; errors still show.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def settings() -> Settings:
    """Load settings or stop with one clear line and exit code 2."""
    try:
        return load_settings(state.config_path)
    except ConfigError as exc:
        raise fail(str(exc)) from None


def context() -> AppContext:
    try:
        return AppContext.build(settings())
    except ConfigError as exc:
        raise fail(str(exc)) from None


def run_async(factory: Callable[[AppContext], Awaitable[T]], *, migrated: bool = True) -> T:
    """Build the context, check the schema, run ``factory(ctx)`` and dispose of the engine."""
    ctx = context()

    async def _main() -> T:
        from db.migrate import SchemaNotMigrated, ensure_migrated

        try:
            if migrated:
                await ensure_migrated(ctx.engine)
            return await factory(ctx)
        except SchemaNotMigrated as exc:
            raise fail(str(exc)) from None
        finally:
            await ctx.close()

    try:
        return run_loop(_main(), ctx.settings.runtime.event_loop)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        sys.exit(130)
