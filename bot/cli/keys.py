"""``uep keygen``: print a new data key for NIK encryption."""

from __future__ import annotations

import typer

from bot.cli.app import app
from services.crypto import generate_data_key


@app.command("keygen")
def keygen() -> None:
    """Print a new random key for UEP_SECURITY__DATA_KEY. Keep it secret and never lose it:
    without it the stored NIKs cannot be read or found."""
    typer.echo(generate_data_key())
