"""The one outgoing pacer under the 08:00 WITA load, in the emulator's strict flood mode (Telegram's 30/s).

    .venv/bin/python bench/outgoing.py                   # 5,000 reminders + 1,500-person broadcast + urgent alerts
    .venv/bin/python bench/outgoing.py --reminders 1000 --audience 300 --alerts 4   # a shorter run
    .venv/bin/python bench/outgoing.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/uep_bench_out
    .venv/bin/python bench/outgoing.py --redis redis://127.0.0.1:6379/2             # the pacer shared via Redis

At once, in one process through the real Bot API client, with the emulator in a child process (as Telegram is
another machine; strict flood control: 30/s overall, 1/s per chat with a burst of 3):

* the reminder scan task (``checkin_reminders``, every ``--tick`` seconds) with ``--reminders`` due: each tick
  queues outbox rows (priority ROUTINE), sent by the outbox sender running as in the bot;
* a broadcast to ``--audience`` of those people (``DeliveryEngine`` with progress edits to its sender, BULK);
* ``--alerts`` urgent cases opened one every ``--alert-every`` seconds while both run, each alert queued for the
  kecamatan's TKSK in the outbox (``services.cases.notify.alert_later``) and sent after the commit by the
  outbox sender running as in the bot (priority URGENT); latency = from the commit to the emulator receiving the
  TKSK's card.

Reports: 429s provoked (emulator), the sending rate while the queue is full (first to last message, and the
slowest and fastest 10-second window) against ``telegram.global_rate``, urgent-alert latency, that every
reminder, broadcast message and alert arrived once, and how late this process's event loop ran (a loaded machine
starves it: the pacer cannot send on time when its process gets no CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, text  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.context import AppContext  # noqa: E402
from bot.factory import create_bot, create_i18n  # noqa: E402
from bot.messenger import Messenger  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import (  # noqa: E402
    CheckinDue,
    FieldWorker,
    Kabupaten,
    Kecamatan,
    Recipient,
    Reminder,
    Staff,
    TelegramAccount,
)
from sandbox.emulator import TelegramEmulator  # noqa: E402
from scheduler.reminder_tasks import checkin_reminders  # noqa: E402
from scheduler.tasks import TaskRun  # noqa: E402
from services.broadcast import deliveries as dl  # noqa: E402
from services.broadcast.audience import Audience  # noqa: E402
from services.broadcast.progress import TelegramProgress  # noqa: E402
from services.broadcast.sender import DeliveryEngine  # noqa: E402
from services.cases.notify import alert_later, owners  # noqa: E402
from services.cases.opening import open_case  # noqa: E402
from services.clock import FrozenClock  # noqa: E402
from services.crypto import generate_data_key  # noqa: E402
from services.outgoing.outbox import OutboxSender  # noqa: E402
from services.outgoing.pacer import Pacer, RedisBucket  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "config.toml"
TOKEN = "5000000012:AAEbenchOutgoingPacerToken000000000"
NOW = datetime(2026, 3, 6, 0, 0, 30, tzinfo=UTC)  # 08:00:30 WITA
BASE_TG = 710_000_000
TKSK_TG = (720_000_001, 720_000_002)
STAFF_TG = 730_000_001
CHUNK = 5_000


async def fill(ctx: AppContext, reminders: int, audience: int) -> tuple[list[int], int]:
    """Recipients 1..reminders with a due reminder; the last ``audience`` of them live in kecamatan B (the
    broadcast's audience). Each kecamatan has a TKSK in the bot; one caseworker sends the broadcast."""
    now = NOW
    async with ctx.session_factory.begin() as s:
        kab = (await s.execute(
            insert(Kabupaten).values(code="6472", name="Kota Samarinda").returning(Kabupaten.id))).scalar()
        kecs = [(await s.execute(insert(Kecamatan).values(code=code, name=name, kabupaten_id=kab)
                                 .returning(Kecamatan.id))).scalar()
                for code, name in (("647201", "Palaran"), ("647202", "Samarinda Ilir"))]
        for n, (kec, tg) in enumerate(zip(kecs, TKSK_TG, strict=True), start=1):
            wid = (await s.execute(insert(FieldWorker).values(
                nik_hash=f"w{n:063d}", nik_encrypted=b"x" * 44, name=f"TKSK {n}", role="tksk", phone=None,
                kecamatan_id=kec, active=True, created_at=now, updated_at=now).returning(FieldWorker.id))).scalar()
            await s.execute(insert(TelegramAccount).values(
                id=900_000 + n, telegram_user_id=tg, chat_id=tg, first_name="TKSK", worker_id=wid, is_proxy=False,
                created_at=now))
        sid = (await s.execute(insert(Staff).values(name="Budi Dissos", role="caseworker", active=True,
                                                    created_at=now).returning(Staff.id))).scalar()
        await s.execute(insert(TelegramAccount).values(
            id=910_000, telegram_user_id=STAFF_TG, chat_id=STAFF_TG, first_name="Budi", staff_id=sid,
            is_proxy=False, created_at=now))
    blob = b"x" * 44
    first_b = reminders - audience + 1
    for start in range(0, reminders, CHUNK):
        ids = range(start + 1, min(start + CHUNK, reminders) + 1)
        async with ctx.session_factory.begin() as s:
            await s.execute(insert(Recipient), [dict(
                id=i, nik_hash=f"{i:064d}", nik_encrypted=blob, name=f"Penerima {i}", sex="P",
                birth_date=date(1980, 1, 1), phone=None, address="", desa="Desa",
                kecamatan_id=kecs[1] if i >= first_b else kecs[0], dtks_id="", pkh=False, business_type="kue",
                aid_value=4_750_000, aid_date=date(2026, 2, 20), onboarding_state="active",
                business_status="running", created_at=now, updated_at=now) for i in ids])
            await s.execute(insert(TelegramAccount), [dict(
                id=i, telegram_user_id=BASE_TG + i, chat_id=BASE_TG + i, first_name="P", recipient_id=i,
                is_proxy=False, created_at=now) for i in ids])
            await s.execute(insert(CheckinDue), [dict(
                id=i, recipient_id=i, period_no=1, state="open", due_at=now - timedelta(minutes=1)) for i in ids])
            await s.execute(insert(Reminder), [dict(
                dedupe_key=f"checkin:{i}:1:0", kind="checkin_reminder", recipient_id=i, checkin_due_id=i, step=0,
                due_at=now - timedelta(seconds=30), status="pending", attempts=0) for i in ids])
    return kecs, first_b


def windows(times: list[float], width: float = 10.0) -> list[float]:
    """Messages per second in consecutive full windows of ``width`` seconds from the first message."""
    if not times:
        return []
    t0, end = times[0], times[-1]
    out = []
    start = t0
    while start + width <= end:
        out.append(sum(1 for t in times if start <= t < start + width) / width)
        start += width
    return out


async def serve_emulator(port: int, people: int) -> None:
    """The child process: the emulator in strict flood mode, recording when each bot message arrived."""
    emu = TelegramEmulator()
    emu.add_bot(TOKEN, "bench_bot")
    for i in range(1, people + 1):
        emu.person(BASE_TG + i, f"P{i}", started=True)
    for tg in (*TKSK_TG, STAFF_TG):
        emu.person(tg, "staff", started=True)
    emu.set_flood(True)  # Telegram's limits: 30/s overall (burst 30), 1/s per chat (burst 3)
    sent: list[tuple[float, int, str]] = []

    def on_event(ev) -> None:  # type: ignore[no-untyped-def]
        if ev.kind == "bot_message":
            content = (ev.message.content or "") if ev.message is not None else ""
            tag = ("reminder" if "Saatnya melaporkan" in content else "broadcast" if "Pelatihan usaha" in content
                   else content[:120])
            sent.append((time.time(), ev.chat_id, tag))

    emu.subscribe(on_event)

    await emu.start(port=port)
    print(f"ready {emu.base_url}", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # the parent asks for the report
    print(json.dumps({"sent": sent, "stats": emu.stats,
                      "violations": [str(v) for v in emu.violation_log.unexpected]}), flush=True)
    await emu.stop()


async def loop_lag(samples: list[float], idle: list[tuple[float, bool]], pacer: Pacer, stop: asyncio.Event,
                   every: float = 0.05) -> None:
    """How late the event loop wakes, and whether anything was waiting for the pacer (True: nothing to send)."""
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(every)
        samples.append(time.perf_counter() - t - every)
        idle.append((time.time(), pacer.waiting() == 0))


def fed_windows(times: list[float], idle: list[tuple[float, bool]], width: float = 10.0) -> list[float]:
    """Messages per second in the full windows in which something was always waiting for the pacer: what the
    pacer itself sends when it is never short of work."""
    if not times:
        return []
    out = []
    start = times[0]
    while start + width <= times[-1]:
        samples = [empty for t, empty in idle if start <= t < start + width]
        if samples and not any(samples):
            out.append(sum(1 for t in times if start <= t < start + width) / width)
        start += width
    return out


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve-emulator", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--postgres", help="PostgreSQL URL of a database the benchmark may wipe")
    ap.add_argument("--redis", help="share the pacer through this Redis (keys uep:bench:pacer:<pid>:*)")
    ap.add_argument("--reminders", type=int, default=5_000)
    ap.add_argument("--audience", type=int, default=1_500)
    ap.add_argument("--alerts", type=int, default=10)
    ap.add_argument("--alert-every", type=float, default=8.0)
    ap.add_argument("--tick", type=float, default=5.0, help="seconds between reminder scan ticks")
    ap.add_argument("--port", type=int, default=0, help="emulator port (0: any free one)")
    args = ap.parse_args()
    if args.serve_emulator:
        await serve_emulator(args.port, args.reminders)
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite+aiosqlite:///{tmp}/outgoing.db"
        os.environ["UEP_DATABASE__URL"] = url
        os.environ["UEP_SECURITY__DATA_KEY"] = generate_data_key()
        settings = load_settings(CONFIG)
        if args.redis:
            settings.telegram.pacer_redis_url = args.redis
        if args.postgres:
            from db.session import create_engine

            engine = create_engine(url)
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await engine.dispose()
        await asyncio.to_thread(upgrade, url)
        ctx = AppContext.build(settings, clock=FrozenClock(NOW))
        if args.redis:  # keys of this run only, so an earlier run's bucket or pause does not count
            await ctx.pacer.close()
            ctx.pacer = Pacer(bucket=RedisBucket(args.redis, prefix=f"uep:bench:pacer:{os.getpid()}"),
                              limits=settings.telegram)
        kecs, _first_b = await fill(ctx, args.reminders, args.audience)
        child = subprocess.Popen(  # noqa: ASYNC220
            [sys.executable, __file__, "--serve-emulator", "--port", str(args.port or 18119),
             "--reminders", str(args.reminders)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        ready = await asyncio.to_thread(child.stdout.readline)
        if not ready.startswith("ready "):
            raise SystemExit(f"the emulator did not start: {ready!r}")
        base_url = ready.split()[1]
        settings.telegram.api_base = base_url
        bot = create_bot(ctx, token=TOKEN)
        i18n = create_i18n(ctx)
        messenger = Messenger(bot, i18n, ctx.clock, pacer=ctx.pacer)
        async with ctx.session_factory.begin() as s:
            b = await dl.create_broadcast(
                s, ctx.clock, actor="Budi Dissos", actor_account_id=910_000, progress_chat_id=STAFF_TG,
                text_id="Pelatihan usaha hari Senin pukul 09.00 WITA di kantor kecamatan.", text_en=None,
                photo_file_id=None, audience=Audience(kecamatan_ids=[kecs[1]]),
            )
            bid = b.id
        sink = TelegramProgress(bot, i18n, ctx.session_factory, ctx.clock, settings, pacer=ctx.pacer)
        broadcast = DeliveryEngine(ctx.session_factory, bot, ctx.clock, settings.broadcast, sink=sink,
                                   broadcast_id=bid, pacer=ctx.pacer)
        enqueued: dict[str, float] = {}

        outbox = OutboxSender(ctx, messenger)
        outbox_task = asyncio.create_task(outbox.run())

        async def urgent_alerts() -> int:
            await asyncio.sleep(args.alert_every / 2)
            for n in range(args.alerts):
                rid = 1 + n if n % 2 == 0 else args.reminders - n  # kecamatan A, then B, ...
                async with ctx.session_factory.begin() as s:
                    recipient = await s.get(Recipient, rid)
                    opened = await open_case(s, recipient=recipient, kind="disaster", urgency="high",
                                             description="Banjir: gerobak rusak", settings=settings, clock=ctx.clock)
                    case = opened.case
                    await alert_later(s, case, await owners(s, case), what="new", event_id=n + 1, now=NOW,
                                      settings=settings)
                    number = case.number
                enqueued[number] = time.time()  # committed: the outbox sender is woken and sends it
                await asyncio.sleep(args.alert_every)
            return args.alerts

        ticks = [0]

        async def outbox_pending() -> int:
            from services.outgoing.outbox import pending_count

            async with ctx.session_factory() as s:
                return await pending_count(s)

        async def reminders() -> int:
            """The reminder scan task every ``--tick`` seconds (each queues in the outbox what the pacer can send in
            most of one interval, less what still waits there), until every reminder is sent."""
            from services.reminders import pending_reminders

            run = TaskRun(ctx=ctx, messenger=messenger, now=NOW)
            total = 0
            with i18n.context():
                while True:
                    handled = await checkin_reminders(run)
                    total += handled
                    ticks[0] += 1 if handled else 0
                    async with ctx.session_factory() as s:
                        due_left = await s.scalar(select(Reminder.id).where(Reminder.status == "pending").limit(1))
                        waiting = await pending_reminders(s)
                    if due_left is None and not waiting:
                        return total
                    await asyncio.sleep(args.tick)

        lag: list[float] = []
        idle: list[tuple[float, bool]] = []
        stop_lag = asyncio.Event()
        lag_task = asyncio.create_task(loop_lag(lag, idle, ctx.pacer, stop_lag))
        try:
            t0 = time.perf_counter()
            reminder_task = asyncio.create_task(reminders())
            broadcast_task = asyncio.create_task(broadcast.run(until_idle=True))
            alerts_task = asyncio.create_task(urgent_alerts())
            handled = await reminder_task
            t_reminders = time.perf_counter() - t0
            await broadcast_task
            t_broadcast = time.perf_counter() - t0
            alerts = await alerts_task
            for _ in range(100):  # the last alert's card
                if not await outbox_pending():
                    break
                await asyncio.sleep(0.1)
            outbox_task.cancel()
            elapsed = time.perf_counter() - t0
            await asyncio.sleep(0.5)
            stop_lag.set()
            await lag_task
            assert child.stdin is not None
            child.stdin.write("report\n")
            child.stdin.flush()
            report = json.loads(await asyncio.to_thread(child.stdout.readline))
            sent = report["sent"]
            sent_at = [t for t, _chat, _text in sent]
            delivered = sum(1 for _t, _c, tag in sent if tag == "reminder")
            got_broadcast = sum(1 for _t, _c, tag in sent if tag == "broadcast")
            alert_seen = {}
            for t, chat, body in sent:
                for number in enqueued:
                    if chat in TKSK_TG and number in body and number not in alert_seen:
                        alert_seen[number] = t
            async with ctx.session_factory() as s:
                counts = await dl.counts(s, bid)
                unsent = await s.scalar(select(Reminder.id).where(Reminder.status == "pending").limit(1))
            latencies = sorted(alert_seen[k] - enqueued[k] for k in alert_seen)
            busy = sent_at[-1] - sent_at[0] if len(sent_at) > 1 else 0.0
            rate = (len(sent_at) - 1) / busy if busy else 0.0
            wins = windows(sent_at)
            limit = settings.telegram.global_rate
            backend = ("PostgreSQL" if args.postgres else "SQLite") + (" + Redis pacer" if args.redis else "")
            print(f"{backend}, emulator strict flood mode (30/s, 1/s per chat), pacer at {limit:g}/s")
            print(f"reminders: {handled:,} queued in {ticks[0]} scan ticks, {delivered:,} delivered, done after "
                  f"{t_reminders:.1f} s; "
                  f"pending left: {unsent is not None}")
            print(f"broadcast: {counts.sent:,}/{counts.total:,} sent ({got_broadcast:,} in the emulator), "
                  f"done after {t_broadcast:.1f} s; failed {counts.failed}")
            print(f"urgent alerts: {len(latencies)}/{alerts} delivered through the outbox; latency "
                  f"max {max(latencies, default=float('nan')):.3f} s, median "
                  f"{statistics.median(latencies) if latencies else float('nan'):.3f} s")
            print(f"messages: {len(sent_at):,} in {busy:.1f} s = {rate:.2f}/s ({100 * (rate - limit) / limit:+.1f}% "
                  f"of the limit); 10-s windows min {min(wins, default=0):.1f}/s max {max(wins, default=0):.1f}/s")
            lag.sort()
            print(f"event loop of the bot process late by: median {1000 * lag[len(lag) // 2]:.0f} ms, p99 "
                  f"{1000 * lag[int(len(lag) * 0.99)]:.0f} ms, max {1000 * lag[-1]:.0f} ms; "
                  f"{sum(1 for x in lag if x > 0.2) / len(lag):.1%} of samples over 200 ms (load average "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores); nothing waiting for the pacer in "
                  f"{sum(e for _t, e in idle) / max(1, len(idle)):.1%} of samples")
            fed = fed_windows(sent_at, idle)
            if fed:
                fed_rate = statistics.mean(fed)
                print(f"while the pacer always had work waiting ({len(fed)} of {len(wins)} windows): "
                      f"{fed_rate:.2f}/s ({100 * (fed_rate - limit) / limit:+.1f}% of the limit), "
                      f"min {min(fed):.1f}/s max {max(fed):.1f}/s")
            print("10-s windows (messages/s): " + " ".join(f"{w:.1f}" for w in wins))
            last = {tag: max((t for t, _c, g in sent if g == tag), default=0.0) - sent_at[0]
                    for tag in ("reminder", "broadcast")}
            print(f"last reminder {last['reminder']:.1f} s, last broadcast message {last['broadcast']:.1f} s "
                  "after the first message")
            print(f"429s provoked: {report['stats']['flood_429']}; pacer backoffs {ctx.pacer.stats.backoffs}; "
                  f"longest wait per priority (s): "
                  + ", ".join(f"{p}={w:.2f}" for p, w in sorted(ctx.pacer.stats.max_wait.items()))
                  + f"; total {elapsed:.1f} s")
            assert delivered == args.reminders and got_broadcast == args.audience == counts.sent
            assert len(latencies) == args.alerts
            assert report["violations"] == [], report["violations"][:3]
        finally:
            await bot.session.close()
            if child.poll() is None:
                child.terminate()
            child.wait(10)
            await ctx.close()


if __name__ == "__main__":
    asyncio.run(main())
