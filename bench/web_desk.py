"""Benchmark: server time of every web desk page with 100,000 recipients and 10,000 open cases.

    .venv/bin/python bench/web_desk.py                       # SQLite (a temporary file)
    .venv/bin/python bench/web_desk.py --postgres            # also PostgreSQL (database uep_bench, schema reset)
    .venv/bin/python bench/web_desk.py --n 20000 --open 2000 # smaller
    .venv/bin/python bench/web_desk.py --db /tmp/desk.db     # fill once, then time again and again

A fresh database is migrated and filled by :func:`bench.synthetic.generate` (recipients with two years of
check-ins, photos and cases), then topped up to ``--open`` open cases. The desk (``web.app.create_web_app``,
the same application ``uep web`` serves) runs on a local port; a caseworker and a TKSK are signed in through
the real link flow (``services.desk.auth``). Each page is requested ``--repeat`` times after one warm-up; the
time is the server's own (a middleware around every handler, template rendering included), and the slowest
page decides against the 300 ms target.
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

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from bench.case_queue import _reset  # noqa: E402  (a fresh, migrated database)
from bot.config import load_settings  # noqa: E402
from bot.context import AppContext  # noqa: E402
from db.enums import StaffRole  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Case, FieldWorker, Recipient, Staff, TelegramAccount  # noqa: E402
from services.clock import FrozenClock  # noqa: E402
from services.crypto import NikCipher, generate_data_key  # noqa: E402
from services.desk.auth import issue_link, redeem_link  # noqa: E402

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/uep_bench"
NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
KINDS = ("capital", "materials", "equipment", "no_buyers", "health_family", "permit_place", "disaster", "other")
OPEN = ("new", "taken", "visit_planned", "with_dissos", "reopened")
TARGET_MS = 300.0


async def _top_up_open_cases(ctx: AppContext, want: int, rng: random.Random) -> int:
    async with ctx.engine.begin() as conn:
        have = await conn.scalar(select(func.count()).select_from(Case).where(Case.next_due_at.is_not(None))) or 0
        next_id = (await conn.scalar(select(func.max(Case.id))) or 0) + 1
        recipients = list((await conn.execute(select(Recipient.id, Recipient.kecamatan_id))).all())
        rows = []
        for i in range(max(0, want - have)):
            rid, kec = rng.choice(recipients)
            created = NOW - timedelta(hours=rng.uniform(0, 24 * 60))
            state = rng.choice(OPEN)
            taken = None if state in ("new", "reopened") else created + timedelta(hours=rng.uniform(1, 30))
            take_due, resolve_due = created + timedelta(hours=24), NOW + timedelta(hours=rng.uniform(-500, 300))
            rows.append({
                "id": next_id + i, "number": f"UEP-2026-B{next_id + i:06d}", "recipient_id": rid, "kecamatan_id": kec,
                "kind": rng.choice(KINDS), "urgency": rng.choice(("high", "normal", "low")), "state": state,
                "source": "report", "with_dissos": state == "with_dissos", "take_due_at": take_due,
                "resolve_due_at": resolve_due, "taken_at": taken, "overdue": rng.random() < 0.1,
                "next_due_at": take_due if taken is None else resolve_due, "description": "Kendala usaha",
                "created_at": created, "updated_at": NOW,
            })
        for start in range(0, len(rows), 5000):
            await conn.execute(insert(Case), rows[start:start + 5000])
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))"))
        await conn.execute(text("ANALYZE"))
        return await conn.scalar(select(func.count()).select_from(Case).where(Case.next_due_at.is_not(None))) or 0


async def _people(ctx: AppContext) -> dict[str, Any]:
    async with ctx.session_factory.begin() as s:
        worker = await s.scalar(select(FieldWorker).order_by(FieldWorker.id).limit(1))
        accounts = {}
        for n, key in enumerate(("caseworker", "tksk")):
            account = await s.scalar(select(TelegramAccount).where(TelegramAccount.telegram_user_id == 9_000_000 + n))
            if account is None:  # first run on this database
                kwargs: dict[str, Any] = {"worker_id": worker.id}
                if key == "caseworker":
                    staff = Staff(name="Bench Caseworker", role=StaffRole.CASEWORKER, active=True, created_at=NOW)
                    s.add(staff)
                    await s.flush()
                    kwargs = {"staff_id": staff.id}
                account = TelegramAccount(telegram_user_id=9_000_000 + n, chat_id=9_000_000 + n, created_at=NOW,
                                          **kwargs)
                s.add(account)
            accounts[key] = account
        await s.flush()
        tokens = {k: await issue_link(s, a, now=NOW, settings=ctx.settings) for k, a in accounts.items()}
    cookies = {}
    for key, token in tokens.items():
        async with ctx.session_factory.begin() as s:
            cookies[key] = (await redeem_link(s, token, now=NOW, settings=ctx.settings)).token
    async with ctx.session_factory() as s:
        a_case = await s.scalar(select(Case.id).where(Case.next_due_at.is_not(None)).order_by(Case.id).limit(1))
        tksk_kec = worker.kecamatan_id
        tksk_case = await s.scalar(select(Case.id).where(Case.kecamatan_id == tksk_kec).limit(1))
        busy = await s.scalar(
            select(Case.recipient_id).group_by(Case.recipient_id).order_by(func.count().desc()).limit(1))
        a_name = (await s.scalar(select(Recipient.name).where(Recipient.id == busy))).split()[0]
        kab = await s.scalar(select(func.min(Recipient.kecamatan_id)))
    return {"cookies": cookies, "case": a_case, "tksk_case": tksk_case, "recipient": busy, "name": a_name,
            "kec": kab}


def _pages(p: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        ("caseworker", "cases: first page", "/cases"),
        ("caseworker", "cases: every state, newest", "/cases?state=all&sort=newest"),
        ("caseworker", "cases: page 40", "/cases?page=40"),
        ("caseworker", "cases: kabupaten + kind", "/cases?kab=1&kind=equipment"),
        ("caseworker", "cases: overdue, mine", "/cases?state=overdue&owner=mine"),
        ("caseworker", "cases: search a name", f"/cases?q={p['name']}&state=all"),
        ("caseworker", "case page", f"/cases/{p['case']}"),
        ("caseworker", "people: all", "/people"),
        ("caseworker", "people: search a name", f"/people?q={p['name']}"),
        ("caseworker", "people: page 100", "/people?page=100"),
        ("caseworker", "recipient page (most cases)", f"/people/{p['recipient']}"),
        ("caseworker", "sessions", "/sessions"),
        ("tksk", "TKSK: cases of the kecamatan", "/cases?state=all"),
        ("tksk", "TKSK: people of the kecamatan", "/people"),
    ]


async def run(url: str, *, n: int, n_open: int, repeat: int, reuse: bool = False) -> dict[str, Any]:
    """``reuse``: the database at ``url`` was filled by an earlier run (``--db``); time the pages only."""
    key_file = Path(url.removeprefix("sqlite+aiosqlite:///") + ".key") if reuse else None
    if key_file is not None and key_file.exists():
        data_key = key_file.read_text().strip()
        await asyncio.to_thread(upgrade, url)  # the code may have new migrations since the fill
    else:
        data_key = generate_data_key()
        await _reset(url)
    settings = load_settings(ROOT / "config.toml", database={"url": url}, security={"data_key": data_key})
    ctx = AppContext.build(settings, clock=FrozenClock(NOW))
    from bench.synthetic import generate

    t0 = time.perf_counter()
    if key_file is None or not key_file.exists():
        await generate(ctx.engine, n=n, cipher=NikCipher.from_master(settings.require_data_key()), now=NOW)
        await _top_up_open_cases(ctx, n_open, random.Random(3))
        if key_file is not None:
            key_file.write_text(data_key)
    fill_s = time.perf_counter() - t0
    async with ctx.session_factory() as s:
        recipients = await s.scalar(select(func.count()).select_from(Recipient)) or 0
        open_cases = await s.scalar(select(func.count()).select_from(Case).where(Case.next_due_at.is_not(None))) or 0
    people = await _people(ctx)

    server_ms: list[float] = []

    @web.middleware
    async def timing(request: web.Request, handler: Any) -> web.StreamResponse:
        start = time.perf_counter()
        try:
            return await handler(request)
        finally:
            server_ms.append((time.perf_counter() - start) * 1000)

    from web.app import create_web_app

    app = create_web_app(ctx)
    app.middlewares.insert(0, timing)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    results: dict[str, list[float]] = {}
    try:
        for who, label, path in _pages(people):
            async with aiohttp.ClientSession(base_url=str(server.make_url("")),
                                             cookies={"uep_desk": people["cookies"][who]}) as client:
                for i in range(repeat + 1):
                    async with client.get(path, allow_redirects=False) as answer:
                        body = await answer.read()
                        assert answer.status == 200, (label, answer.status, body[:300])
                    if i:  # the first is a warm-up
                        results.setdefault(label, []).append(server_ms[-1])
    finally:
        await server.close()
        await ctx.close()
    return {"recipients": recipients, "open": open_cases, "fill_s": fill_s, "pages": results}


def _print(label: str, res: dict[str, Any]) -> None:
    print(f"\n== {label}: {res['recipients']:,} recipients, {res['open']:,} open cases "
          f"(filled in {res['fill_s']:.0f} s)")
    worst = 0.0
    for name, values in res["pages"].items():
        median, top = statistics.median(values), max(values)
        worst = max(worst, median)
        print(f"{name:>32}: median {median:7.1f} ms   max {top:7.1f} ms")
    verdict = "within" if worst <= TARGET_MS else "OVER"
    print(f"slowest page median {worst:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="recipients (default 100,000)")
    ap.add_argument("--open", type=int, default=10_000, help="open cases at least (default 10,000)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--postgres", nargs="?", const=DEFAULT_PG, default=None, metavar="URL",
                    help=f"also run on PostgreSQL (default {DEFAULT_PG}; its schema is reset)")
    ap.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    ap.add_argument("--db", type=Path, help="SQLite file kept between runs: filled the first time, reused after")
    args = ap.parse_args()
    if args.db is not None:
        url = f"sqlite+aiosqlite:///{args.db.resolve()}"
        _print("SQLite", asyncio.run(run(url, n=args.n, n_open=args.open, repeat=args.repeat, reuse=True)))
    elif not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="uep-bench-") as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
            _print("SQLite", asyncio.run(run(url, n=args.n, n_open=args.open, repeat=args.repeat)))
    if args.postgres:
        _print("PostgreSQL", asyncio.run(run(args.postgres, n=args.n, n_open=args.open, repeat=args.repeat)))


if __name__ == "__main__":
    main()
