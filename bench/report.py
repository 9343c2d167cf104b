"""Benchmark: the /laporan equivalent (report with one breakdown + summary text + chart) on a big database.

    .venv/bin/python bench/report.py                      # 100,000 recipients, two years of check-ins, SQLite
    .venv/bin/python bench/report.py --n 20000            # smaller
    .venv/bin/python bench/report.py --postgres           # also PostgreSQL (database uep_bench, reset here)
    .venv/bin/python bench/report.py --exports            # also time the recipients CSV/XLSX exports
    .venv/bin/python bench/report.py --db /tmp/report.db  # SQLite file filled once, reused by later runs
    .venv/bin/python bench/report.py --no-sqlite --postgres --reuse   # PostgreSQL filled once, reused

It creates a fresh database (SQLite file in a temporary folder; PostgreSQL: the schema of ``--pg-url``'s
database is dropped and recreated), migrates it, fills it with :func:`bench.synthetic.generate` (timed), then
times ``build_report`` (scope: everybody, ``--by`` breakdown), ``render_summary`` and ``render_chart`` over
``--repeat`` runs and prints the best and median figures. With ``--db`` (SQLite) or ``--reuse`` (PostgreSQL) a
database filled by an earlier run is reused as it is (only migrated): its data key and ``now`` are kept in a
``.json`` file beside it (PostgreSQL: in the temporary folder), and the output says "reused".
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.synthetic import generate  # noqa: E402
from bot.config import load_settings  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.session import create_engine, create_session_factory  # noqa: E402
from services.clock import FrozenClock  # noqa: E402
from services.crypto import NikCipher, decode_data_key, generate_data_key  # noqa: E402

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/uep_bench"


async def _timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    t = time.perf_counter()
    value = await fn()
    return time.perf_counter() - t, value


def state_file(url: str) -> Path:
    """Where a reused database's data key, ``now`` and fill figures are kept."""
    if url.startswith("sqlite"):
        return Path(url.split(":///", 1)[1] + ".json")
    name = url.rsplit("/", 1)[-1]
    return Path(tempfile.gettempdir(), f"uep-bench-report-{name}.json")


async def run(
    url: str, *, n: int, by: str, repeat: int, exports: bool, reuse: bool = False
) -> dict[str, Any]:
    from services.exports import export_table
    from services.reports import build_report, render_chart, render_summary, translator

    kept = state_file(url) if reuse else None
    saved = json.loads(kept.read_text()) if kept is not None and kept.exists() else None
    if saved is not None and saved["n"] != n:
        raise SystemExit(f"{kept} holds {saved['n']:,} recipients, not {n:,}: remove it to refill")
    if url.startswith("postgresql") and saved is None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    t = time.perf_counter()
    await asyncio.to_thread(upgrade, url)
    migrate_s = time.perf_counter() - t

    engine = create_engine(url)
    if saved is not None:
        key, now, gen_s = saved["key"], datetime.fromisoformat(saved["now"]), saved["generate_s"]
        cipher = NikCipher.from_master(decode_data_key(key))
        stats_dict = saved["stats"]
    else:
        key = generate_data_key()
        cipher = NikCipher.from_master(decode_data_key(key))
        now = datetime.now(UTC).replace(microsecond=0)
        t = time.perf_counter()
        stats = await generate(engine, n=n, cipher=cipher, now=now)
        gen_s = time.perf_counter() - t
        stats_dict = stats.as_dict()
        if kept is not None:
            kept.write_text(
                json.dumps({"n": n, "key": key, "now": now.isoformat(), "generate_s": gen_s, "stats": stats_dict})
            )

    settings = load_settings(ROOT / "config.toml", database={"url": url}, security={"data_key": key})
    clock = FrozenClock(now)
    sessions = create_session_factory(engine)
    gettext = translator("id")
    timings: dict[str, list[float]] = {
        "build_report": [],
        "render_summary": [],
        "render_chart": [],
        "total": [],
        "total, this process's CPU": [],  # SQLite works in this process; PostgreSQL's server time is not in it
    }
    report = None
    for _ in range(repeat):
        async with sessions() as session:
            t0, c0 = time.perf_counter(), time.process_time()
            report = await build_report(session, settings=settings, clock=clock, breakdown=by)
            t1 = time.perf_counter()
            summary = render_summary(report, gettext, "id")
            t2 = time.perf_counter()
            png = render_chart(report, gettext=gettext, locale="id")
            t3 = time.perf_counter()
        timings["build_report"].append(t1 - t0)
        timings["render_summary"].append(t2 - t1)
        timings["render_chart"].append(t3 - t2)
        timings["total"].append(t3 - t0)
        timings["total, this process's CPU"].append(time.process_time() - c0)
    assert report is not None

    export_s: dict[str, float] = {}
    if exports:
        for fmt in ("csv", "xlsx"):
            async with sessions() as session:
                buf = io.BytesIO()
                dt, res = await _timed(
                    lambda fmt=fmt, buf=buf, session=session: export_table(
                        session, "recipients", buf, fmt=fmt, settings=settings, cipher=cipher, clock=clock
                    )
                )
                export_s[
                    f"export recipients {fmt} ({res.rows:,} rows, {len(buf.getvalue()) / 1e6:.1f} MB)"
                ] = dt
    await engine.dispose()
    return {
        "migrate_s": migrate_s,
        "generate_s": gen_s,
        "reused": saved is not None,
        "stats": stats_dict,
        "timings": timings,
        "exports": export_s,
        "summary": summary,
        "png_bytes": len(png),
        "estimates": report.overall.estimates,
        "logrank": report.logrank,
        "groups": len(report.groups),
    }


