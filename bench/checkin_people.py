"""What the check-in benches share: the people, their seven taps, and how a burst is measured.

Used by ``bench/checkin_burst.py`` (one polling bot on SQLite), ``bench/multiworker_burst.py`` (webhook workers
on PostgreSQL + Redis) and ``tests/ops/test_multi_worker.py`` (through ``bench.multiworker``).

How latency is measured (honestly): from just before a simulated person's action is handed to the emulator
(``time.perf_counter``) to the moment the emulator accepted the bot's answer to it, i.e. when "Telegram" got
the reply (:class:`Arrivals`, a subscriber of the emulator's event bus), not when this process's event loop got
round to waking the waiting person. The emulator and the people share one event loop; its lag is measured as
well (:class:`LoopLag`), so a bench whose own process is the bottleneck says so. CPU is read from
``/proc/<pid>/stat`` for every process involved (:func:`cpu_seconds`).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.config import load_settings
from bot.context import AppContext
from db.models import Checkin, Photo
from db.session import create_engine, create_session_factory
from sandbox.events import BOT_EDIT, BOT_MESSAGE
from services.schedule import schedule_next_checkin
from tests import factories

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config.toml"
CODE = "import sys; from bot.cli import app; sys.argv[0] = 'uep'; app()"  # `uep ...` in a process of its own
# The seven-tap "running" check-in with one photo: (how, what, a piece of the answer that ends the wait).
STEPS = [
    ("reply", "📋 Lapor usaha", "Bagaimana usaha Anda sekarang?"),
    ("press", "✅ Masih jalan", "Berapa hari usaha buka"),
    ("press", "6", "berapa penjualan"),
    ("press", "Rp500 ribu–1 juta", "Kirim 1 sampai 3 foto"),
    ("photo", None, "Foto diterima"),
    ("reply", "➡️ Lanjut tanpa lokasi", "Kirim laporan ini?"),
    ("press", "✅ Kirim", "Laporan berikutnya tanggal"),
]
STEP_NAMES = ["menu", "status", "days", "sales", "photo", "continue", "send"]


async def seed(settings_env: Mapping[str, str], people: int, base_tg: int) -> None:
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


async def count_waiting_photos(url: str) -> int:
    """Photos recorded but not yet downloaded: in a burst, past the immediate downloads' backlog, the photo scan
    task stores them (``conversations.checkin._download_soon``)."""
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as s:
            return await s.scalar(select(func.count()).select_from(Photo).where(Photo.status == "pending")) or 0
    finally:
        await engine.dispose()


class Arrivals:
    """When the emulator accepted each bot message or edit: (chat, message id, text) → first perf_counter."""

    def __init__(self, emulator: Any) -> None:
        self._at: dict[tuple[int, int, str], float] = {}
        self._unsubscribe = emulator.subscribe(self._seen)

    def _seen(self, event: Any) -> None:
        if event.kind in (BOT_MESSAGE, BOT_EDIT) and event.message is not None:
            key = (event.chat_id, event.message.message_id, event.message.text or "")
            self._at.setdefault(key, time.perf_counter())

    def of(self, chat_id: int, message: Any) -> float:
        return self._at.get((chat_id, message.message_id, message.text or ""), time.perf_counter())

    def close(self) -> None:
        self._unsubscribe()


@dataclass
class Latencies:
    """Seconds per answer, overall and by step of the check-in."""

    all: list[float] = field(default_factory=list)
    by_step: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, step: int, seconds: float) -> None:
        self.all.append(seconds)
        self.by_step[step].append(seconds)

    def __len__(self) -> int:
        return len(self.all)

    def line(self) -> str:
        v = sorted(self.all)
        if not v:
            return "no answers"
        return (f"latency p50 {statistics.median(v) * 1000:.0f} ms, p90 {percentile(v, 0.90) * 1000:.0f} ms, "
                f"p99 {percentile(v, 0.99) * 1000:.0f} ms, max {v[-1] * 1000:.0f} ms")

    def steps_line(self) -> str:
        parts = []
        for step, values in sorted(self.by_step.items()):
            v = sorted(values)
            parts.append(f"{STEP_NAMES[step]} {statistics.median(v) * 1000:.0f}/{percentile(v, 0.99) * 1000:.0f}")
        return "p50/p99 ms by step: " + ", ".join(parts)


async def one_check_in(person: Any, jpeg: bytes, latencies: Latencies | list[float], start: float, think: float,
                       rng: random.Random, timeout: float = 300, arrivals: Arrivals | None = None) -> None:
    """One person's seven taps, ``start`` s from now, ``think`` s (0.5–1.5×) between them."""
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
        answer = await person.wait_for(expect, timeout=timeout)
        seconds = (arrivals.of(person.id, answer) if arrivals is not None else time.perf_counter()) - t
        if isinstance(latencies, Latencies):
            latencies.add(step, seconds)
        else:
            latencies.append(seconds)


