"""#23 §4: a database made by the released migration (0001) upgrades to the head, whatever the head is, and
loses nothing: every row of every table, every value of every column that still exists.

Rows are made from the reflected 0001 schema itself (two per table, foreign keys pointing at real rows), so a
table or column added by any later migration changes nothing here, and a migration that drops or rewrites
data fails the test. A column dropped on purpose must be named in ``DROPPED_ON_PURPOSE`` with its migration.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from db.migrate import current_revision, head_revision, upgrade
from db.session import create_engine
from tests.conftest import TEST_PG_URL, using_postgres

BASELINE = "0001"
DROPPED_ON_PURPOSE: set[tuple[str, str]] = set()  # (table, column) removed by a later migration, deliberately


def _value(table: sa.Table, column: sa.Column[Any], i: int, filled: set[str]) -> Any:
    fks = list(column.foreign_keys)
    if fks:
        target = fks[0].column.table.name
        if target in filled or target == table.name and i == 2:
            return 1 if target == table.name else i
        return None  # a cycle: the row it would point at does not exist yet (the column is nullable then)
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return i % 2 == 0
    if isinstance(kind, sa.Integer):
        return i
    if isinstance(kind, sa.Float | sa.Numeric):
        return i + 0.5
    if isinstance(kind, sa.DateTime):
        moment = datetime(2026, 1, i, 8, 30, i)
        return moment.replace(tzinfo=UTC) if kind.timezone else moment
    if isinstance(kind, sa.Date):
        return date(1980, 5, i)
    if isinstance(kind, sa.JSON):
        return {"row": i, "of": table.name}
    if isinstance(kind, sa.LargeBinary):
        return bytes([i]) * 8
    if isinstance(kind, sa.String | sa.Text):
        text = f"{i}-{table.name}.{column.name}"
        length = getattr(kind, "length", None)
        return text[:length] if length else text
    raise AssertionError(f"no sample value for {table.name}.{column.name} ({kind!r}): teach this test the type")


def _fill_and_read(conn: sa.Connection) -> dict[str, list[dict[str, Any]]]:
    meta = sa.MetaData()
    meta.reflect(conn)
    filled: set[str] = set()
    for table in meta.sorted_tables:
        if table.name == "alembic_version":
            continue
        for i in (1, 2):
            conn.execute(table.insert().values({c.name: _value(table, c, i, filled) for c in table.columns}))
        filled.add(table.name)
    return _read(conn)


def _read(conn: sa.Connection) -> dict[str, list[dict[str, Any]]]:
    meta = sa.MetaData()
    meta.reflect(conn)
    out = {}
    for table in meta.sorted_tables:
        if table.name == "alembic_version":
            continue
        pk = list(table.primary_key.columns) or list(table.columns)[:1]
        out[table.name] = [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(*pk))]
    return out


async def _run(sync_fn: Any, url: str) -> Any:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(sync_fn)
    finally:
        await engine.dispose()


@pytest.fixture
def baseline_url(tmp_path) -> Any:  # type: ignore[no-untyped-def]
    """An empty database of its own: a SQLite file, or a fresh PostgreSQL database beside the test one."""
    if not using_postgres():
        yield f"sqlite+aiosqlite:///{tmp_path / 'baseline.db'}"
        return
    name = f"{make_url(TEST_PG_URL).database}_upgrade_{os.getpid()}"
    admin = make_url(TEST_PG_URL).set(database="postgres").render_as_string(hide_password=False)

    async def ddl(statement: str) -> None:
        engine = create_engine(admin)
        try:
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(sa.text(statement))
        finally:
            await engine.dispose()

    asyncio.run(ddl(f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(ddl(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(TEST_PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(ddl(f'DROP DATABASE IF EXISTS "{name}"'))


def test_a_database_made_by_0001_upgrades_to_head_with_every_row_and_value_kept(baseline_url: str) -> None:
    upgrade(baseline_url, BASELINE)
    before = asyncio.run(_run(_fill_and_read, baseline_url))
    assert len(before) >= 20 and all(len(rows) == 2 for rows in before.values()), before.keys()

    upgrade(baseline_url)  # what `uep db upgrade` does on a deployed database
    after = asyncio.run(_run(_read, baseline_url))

    async def revision() -> str | None:
        engine = create_engine(baseline_url)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(revision()) == head_revision()
    for table, rows in before.items():
        assert table in after, f"table {table} is gone after the upgrade"
        assert len(after[table]) == len(rows), f"{table}: {len(rows)} rows before, {len(after[table])} after"
        for old, new in zip(rows, after[table], strict=True):
            for column, value in old.items():
                if (table, column) in DROPPED_ON_PURPOSE:
                    continue
                assert column in new, f"column {table}.{column} is gone after the upgrade"
                assert new[column] == value, f"{table}.{column}: {value!r} became {new[column]!r}"
