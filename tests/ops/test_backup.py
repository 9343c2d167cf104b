"""``uep db backup`` (#23 §4): a consistent copy while the database is in use; SQLite's online backup API,
PostgreSQL through pg_dump."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from bot.config import Settings
from db.session import create_engine
from tests.conftest import using_postgres

CONFIG = Path(__file__).resolve().parents[2] / "config.toml"


def _uep(*args: str):  # type: ignore[no-untyped-def]
    from bot.cli import app

    return CliRunner().invoke(app, ["--config", str(CONFIG), *args], catch_exceptions=False)


async def _write_rows(url: str, count: int) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for i in range(count):
                await conn.execute(text("INSERT INTO audit_log (at, actor, action, target) "
                                        "VALUES (CURRENT_TIMESTAMP, 'test', 'backup.test', :t)"), {"t": f"row-{i}"})
    finally:
        await engine.dispose()


def test_backup_copies_a_sqlite_database_in_use_and_never_overwrites(settings: Settings, tmp_path: Path) -> None:
    if using_postgres():
        pytest.skip("the SQLite path; PostgreSQL has its own test")
    asyncio.run(_write_rows(settings.database.url, 250))
    # A reader holding the database open (as the running bot does) does not stop the online backup.
    live = sqlite3.connect(settings.database.url.split("///", 1)[1])
    live.execute("BEGIN")
    live.execute("SELECT count(*) FROM audit_log").fetchone()
    try:
        out = tmp_path / "backups" / "copy.db"
        result = _uep("db", "backup", str(out))
        assert result.exit_code == 0, result.output
        assert f"backup written: {out}" in result.stdout
    finally:
        live.rollback()
        live.close()
    copy = sqlite3.connect(out)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT count(*) FROM audit_log WHERE action = 'backup.test'").fetchone()[0] == 250
        assert copy.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        copy.close()
    assert not Path(str(out) + "-wal").exists()  # one self-contained file
    again = _uep("db", "backup", str(out))
    assert again.exit_code == 1 and "exists already" in again.output


def test_backup_of_postgresql_is_a_pg_dump_that_pg_restore_reads(settings: Settings, tmp_path: Path) -> None:
    if not using_postgres():
        pytest.skip("needs PostgreSQL (UEP_TEST_DB=postgresql)")
    if shutil.which("pg_restore") is None:
        pytest.skip("pg_restore not installed")
    asyncio.run(_write_rows(settings.database.url, 5))
    out = tmp_path / "uep.dump"
    result = _uep("db", "backup", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:5] == b"PGDMP"
    listing = subprocess.run(["pg_restore", "--list", str(out)], capture_output=True, text=True, check=True).stdout
    assert "TABLE DATA public audit_log" in listing and "TABLE public recipients" in listing
    data = subprocess.run(["pg_restore", "--data-only", "--table=audit_log", "--file=-", str(out)],
                          capture_output=True, text=True, check=True).stdout
    assert data.count("backup.test") == 5
