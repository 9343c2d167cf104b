"""``uep db upgrade``: create or upgrade the schema; ``uep db backup``: a consistent copy while the bot runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import app, fail, settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade() -> None:
    """Create the schema or bring it to the latest migration (SQLite or PostgreSQL)."""
    from db.migrate import head_revision
    from db.migrate import upgrade as do_upgrade

    url = settings().database.url
    do_upgrade(url)
    typer.echo(f"database at revision {head_revision()}")


@db_app.command("backup")
def backup(
    out: Annotated[
        Path | None, typer.Argument(help="File to write (default: data/backups/uep-<UTC time>.db or .dump).")
    ] = None,
) -> None:
    """A consistent copy while the bot runs: SQLite's online backup, or pg_dump (custom format) for PostgreSQL."""
    from db.backup import BackupError, default_backup_path
    from db.backup import backup as do_backup

    url = settings().database.url
    target = out or default_backup_path(url)
    try:
        written = do_backup(url, target)
    except BackupError as exc:
        raise fail(str(exc), 1) from None
    typer.echo(f"backup written: {written} ({written.stat().st_size:,} bytes)")
