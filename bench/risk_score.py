"""How early the risk score (services/monitoring/risk.py) warns of businesses that later stop.

    .venv/bin/python -m bench.risk_score [--n 3000] [--seed 1] [--weeks 56]

Data: ``bench/synthetic.py`` with ``failure_signals=True`` (a known failure process: businesses that will stop
decline in the 3-12 weeks before, see its docs) in a fresh SQLite file. Then the score is computed *as of* a
snapshot every 7 days (only rows dated before it count), for every recipient with aid and still in business then.

Figures:
* **median days before the stop that the score flags it**: for each later stop, the earliest weekly snapshot
  from which the score stayed at or above ``monitoring.risk_high`` until the stop (0 when never flagged);
* **share of later stops in the top 20% of the score 30 days before**: at the last snapshot at least 30 days
  before the stop, ranked among everyone alive then; ties counted against the stop (pessimistic) and at the middle;
* for comparison, the share of everyone alive who is flagged at a snapshot (the TKSK's list would carry them).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.config import load_settings
from db.migrate import upgrade
from db.models import BusinessStatusChange, Recipient
from db.session import create_engine, create_session_factory
from services.crypto import NikCipher
from services.monitoring.risk import risk_scores

NOW = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
CONFIG = Path(__file__).resolve().parents[1] / "config.toml"


async def measure(url: str, n: int, seed: int, weeks: int) -> dict[str, float]:
    from bench.synthetic import generate

    settings = load_settings(CONFIG)
    engine = create_engine(url)
    t0 = time.perf_counter()
    await generate(engine, n=n, cipher=NikCipher.from_master(b"k" * 32), now=NOW, seed=seed,
                   failure_signals=True)
    generated = time.perf_counter() - t0
    factory = create_session_factory(engine)
    async with factory() as session:
        aid = dict((await session.execute(
            select(Recipient.id, Recipient.aid_date).where(Recipient.aid_date.is_not(None)))).all())
        stops = dict((await session.execute(
            select(BusinessStatusChange.recipient_id, BusinessStatusChange.changed_at)
            .where(BusinessStatusChange.status == "stopped"))).all())
        snapshots = [NOW - timedelta(days=7 * k) for k in range(weeks, -1, -1)]
        scores: dict[datetime, dict[int, int]] = {}
        t1 = time.perf_counter()
        for at in snapshots:
            alive = [rid for rid, day in aid.items()
                     if day <= at.date() - timedelta(days=14) and not (rid in stops and stops[rid] <= at)]
            risks = await risk_scores(session, alive, now=at, settings=settings)
            scores[at] = {rid: r.score for rid, r in risks.items()}
        scored = time.perf_counter() - t1
    await engine.dispose()

    high = settings.monitoring.risk_high
    first = snapshots[0]
    lead_days: list[int] = []
    top_pessimistic = top_middle = ranked = 0
    flagged_share: list[float] = []
    for at in snapshots:
        values = list(scores[at].values())
        if values:
            flagged_share.append(sum(v >= high for v in values) / len(values))
    for rid, stop in stops.items():
        before = [at for at in snapshots if at < stop and rid in scores[at]]
        if stop - timedelta(days=120) < first or not before:
            continue  # not enough history in the window
        lead = 0
        for at in reversed(before):
            if stop - at > timedelta(days=120) or scores[at][rid] < high:
                break
            lead = (stop - at).days
        lead_days.append(lead)
        month_before = [at for at in before if stop - at >= timedelta(days=30)]
        if not month_before:
            continue
        at = month_before[-1]
        own = scores[at][rid]
        values = list(scores[at].values())
        higher = sum(v > own for v in values)
        tied = sum(v == own for v in values)
        ranked += 1
        top_pessimistic += (higher + tied) <= 0.2 * len(values)
        top_middle += (higher + (tied + 1) / 2) <= 0.2 * len(values)
    flagged = [d for d in lead_days if d > 0]
    return {
        "recipients": n, "stops_measured": len(lead_days), "generate_s": round(generated, 1),
        "score_s_per_snapshot": round(scored / len(snapshots), 2),
        "median_days_flagged_before_stop": statistics.median(lead_days) if lead_days else 0,
        "median_days_among_flagged": statistics.median(flagged) if flagged else 0,
        "share_of_stops_flagged_at_all": round(len(flagged) / len(lead_days), 3) if lead_days else 0,
        "top20_30d_before_pessimistic": round(top_pessimistic / ranked, 3) if ranked else 0,
        "top20_30d_before_ties_middle": round(top_middle / ranked, 3) if ranked else 0,
        "share_of_everyone_flagged": round(statistics.mean(flagged_share), 3) if flagged_share else 0,
        "risk_high": high,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--weeks", type=int, default=56)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/risk.db"
        upgrade(url)  # synchronous (Alembic runs its own event loop)
        result = asyncio.run(measure(url, args.n, args.seed, args.weeks))
    for key, value in result.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
