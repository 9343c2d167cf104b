"""Benchmark: the retention scan anonymising a whole program, and "see my data" for one person.

    .venv/bin/python bench/privacy_retention.py               # 1,500 synthetic recipients on SQLite
    .venv/bin/python bench/privacy_retention.py --n 10000

A fresh SQLite file is migrated and filled by :func:`bench.synthetic.generate` (two years of check-ins, status
history, cases, photos); ``privacy.program_end`` is set in the past with zero retention days, and
:func:`services.privacy.anonymise.run_retention` (the scan task's body: one transaction per person) is timed
until everyone is anonymised. The survival report (every breakdown) is built before and after and compared:
the script fails if any figure differs. Then one person's "what is held" (collect + the file) is timed, for
the recipient with the most check-ins.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench.synthetic import generate  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.context import AppContext  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Checkin, Recipient  # noqa: E402
from db.session import create_engine, create_session_factory  # noqa: E402
from services.clock import FrozenClock  # noqa: E402
from services.crypto import NikCipher, decode_data_key, generate_data_key  # noqa: E402


async def _reports(ctx: AppContext) -> list[str]:
    from services.reports import build_report, render_summary, translator
    from services.reports.report import BREAKDOWNS

    out = []
    async with ctx.session_factory() as s:
        for by in (None, *BREAKDOWNS):
            report = await build_report(s, settings=ctx.settings, clock=ctx.clock, breakdown=by)
            out.append(render_summary(report, translator("id"), "id") + repr(report.overall) + repr(report.groups))
    return out


async def run(n: int) -> None:
    from services.privacy import held
    from services.privacy.anonymise import run_retention
    from services.privacy.language import speaking

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        await asyncio.to_thread(upgrade, url)
        key = generate_data_key()
        cipher = NikCipher.from_master(decode_data_key(key))
        now = datetime.now(UTC).replace(microsecond=0)
        engine = create_engine(url)
        await generate(engine, n=n, cipher=cipher, now=now)
        settings = load_settings(ROOT / "config.toml", database={"url": url}, security={"data_key": key},
                                 storage={"media_dir": f"{folder}/media"})
        ctx = AppContext(settings=settings, engine=engine, session_factory=create_session_factory(engine),
                         cipher=cipher, clock=FrozenClock(now))

        async with ctx.session_factory() as s:
            busiest = (await s.execute(select(Checkin.recipient_id, func.count()).group_by(Checkin.recipient_id)
                                       .order_by(func.count().desc()).limit(1))).one()
            person = await s.get(Recipient, busiest[0])
            t = time.perf_counter()
            data = await held.collect(s, person, cipher=cipher)
            with speaking("id"):
                text = held.full_text(data, settings, "id")
            held_s = time.perf_counter() - t
        print(f"what is held, recipient with {busiest[1]} check-ins: {held_s * 1000:.0f} ms, file {len(text):,} bytes")

        before = await _reports(ctx)
        settings.privacy.program_end = date(2000, 1, 1)
        settings.privacy.retention_days_after_program = 0
        t = time.perf_counter()
        done = await run_retention(ctx, now)
        took = time.perf_counter() - t
        after = await _reports(ctx)
        print(f"retention: anonymised {done:,} recipients in {took:.1f} s ({took / max(done, 1) * 1000:.1f} ms each)")
        print("survival report before == after:", before == after)
        for b, a in zip(before, after, strict=True):
            if b != a:
                import difflib

                print("\n".join(difflib.unified_diff(b.splitlines(), a.splitlines(), lineterm="", n=0)))
                break
        await engine.dispose()
        if before != after or done != n:
            raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1500)
    asyncio.run(run(parser.parse_args().n))


if __name__ == "__main__":
    main()
