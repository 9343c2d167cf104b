"""``uep db backup``: a consistent copy of the database while the bot keeps running.

SQLite: the online backup API (``sqlite3.Connection.backup``), page by page, so writers are not blocked for
long and the copy is one consistent snapshot, WAL included; the copy is checked with ``PRAGMA
integrity_check``. Copying the ``.db`` file with ``cp`` while the bot writes can give a torn file: never do that.

PostgreSQL: ``pg_dump --format=custom`` (a snapshot in one transaction; restore with ``pg_restore``), which
must be on PATH in the version of the server or newer (Debian: ``postgresql-client``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    pass


def default_backup_path(url: str, folder: Path = Path("data/backups"), now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    suffix = ".db" if make_url(url).get_backend_name() == "sqlite" else ".dump"
    return folder / f"uep-{stamp}{suffix}"


def backup(url: str, target: Path, *, pages_per_step: int = 1024) -> Path:
    """Write a consistent copy of the database at ``url`` to ``target`` (never overwriting a file)."""
    if target.exists():
        raise BackupError(f"{target} exists already; choose another file")
    target.parent.mkdir(parents=True, exist_ok=True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _backup_sqlite(parsed.database or "", target, pages_per_step)
    else:
        _backup_postgres(url, target)
    return target


def _backup_sqlite(database: str, target: Path, pages_per_step: int) -> None:
    if not database or database == ":memory:" or not Path(database).is_file():
        raise BackupError(f"no SQLite database file at {database!r}")
    partial = target.with_name(target.name + ".partial")
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy, pages=pages_per_step)
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise BackupError(f"the copy failed its integrity check: {verdict}")
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            copy.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    partial.rename(target)


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as libpq (pg_dump, psql) takes it: without the ``+asyncpg`` driver."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _backup_postgres(url: str, target: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump not found on PATH; install the PostgreSQL client (Debian: postgresql-client)")
    partial = target.with_name(target.name + ".partial")
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:  # not on the command line, where `ps` would show it
        env["PGPASSWORD"] = str(parsed.password)
    dsn = make_url(libpq_url(url)).set(password=None).render_as_string(hide_password=False)
    result = subprocess.run(
        [pg_dump, "--format=custom", "--no-owner", f"--file={partial}", f"--dbname={dsn}"],
        env=env, capture_output=True, text=True,
    )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[:500]}")
    partial.rename(target)
