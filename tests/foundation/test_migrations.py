from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from db.migrate import SchemaNotMigrated, current_revision, ensure_migrated, head_revision
from db.models import Base
from db.session import create_engine


async def test_schema_matches_models_after_upgrade(db_url: str) -> None:
    """The migrations create exactly what the models describe, on SQLite and PostgreSQL."""
    engine = create_engine(db_url)
    try:
        assert await current_revision(engine) == head_revision()
        await ensure_migrated(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(
                c, opts={"compare_type": False, "include_object": _on_this_dialect(c.dialect.name)}), Base.metadata))
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert diff == []
        assert {"recipients", "cases", "reminders", "broadcast_deliveries", "audit_log", "fsm_states"} <= tables
    finally:
        await engine.dispose()


def _on_this_dialect(dialect: str):  # type: ignore[no-untyped-def]
    """An index made on one database only (``info={"only_on": "postgresql"}``) is expected there only."""
    def include(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
        only_on = getattr(obj, "info", {}).get("only_on")
        return only_on is None or only_on == dialect

    return include


async def test_unmigrated_database_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        try:
            await ensure_migrated(engine)
        except SchemaNotMigrated as exc:
            assert "uep db upgrade" in str(exc)
        else:
            raise AssertionError("an empty database must be refused")
    finally:
        await engine.dispose()


async def test_sqlite_pragmas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000
    finally:
        await engine.dispose()
