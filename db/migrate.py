"""Schema upgrade and the start-up check that the database is migrated."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

_INI = Path(__file__).with_name("alembic.ini")


def alembic_config(url: str) -> Config:
    cfg = Config(str(_INI))
    cfg.set_main_option("script_location", str(_INI.parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() or ""


def upgrade(url: str, revision: str = "head") -> None:
    """Create or upgrade the schema (synchronous; runs its own event loop)."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(engine: AsyncEngine, url: str) -> None:
    """The same, on an engine the caller already has (used inside a running event loop)."""
    cfg = alembic_config(url)

    def _do(connection) -> None:  # type: ignore[no-untyped-def]
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")

    async with engine.begin() as conn:
        await conn.run_sync(_do)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


class SchemaNotMigrated(RuntimeError):
    pass


async def ensure_migrated(engine: AsyncEngine) -> None:
    """Refuse to start on a database that is not at the latest migration."""
    current = await current_revision(engine)
    if current != head_revision():
        raise SchemaNotMigrated(
            f"database schema is at {current or 'nothing'}, expected {head_revision()}; run `uep db upgrade`"
        )
