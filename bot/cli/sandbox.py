"""``uep sandbox``: emulated Telegram + the real bot + a web chat on http://127.0.0.1:8080, no token needed.

A fresh SQLite database under ./data/sandbox/ each time (``--keep`` reuses one, ``--db PATH`` picks one),
migrated and filled from ../shared/data (``--data DIR``) with the same importer as ``uep import``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import app, fail, settings

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
SANDBOX_DIR = Path("data") / "sandbox"
KEEP_SESSIONS = 5


def _prune_sessions(folder: Path, keep: int) -> None:
    """Old throwaway session databases cannot be read anyway (their data key is gone): remove them."""
    sessions = sorted(folder.glob("session-*.db"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in sessions[keep:]:
        for path in (old, Path(f"{old}-wal"), Path(f"{old}-shm")):
            path.unlink(missing_ok=True)
        shutil.rmtree(old.with_suffix(".media"), ignore_errors=True)


def _kept_key(db_path: Path) -> str:
    """A kept database needs the same data key next time: keep it beside the database (sandbox data only)."""
    from services.crypto import generate_data_key

    key_file = Path(f"{db_path}.key")
    if key_file.is_file():
        return key_file.read_text().strip()
    key = generate_data_key()
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    return key


@app.command("sandbox")
def sandbox(
    host: Annotated[str | None, typer.Option("--host", help="Address of the web chat (default: sandbox.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port of the web chat (default: sandbox.port).")] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Folder with wilayah-kaltim.csv, sample-roster.csv, sample-workers.csv."),
    ] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Reuse data/sandbox/sandbox.db instead of a fresh one.")] = False,
    db: Annotated[Path | None, typer.Option("--db", help="SQLite file to use (kept between runs).")] = None,
) -> None:
    """Try the whole bot in a browser without Telegram: pick a person (recipient, TKSK, PSM, caseworker,
    admin), chat with the real bot, move the clock to watch reminders and deadlines fire."""
    from sandbox.app import SandboxApp, SandboxDataMissing, check_data_dir

    cfg = settings()
    data_dir = (data or DEFAULT_DATA).resolve()
    try:
        check_data_dir(data_dir)
    except SandboxDataMissing as exc:
        raise fail(str(exc)) from None

    SANDBOX_DIR.mkdir(parents=True, exist_ok=True)
    if db is not None:
        db_path, kept = db, True
    elif keep:
        db_path, kept = SANDBOX_DIR / "sandbox.db", True
    else:
        db_path, kept = SANDBOX_DIR / f"session-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.db", False
        _prune_sessions(SANDBOX_DIR, KEEP_SESSIONS - 1)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    cfg.database.url = f"sqlite+aiosqlite:///{db_path}"
    cfg.storage.media_dir = db_path.with_suffix(".media")
    if not cfg.security.data_key:
        if kept:
            cfg.security.data_key = _kept_key(db_path)
            typer.echo(f"note: UEP_SECURITY__DATA_KEY is not set; using the sandbox key kept in {db_path}.key "
                       "(sample data only, never for real recipients)")
        else:
            from services.crypto import generate_data_key

            cfg.security.data_key = generate_data_key()
            typer.echo("note: UEP_SECURITY__DATA_KEY is not set; using a throwaway data key for this session "
                       "(NIKs in this session's database cannot be read after it ends)")
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        logging.getLogger("aiogram.event").setLevel(logging.WARNING)  # one line per update drowns the console

    app_ = SandboxApp(cfg, data_dir=data_dir, host=host or cfg.sandbox.host,
                      port=cfg.sandbox.port if port is None else port)

    async def _main() -> None:
        started = time.monotonic()
        try:
            await app_.start()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise fail(f"port {app_.port} on {app_.host} is in use; pick another with --port") from None
            raise
        for line in app_.import_summary.lines:
            typer.echo(line)
        typer.echo(f"database: {db_path}" + ("" if kept else " (fresh; --keep to reuse one)"))
        typer.echo(f"\nUEP sandbox ready in {time.monotonic() - started:.1f}s: open {app_.url}  (Ctrl+C to stop)")
        typer.echo(f"staff web desk: {app_.desk_url}  (be a Dinas Sosial person, send /web, open the link)")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            typer.echo("stopping the sandbox…")
            await app_.stop()

    try:
        asyncio.run(_main())
    except KeyboardInterrupt:
        pass
