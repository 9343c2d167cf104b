"""Benchmark: how long the Dissos queue (/antrian) takes to show a page, with 10,000 open cases.

    .venv/bin/python bench/case_queue.py                   # 10,000 open + 40,000 resolved/closed, SQLite
    .venv/bin/python bench/case_queue.py --open 50000      # more
    .venv/bin/python bench/case_queue.py --postgres        # also PostgreSQL (database uep_bench, schema reset)
    .venv/bin/python bench/case_queue.py --explain         # print the query plans

A fresh database (SQLite file in a temporary folder; PostgreSQL: the schema of ``--pg-url``'s database is
dropped and recreated) is migrated and filled with 10 kabupaten × 10 kecamatan, one recipient per 4 cases,
``--open`` open cases (every open state, kind and urgency, deadlines from three weeks late to two weeks ahead,
a tenth overdue) and ``--done`` resolved or closed ones. Then :func:`services.cases.queue.list_queue` — exactly
what /antrian and /kasus run: the count, the page of ids sorted by lateness then urgency, the page's rows — is
timed for the first page unfiltered, a deep page, and each filter (kabupaten, kind, state, overdue, a kecamatan
as /kasus, and kabupaten + kind together), ``--repeat`` times each; best and median are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from db.migrate import upgrade  # noqa: E402
from db.models import Case, Kabupaten, Kecamatan, Recipient  # noqa: E402
from db.session import create_engine, create_session_factory  # noqa: E402
from services.cases.queue import QueueFilter, _filtered, list_queue  # noqa: E402

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/uep_bench"
OPEN = ("new", "taken", "visit_planned", "with_dissos", "reopened")
KINDS = ("capital", "materials", "equipment", "no_buyers", "health_family", "permit_place", "disaster", "other")
URGENCIES = ("high", "normal", "low")
PAGE = 8


async def _reset(url: str) -> None:
    if url.startswith("postgresql"):
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    await asyncio.to_thread(upgrade, url)


async def _fill(url: str, *, n_open: int, n_done: int, now: datetime, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(insert(Kabupaten), [{"id": k, "code": f"64{k:02d}", "name": f"Kabupaten {k:02d}"}
                                               for k in range(1, 11)])
        await conn.execute(insert(Kecamatan), [
            {"id": k * 100 + c, "code": f"64{k:02d}{c:02d}", "name": f"Kecamatan {k:02d}-{c:02d}", "kabupaten_id": k}
            for k in range(1, 11) for c in range(1, 11)
        ])
        kecs = [k * 100 + c for k in range(1, 11) for c in range(1, 11)]
        n_recipients = max(1, (n_open + n_done) // 4)
        recipients = [
            {"id": i, "nik_hash": f"{i:064x}", "nik_encrypted": b"x", "name": f"Penerima {i}", "sex": "P",
             "birth_date": datetime(1980, 1, 1).date(), "kecamatan_id": kecs[i % len(kecs)], "business_type": "kue",
             "aid_value": 4_750_000, "onboarding_state": "active", "business_status": "running",
             "created_at": now, "updated_at": now}
            for i in range(1, n_recipients + 1)
        ]
        for i in range(0, len(recipients), 5000):
            await conn.execute(insert(Recipient), recipients[i : i + 5000])
        rows = []
        for i in range(1, n_open + n_done + 1):
            rid = rng.randint(1, n_recipients)
            created = now - timedelta(hours=rng.uniform(0, 24 * 60))
            is_open = i <= n_open
            state = rng.choice(OPEN) if is_open else rng.choice(("resolved", "closed"))
            taken = None if state in ("new", "reopened") else created + timedelta(hours=rng.uniform(1, 30))
            take_due = created + timedelta(hours=24)
            resolve_due = now + timedelta(hours=rng.uniform(-24 * 21, 24 * 14))
            rows.append({
                "id": i, "number": f"UEP-B-{i:07d}", "recipient_id": rid, "kecamatan_id": kecs[rid % len(kecs)],
                "kind": rng.choice(KINDS), "urgency": rng.choice(URGENCIES), "state": state, "source": "report",
                "with_dissos": state == "with_dissos", "take_due_at": take_due, "resolve_due_at": resolve_due,
                "taken_at": taken, "overdue": is_open and rng.random() < 0.1,
                "next_due_at": (take_due if taken is None else resolve_due) if is_open else None,
                "resolved_at": None if is_open else now - timedelta(days=rng.uniform(0, 30)),
                "created_at": created, "updated_at": now,
            })
        for i in range(0, len(rows), 5000):
            await conn.execute(insert(Case), rows[i : i + 5000])
        await conn.execute(text("ANALYZE"))
    await engine.dispose()
    return {"recipients": n_recipients, "open": n_open, "done": n_done}


def _cases() -> list[tuple[str, QueueFilter, int]]:
    return [
        ("first page, no filter", QueueFilter(), 0),
        ("page 50, no filter", QueueFilter(), 50),
        ("kabupaten", QueueFilter(kabupaten_id=3), 0),
        ("kind", QueueFilter(kind="equipment"), 0),
        ("state", QueueFilter(state="with_dissos"), 0),
        ("overdue", QueueFilter(state="overdue"), 0),
        ("kabupaten + kind", QueueFilter(kabupaten_id=3, kind="capital"), 0),
        ("kecamatan (/kasus)", QueueFilter(kecamatan_id=305), 0),
    ]


async def _explain(url: str, now: datetime) -> None:
    from services.cases.queue import URGENCY_RANK

    engine = create_engine(url)
    async with engine.connect() as conn:
        for label, f, _page in _cases()[:3]:
            q = _filtered(select(Case.id), f).order_by(Case.next_due_at, URGENCY_RANK, Case.id).limit(PAGE)
            compiled = q.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
            prefix = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
            plan = (await conn.exec_driver_sql(prefix + str(compiled))).all()
            print(f"  plan, {label}:")
            for row in plan:
                print("    " + " | ".join(str(c) for c in row))
    await engine.dispose()


async def run(url: str, *, n_open: int, n_done: int, repeat: int, explain: bool, no_index: bool = False
              ) -> dict[str, Any]:
    t = time.perf_counter()
    await _reset(url)
    now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    stats = await _fill(url, n_open=n_open, n_done=n_done, now=now)
    stats["fill_s"] = time.perf_counter() - t
    engine = create_engine(url)
    if no_index:  # for comparison: what the queue costs without its partial index
        async with engine.begin() as conn:
            await conn.execute(text("DROP INDEX ix_cases_open_next_due"))
    sessions = create_session_factory(engine)
    timings: dict[str, list[float]] = {}
    totals: dict[str, int] = {}
    for label, f, page in _cases():
        async with sessions() as session:  # warm-up (connection, statement cache)
            await list_queue(session, now=now, filters=f, page=page, page_size=PAGE)
        values = []
        for _ in range(repeat):
            async with sessions() as session:
                t0 = time.perf_counter()
                result = await list_queue(session, now=now, filters=f, page=page, page_size=PAGE)
                values.append(time.perf_counter() - t0)
        timings[label] = values
        totals[label] = result.total
        lates = [i.late_by_seconds for i in result.items]
        assert lates == sorted(lates, reverse=True), "latest first"
    await engine.dispose()
    if explain:
        await _explain(url, now)
    return {"stats": stats, "timings": timings, "totals": totals}


def _print(label: str, res: dict[str, Any]) -> None:
    s = res["stats"]
    print(f"\n== {label}: {s['open']:,} open + {s['done']:,} resolved/closed cases, {s['recipients']:,} recipients "
          f"(filled in {s['fill_s']:.1f} s)")
    for name, values in res["timings"].items():
        best, median = min(values) * 1000, statistics.median(values) * 1000
        print(f"{name:>22}: best {best:7.2f} ms   median {median:7.2f} ms   ({res['totals'][name]:,} matching)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--open", type=int, default=10_000, help="open cases (default 10,000)")
    ap.add_argument("--done", type=int, default=40_000, help="resolved or closed cases (default 40,000)")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--postgres", nargs="?", const=DEFAULT_PG, default=None, metavar="URL",
                    help=f"also run on PostgreSQL (default {DEFAULT_PG}; its schema is reset)")
    ap.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    ap.add_argument("--explain", action="store_true", help="print the query plans of three queries")
    ap.add_argument("--no-index", action="store_true", help="drop the queue's index first (for comparison)")
    args = ap.parse_args()
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="uep-bench-") as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            _print("SQLite", asyncio.run(run(url, n_open=args.open, n_done=args.done, repeat=args.repeat,
                                             explain=args.explain, no_index=args.no_index)))
    if args.postgres:
        _print("PostgreSQL", asyncio.run(run(args.postgres, n_open=args.open, n_done=args.done, repeat=args.repeat,
                                             explain=args.explain, no_index=args.no_index)))


if __name__ == "__main__":
    main()