async def to_main_menu(emulator: Any, people: Sequence[Any], timeout: float = 600) -> None:
    """Everyone sends /start and sees the main menu, as after onboarding (the warm-up before a burst)."""
    for p in people:
        await p.command("start")
    await asyncio.gather(*(p.wait_for("Apa yang ingin", timeout=timeout) for p in people))
    await emulator.wait_until_processed(120, quiet=1.0)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    return sorted_values[max(0, round(len(sorted_values) * q) - 1)]


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process so far (this one when ``pid`` is None)."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine so far, over every core (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK"), sum(fields) / os.sysconf("SC_CLK_TCK")


def servers_cpu() -> dict[str, float]:
    """CPU seconds so far of the PostgreSQL and Redis processes alive now (by command name)."""
    used = {"postgres": 0.0, "redis-server": 0.0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        if name in used:
            fields = text.rpartition(")")[2].split()
            used[name] += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


class CpuMeter:
    """CPU seconds used by named processes between :meth:`start` and :meth:`stop` (a killed one: up to its end),
    by the database and Redis servers, and by the whole machine (which also holds everything else running)."""

    def __init__(self, pids: Mapping[str, int | None]) -> None:
        self.pids = dict(pids)
        self._start: dict[str, float] = {}
        self._last: dict[str, float] = {}
        self.used: dict[str, float] = {}
        self._machine = (0.0, 0.0)
        self._servers: dict[str, float] = {}
        self.machine_busy = 0.0
        self.servers: dict[str, float] = {}

    def start(self) -> None:
        self._start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self._last = dict(self._start)
        self._machine = machine_cpu()
        self._servers = servers_cpu()

    def sample(self) -> None:
        """Remember the latest figures (call now and then, so a process killed later still counts)."""
        for name, pid in self.pids.items():
            now = cpu_seconds(pid)
            if now:
                self._last[name] = now

    def stop(self) -> dict[str, float]:
        self.sample()
        self.used = {name: self._last[name] - self._start[name] for name in self.pids}
        busy, total = machine_cpu()
        self.machine_busy = (busy - self._machine[0]) / max(1e-9, total - self._machine[1]) * (os.cpu_count() or 1)
        # Backends that ended during the burst are missed, those that began count whole: an estimate.
        self.servers = {name: max(0.0, used - self._servers.get(name, 0.0)) for name, used in servers_cpu().items()}
        return self.used

    def line(self, updates: int, wall: float) -> str:
        parts = [f"{name} {used:.1f} s ({used / wall * 100:.0f}% of a core)" for name, used in self.used.items()]
        bots = sum(used for name, used in self.used.items() if name.startswith(("bot", "worker")))
        servers = ", ".join(f"{name} {used:.1f} s ({used / wall * 100:.0f}%)" for name, used in self.servers.items())
        return (f"CPU during the burst: {', '.join(parts)}; bot processes {bots / max(1, updates) * 1000:.1f} ms "
                f"per update; {servers}; the machine busy {self.machine_busy:.2f} of {os.cpu_count()} cores")


class LoopLag:
    """How late this process's event loop wakes a 50 ms sleep (the emulator and the people share it)."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.05)
            self.lags.append(time.perf_counter() - t - 0.05)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def line(self) -> str:
        v = sorted(self.lags) or [0.0]
        return (f"bench loop lag p50 {statistics.median(v) * 1000:.0f} ms, p99 {percentile(v, 0.99) * 1000:.0f} ms, "
                f"max {v[-1] * 1000:.0f} ms")


async def sample_while(meter: CpuMeter, until: asyncio.Future[Any], every: float = 1.0) -> None:
    """Sample ``meter`` every ``every`` s until ``until`` is done."""
    while not until.done():
        meter.sample()
        await asyncio.wait({until}, timeout=every)
