"""Several webhook workers behind one "proxy" (the emulator's round-robin delivery), on PostgreSQL + Redis, with
recipients doing full check-ins: the parts shared by ``bench/multiworker_burst.py`` and
``tests/ops/test_multi_worker.py``.

Each worker is ``uep run --webhook --no-scheduler --port P`` in a process of its own, as docs/deploy.md runs
them; one ``uep scheduler`` process runs the scans. The emulator posts every update to the workers in turn,
retries one that got no 2xx within its time-out on the next worker, and answers every Bot API call after
``rtt`` seconds when it can (``set_rtt``, the outbox helper's emulator delay).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bot.config import load_settings
from bot.context import AppContext
from db.models import Checkin, Photo
from db.session import create_engine, create_session_factory
from sandbox.emulator import TelegramEmulator
from services.schedule import schedule_next_checkin
from tests import factories

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config.toml"
TOKEN = "5000000007:AAEbenchMultiWorkerToken00000000000"
SECRET = "multi-worker-secret"
CODE = "import sys; from bot.cli import app; sys.argv[0] = 'uep'; app()"
STEPS = [
    ("reply", "📋 Lapor usaha", "Bagaimana usaha Anda sekarang?"),
    ("press", "✅ Masih jalan", "Berapa hari usaha buka"),
    ("press", "6", "berapa penjualan"),
    ("press", "Rp500 ribu–1 juta", "Kirim 1 sampai 3 foto"),
    ("photo", None, "Foto diterima"),
    ("reply", "➡️ Lanjut tanpa lokasi", "Kirim laporan ini?"),
    ("press", "✅ Kirim", "Laporan berikutnya tanggal"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def seed(settings_env: dict[str, str], people: int, base_tg: int) -> None:
    """``people`` active recipients with a check-in due, linked to Telegram ids from ``base_tg``."""
    old = {k: os.environ.get(k) for k in settings_env}
    os.environ.update(settings_env)
    try:
        settings = load_settings(CONFIG)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    ctx = AppContext.build(settings)
    try:
        async with ctx.session_factory.begin() as s:
            kec = await factories.region(s)
            for i in range(people):
                r = await factories.recipient(s, ctx.cipher, ctx.clock, settings, kecamatan=kec, name=f"Penerima {i}",
                                              aid_date=date.today())
                await factories.link(s, ctx.clock, base_tg + i, recipient=r)
                await schedule_next_checkin(s, r, settings=settings, now=ctx.clock.now())
    finally:
        await ctx.close()


async def count_stored(url: str) -> tuple[int, int, int]:
    """(check-ins, distinct recipients with a check-in, photos stored)."""
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as s:
            checkins = await s.scalar(select(func.count()).select_from(Checkin)) or 0
            people = await s.scalar(select(func.count(func.distinct(Checkin.recipient_id)))) or 0
            photos = await s.scalar(select(func.count()).select_from(Photo).where(Photo.status == "stored")) or 0
    finally:
        await engine.dispose()
    return checkins, people, photos


@dataclass
class Worker:
    port: int
    proc: asyncio.subprocess.Process
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    """The workers and the scheduler process, started and stopped by this harness (by their own handles)."""

    env: dict[str, str]
    workers: list[Worker] = field(default_factory=list)
    scheduler: asyncio.subprocess.Process | None = None
    logs: list[Any] = field(default_factory=list)

    async def start_worker(self, port: int, log_dir: Path) -> Worker:
        log_path = log_dir / f"worker-{port}.log"
        log_file = open(log_path, "wb")  # noqa: SIM115, ASYNC230 - closed in stop()
        self.logs.append(log_file)
        env = dict(self.env, UEP_TELEGRAM__WEBHOOK_URL=f"http://127.0.0.1:{port}")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CODE, "run", "--webhook", "--no-scheduler", "--port", str(port),
            cwd=ROOT, env=env, stdout=log_file, stderr=log_file)
        worker = Worker(port, proc, log_path)
        self.workers.append(worker)
        return worker

    async def start_scheduler(self, monitoring_port: int, log_dir: Path) -> None:
        log_file = open(log_dir / "scheduler.log", "wb")  # noqa: SIM115, ASYNC230 - closed in stop()
        self.logs.append(log_file)
        env = dict(self.env, UEP_MONITORING__PORT=str(monitoring_port))
        self.scheduler = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CODE, "scheduler", cwd=ROOT, env=env, stdout=log_file, stderr=log_file)

    async def wait_healthy(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            for worker in self.workers:
                while True:
                    if worker.proc.returncode is not None:
                        raise RuntimeError(f"worker {worker.port} exited: {worker.log_path.read_text()[-2000:]}")
                    try:
                        async with http.get(worker.url + "/healthz") as resp:
                            if resp.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"worker {worker.port} not healthy: {worker.log_path.read_text()[-2000:]}")
                    await asyncio.sleep(0.25)

    def kill(self, worker: Worker) -> None:
        """``kill -9`` of one worker this harness started (by its process handle)."""
        worker.proc.send_signal(signal.SIGKILL)

    async def updates_handled(self) -> dict[int, float]:
        """Updates handled so far by each live worker, from its /metrics."""
        out: dict[int, float] = {}
        async with aiohttp.ClientSession() as http:
            for worker in self.workers:
                if worker.proc.returncode is not None:
                    continue
                try:
                    async with http.get(worker.url + "/metrics") as resp:
                        page = await resp.text()
                except aiohttp.ClientError:
                    continue
                out[worker.port] = sum(float(line.rpartition(" ")[2]) for line in page.splitlines()
                                       if line.startswith("uep_updates_total{"))
        return out

    async def stop(self) -> None:
        procs = [w.proc for w in self.workers] + ([self.scheduler] if self.scheduler else [])
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for log_file in self.logs:
            log_file.close()


def cluster_env(*, db_url: str, redis_url: str, data_key: str, media_dir: str, api_base: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UEP_") or k.startswith("UEP_TEST_")}
    env.update(
        BOT_TOKEN=TOKEN, PYTHONUNBUFFERED="1",
        UEP_DATABASE__URL=db_url, UEP_SECURITY__DATA_KEY=data_key, UEP_STORAGE__MEDIA_DIR=media_dir,
        UEP_TELEGRAM__API_BASE=api_base, UEP_TELEGRAM__WEBHOOK_SECRET=SECRET,
        UEP_TELEGRAM__WEBHOOK_HOST="127.0.0.1", UEP_TELEGRAM__WEBHOOK_MAX_CONNECTIONS="100",
        UEP_FSM__STORAGE="redis", UEP_FSM__REDIS_URL=redis_url, UEP_THROTTLING__RATE="1000",
    )
    return env


async def start_emulator(port: int = 0, *, rtt: float = 0.0, webhook_timeout: float = 10.0) -> TelegramEmulator:
    emulator = TelegramEmulator()
    emulator.webhook_timeout = webhook_timeout
    emulator.webhook_retry_delay = 0.2
    if rtt and hasattr(emulator, "set_rtt"):
        emulator.set_rtt(rtt)
    await emulator.start(port=port)
    emulator.add_bot(TOKEN, "uep_multi_bot")
    return emulator


async def one_check_in(person: Any, jpeg: bytes, latencies: list[float], start: float, think: float,
                       rng: random.Random, timeout: float = 300) -> None:
    await asyncio.sleep(start)
    for step, (kind, label, expect) in enumerate(STEPS):
        if step and think:
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))
        t = time.perf_counter()
        if kind == "reply":
            await person.press_reply(label)
        elif kind == "press":
            await person.press(label)
        else:
            await person.send_photo(jpeg)
        await person.wait_for(expect, timeout=timeout)
        latencies.append(time.perf_counter() - t)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    return sorted_values[max(0, round(len(sorted_values) * q) - 1)]