def _print(label: str, res: dict[str, Any]) -> None:
    s = res["stats"]
    fill = "database reused (filled earlier" if res["reused"] else "generate: fresh database (filled"
    print(f"\n== {label}")
    print(
        f"{fill} in {res['generate_s']:.1f} s) for {s['recipients']:,} recipients, "
        f"{s['checkin_dues']:,} check-in periods, {s['checkins']:,} check-ins, "
        f"{s['status_changes']:,} status rows, {s['cases']:,} cases, "
        f"{s['photos']:,} photos (migrate {res['migrate_s']:.1f} s)"
    )
    for name, values in res["timings"].items():
        best, median = min(values) * 1000, statistics.median(values) * 1000
        print(f"{name:>26}: best {best:8.0f} ms   median {median:8.0f} ms")
    for name, dt in res["exports"].items():
        print(f"{name}: {dt:.1f} s")
    cells = []
    for m, e in res["estimates"].items():
        if e.survival is None:
            cells.append(f"{m} mo: not enough data (n={e.at_risk})")
        else:
            cells.append(f"{m} mo: {e.survival:.1%} ({e.lower:.1%}–{e.upper:.1%}, n={e.at_risk:,})")
    lr = res["logrank"]
    test = f"log-rank chi2={lr.statistic:.1f} df={lr.df} p={lr.p_value:.3g}" if lr else "log-rank: not testable"
    print(f"survival {'; '.join(cells)}")
    print(f"{res['groups']} groups; {test}; chart {res['png_bytes'] / 1024:.0f} KiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="recipients (default 100,000)")
    ap.add_argument("--by", default="kabupaten", help="breakdown of the timed report (default kabupaten)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--postgres",
        nargs="?",
        const=DEFAULT_PG,
        default=None,
        metavar="URL",
        help=f"also run on PostgreSQL (default {DEFAULT_PG}; its schema is reset)",
    )
    ap.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    ap.add_argument("--db", type=Path, help="SQLite file kept between runs: filled the first time, reused after")
    ap.add_argument("--reuse", action="store_true", help="PostgreSQL: keep the filled database between runs")
    ap.add_argument("--exports", action="store_true", help="also time the recipients CSV and XLSX exports")
    ap.add_argument("--show-summary", action="store_true", help="print the summary text once")
    args = ap.parse_args()

    results = []
    if args.db is not None and not args.no_sqlite:
        url = f"sqlite+aiosqlite:///{args.db.resolve()}"
        res = asyncio.run(run(url, n=args.n, by=args.by, repeat=args.repeat, exports=args.exports, reuse=True))
        results.append((f"SQLite ({args.db.stat().st_size / 1e6:.0f} MB file)", res))
        _print(results[-1][0], res)
    elif not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="uep-bench-") as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            res = asyncio.run(run(url, n=args.n, by=args.by, repeat=args.repeat, exports=args.exports))
            db_mb = Path(tmp, "bench.db").stat().st_size / 1e6
            results.append((f"SQLite ({db_mb:.0f} MB file)", res))
            _print(results[-1][0], res)
    if args.postgres:
        res = asyncio.run(
            run(args.postgres, n=args.n, by=args.by, repeat=args.repeat, exports=args.exports, reuse=args.reuse)
        )
        results.append(("PostgreSQL", res))
        _print("PostgreSQL", res)
    if args.show_summary and results:
        print("\n" + results[0][1]["summary"])
    print(f"\npeak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
