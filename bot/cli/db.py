"""``uep db upgrade``: create or upgrade the schema."""

from __future__ import annotations

import typer

from bot.cli.app import app, settings

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
