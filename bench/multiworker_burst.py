"""#23 §5: recipients doing full check-ins with one photo against N webhook workers on PostgreSQL + Redis.

    .venv/bin/python bench/multiworker_burst.py                       # 1,500 people within a minute, 3 workers
    .venv/bin/python bench/multiworker_burst.py --workers 1           # the same with one worker (scaling)
    .venv/bin/python bench/multiworker_burst.py --kill-at 0.4         # kill -9 one worker 40% into the burst

Each worker is ``uep run --webhook --no-scheduler`` in its own process (docs/deploy.md), one ``uep scheduler``
beside them; the emulator (in this process) delivers webhooks round-robin to the workers, redelivers what got
no 2xx within ``--webhook-timeout``, and answers every Bot API call after ``--rtt`` ms when it supports it.
Reports: check-ins stored (each person exactly once), photos stored, p50/p90/p99 reply latency (overall and by
step, measured as ``bench/checkin_people.py`` says), updates/s overall and per worker (from each worker's
/metrics), redeliveries, the CPU of every process during the burst (per update for the workers) and the lag of
this process's event loop (the emulator and the people). Ports from ``--port`` (emulator) upwards.
The database (``--pg-url``) is emptied first: never point it at one that matters.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from bench import checkin_people as cp  # noqa: E402
from bench import multiworker as mw  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.session import create_engine  # noqa: E402
from sandbox.media import make_jpeg  # noqa: E402
from services.crypto import generate_data_key  # noqa: E402

BASE_TG = 790_000_000


async def _reset(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    await asyncio.to_thread(upgrade, url)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=1500)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--spread", type=float, default=60.0, help="seconds over which the people start")
    ap.add_argument("--think", type=float, default=1.0, help="mean pause between one person's taps, seconds")
    ap.add_argument("--rtt", type=float, default=100.0, help="ms before the emulator answers each API call")
    ap.add_argument("--kill-at", type=float, default=0.0, help="kill -9 one worker at this fraction of the burst")
    ap.add_argument("--webhook-timeout", type=float, default=10.0)
    ap.add_argument("--port", type=int, default=18120, help="emulator port; workers and scheduler take the next")
    ap.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test_ops")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    ap.add_argument("--log-dir", help="keep the workers' and the scheduler's logs here (default: a temp dir)")
    args = ap.parse_args()
    rng = random.Random(11)
    await _reset(args.pg_url)
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(args.log_dir or tmp)
        logs.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - before anything runs concurrently
        emulator = await mw.start_emulator(args.port, rtt=args.rtt / 1000, webhook_timeout=args.webhook_timeout)
        rtt_note = "" if hasattr(emulator, "set_rtt") else " (this emulator has no rtt delay: 0 ms)"
        env = mw.cluster_env(db_url=args.pg_url, redis_url=args.redis_url, data_key=generate_data_key(),
                             media_dir=f"{tmp}/media", api_base=emulator.base_url)
        env.update(UEP_FSM__STORAGE="db", UEP_FSM__EVENTS_ISOLATION="redis", UEP_FSM__ISOLATION_LOCK_SECONDS="15")
        await mw.seed(env, args.people, BASE_TG)
        cluster = mw.Cluster(env)
        try:
            for i in range(args.workers):
                await cluster.start_worker(args.port + 1 + i, logs)
            await cluster.start_scheduler(args.port + 1 + args.workers, logs)
            await cluster.wait_healthy()
            emulator.set_webhook_targets([w.url + "/telegram/webhook" for w in cluster.workers])
            people = [emulator.person(BASE_TG + i, f"P{i}", bot=mw.TOKEN, started=True) for i in range(args.people)]
            await cp.to_main_menu(emulator, people)
            jpegs = [make_jpeg(640, 480, seed=1000 + i) for i in range(args.people)]
            before = await cluster.updates_handled()
            latencies = cp.Latencies()
            arrivals = cp.Arrivals(emulator)
            cpu = cp.CpuMeter({**{f"worker {w.port}": w.proc.pid for w in cluster.workers},
                               "scheduler": cluster.scheduler.pid if cluster.scheduler else None,
                               "bench (emulator + people)": None})
            lag = cp.LoopLag()
            cpu.start()
            lag.start()
            t = time.perf_counter()
            burst = asyncio.gather(*(
                cp.one_check_in(p, jpeg, latencies, rng.uniform(0, args.spread), args.think, rng, arrivals=arrivals)
                for p, jpeg in zip(people, jpegs, strict=True)
            ))
            sampling = asyncio.create_task(cp.sample_while(cpu, burst))
            if args.kill_at:
                target = int(args.people * len(cp.STEPS) * args.kill_at)
                for _ in range(100_000):
                    if len(latencies) >= target:
                        break
                    await asyncio.sleep(0.05)
                cpu.sample()
                cluster.kill(cluster.workers[0])
                print(f"kill -9 worker on port {cluster.workers[0].port} after {len(latencies)} answers")
            await burst
            wall = time.perf_counter() - t
            await sampling
            cpu.stop()
            await lag.stop()
            after = await cluster.updates_handled()
            await emulator.wait_until_processed(120, quiet=2.0)
            checkins, recipients, photos = await cp.count_stored(args.pg_url)
            waiting = await cp.count_waiting_photos(args.pg_url)
            delivery = emulator.webhook_delivery(mw.TOKEN)
            per_worker = {port: (after[port] - before.get(port, 0)) / wall for port in after}
            print(f"{args.people} people within {args.spread:g} s, {args.workers} workers, rtt {args.rtt:g} ms"
                  f"{rtt_note}: {checkins} check-ins for {recipients} people, {photos} photos stored"
                  f"{f' ({waiting} more waiting for the photo scan)' if waiting else ''}; burst "
                  f"{wall:.1f} s, {len(latencies) / wall:.0f} updates/s; per worker "
                  + ", ".join(f"{port}: {rate:.0f}/s" for port, rate in sorted(per_worker.items()))
                  + f"; {latencies.line()}; redelivered {delivery.redelivered if delivery else 0}")
            print("  " + latencies.steps_line())
            print("  " + cpu.line(len(latencies), wall) + "; " + lag.line())
            assert checkins == recipients == args.people, "every check-in stored exactly once"
        finally:
            await cluster.stop()
            await emulator.stop()


if __name__ == "__main__":
    asyncio.run(main())
