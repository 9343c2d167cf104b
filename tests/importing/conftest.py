"""Helpers for the import tests: run an import through the service or the real ``uep`` CLI, query the DB."""

from __future__ import annotations

import asyncio
import csv
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from bot.config import Settings
from bot.context import AppContext
from db.models import AidItem, AidPackage, FieldWorker, Kecamatan, Recipient
from db.session import create_engine, create_session_factory
from services.importer.common import ImportResult
from services.importer.reading import read_table
from services.importer.roster import import_roster
from services.importer.wilayah import import_wilayah
from services.importer.workers import import_workers
from tests.conftest import SHARED_DATA

T = TypeVar("T")
CONFIG = Path(__file__).resolve().parents[2] / "config.toml"
ROSTER = SHARED_DATA / "sample-roster.csv"
FAULTY = SHARED_DATA / "sample-roster-faulty.csv"
WORKERS = SHARED_DATA / "sample-workers.csv"
WILAYAH = SHARED_DATA / "wilayah-kaltim.csv"


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def with_wilayah(folder: Path) -> Path:
    """Put wilayah-kaltim.csv into ``folder`` (so an import there can load it first)."""
    shutil.copyfile(WILAYAH, folder / WILAYAH.name)
    return folder


async def run_import(ctx: AppContext, kind: str, path: Path, *, dry_run: bool = False) -> ImportResult:
    """Import like the CLI does: one transaction, committed unless dry run or nothing importable."""
    table = read_table(path)
    async with ctx.session_factory() as session:
        if kind == "wilayah":
            result = await import_wilayah(session, table, clock=ctx.clock, dry_run=dry_run)
        elif kind == "roster":
            result = await import_roster(
                session,
                table,
                program=ctx.settings.program,
                cipher=ctx.cipher,
                clock=ctx.clock,
                dry_run=dry_run,
            )
        else:
            result = await import_workers(session, table, cipher=ctx.cipher, clock=ctx.clock, dry_run=dry_run)
        if dry_run or result.exit_code == 2:
            await session.rollback()
        else:
            await session.commit()
    return result


async def count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def counts(session: AsyncSession) -> dict[str, int]:
    return {
        m.__tablename__: await count(session, m)
        for m in (Kecamatan, Recipient, AidPackage, AidItem, FieldWorker)
    }


def in_db(settings: Settings, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``fn(session)`` on the test database from a synchronous (CLI) test."""

    async def _main() -> T:
        engine = create_engine(settings.database.url)
        try:
            async with create_session_factory(engine)() as session:
                return await fn(session)
        finally:
            await engine.dispose()

    return asyncio.run(_main())


@pytest.fixture
def uep(settings: Settings) -> Callable[..., Any]:
    """Invoke the real ``uep`` Typer app in-process (env from the ``settings`` fixture)."""
    from bot.cli import app

    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(app, ["--config", str(CONFIG), *args], catch_exceptions=False)

    return invoke
