"""#23 §2 and §5 in small: three ``uep run --webhook`` workers behind the emulator's round-robin delivery, on
PostgreSQL + Redis (conversation state in the database, Redis isolation), recipients doing full check-ins with
a photo, and one worker killed with SIGKILL in mid-burst. Nothing is lost (the emulator redelivers what the dead
worker never answered), nothing is stored twice, and every worker took its share."""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

import pytest

from bench import multiworker as mw
from bot.config import Settings
from sandbox.media import make_jpeg
from tests.conftest import TEST_DATA_KEY, reachable_redis, using_postgres

PEOPLE = 24
BASE_TG = 781_000_000


@pytest.fixture
async def redis_url() -> str:
    if not using_postgres():
        pytest.skip("several processes on one database need PostgreSQL (UEP_TEST_DB=postgresql)")
    return await reachable_redis(empty=True)


async def test_three_workers_a_kill_9_mid_burst_lose_nothing_and_store_nothing_twice(
    settings: Settings, redis_url: str, tmp_path: Path
) -> None:
    url = settings.database.url
    emulator = await mw.start_emulator(webhook_timeout=10.0)
    env = mw.cluster_env(db_url=url, redis_url=redis_url, data_key=TEST_DATA_KEY, media_dir=str(tmp_path / "media"),
                         api_base=emulator.base_url)
    env.update(UEP_FSM__STORAGE=os.environ.get("OPS_FSM", "db"), UEP_FSM__EVENTS_ISOLATION="redis",
               UEP_FSM__ISOLATION_LOCK_SECONDS="15")
    await mw.seed(env, PEOPLE, BASE_TG)
    cluster = mw.Cluster(env)
    try:
        for _ in range(3):
            await cluster.start_worker(mw.free_port(), tmp_path)
        await cluster.wait_healthy()
        emulator.set_webhook_targets([w.url + "/telegram/webhook" for w in cluster.workers])
        people = [emulator.person(BASE_TG + i, f"P{i}", bot=mw.TOKEN, started=True) for i in range(PEOPLE)]
        for p in people:
            await p.command("start")
        await asyncio.gather(*(p.wait_for("Apa yang ingin", timeout=120) for p in people))

        rng = random.Random(3)
        latencies: list[float] = []
        burst = asyncio.gather(*(
            mw.one_check_in(p, make_jpeg(320, 240, seed=500 + i), latencies, rng.uniform(0, 4), 0.3, rng,
                            timeout=120)
            for i, p in enumerate(people)
        ))
        victim = cluster.workers[0]
        for _ in range(2400):  # a third of the way through the burst (a plain list the people append to)
            if len(latencies) >= PEOPLE * len(mw.STEPS) // 3:
                break
            await asyncio.sleep(0.05)
        if not os.environ.get("OPS_NO_KILL"):
            cluster.kill(victim)
        try:
            await asyncio.wait_for(burst, 240)  # every person got every answer, the dead worker's updates included
        except BaseException:
            delivery = emulator.webhook_delivery(mw.TOKEN)
            print("pending", emulator.bots[0].updates.pending, "attempts", delivery and delivery._attempts)
            for w in cluster.workers:
                lines = [line for line in w.log_path.read_text().splitlines()
                         if "aiohttp.access" not in line and "is handled" not in line]
                print(f"--- worker {w.port}", "\n".join(lines[-40:]))
            raise
        await emulator.wait_until_processed(60, quiet=1.0)

        checkins, recipients, _photos = await mw.count_stored(url)
        assert (checkins, recipients) == (PEOPLE, PEOPLE)  # each check-in stored exactly once
        handled = await cluster.updates_handled()
        assert len(handled) == 2 and all(n > 0 for n in handled.values()), handled  # the survivors shared it
        delivery = emulator.webhook_delivery(mw.TOKEN)
        assert delivery is not None and delivery.redelivered > 0  # what the victim never answered went again
        await victim.proc.wait()
        assert victim.proc.returncode == -9
        apologies = [m.text for p in people for m in p.messages if "Maaf" in (m.text or "")]
        assert apologies == []
    finally:
        await cluster.stop()
        await emulator.stop()
