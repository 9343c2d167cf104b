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
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

# The people, their check-in and how it is measured are shared with bench/checkin_burst.py.
from bench.checkin_people import (  # noqa: F401  (re-exported for tests/ops/test_multi_worker.py)
    CODE,
    ROOT,
    STEPS,
    count_stored,
    one_check_in,
    percentile,
    seed,
)
from sandbox.emulator import TelegramEmulator

TOKEN = "5000000007:AAEbenchMultiWorkerToken00000000000"
SECRET = "multi-worker-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
