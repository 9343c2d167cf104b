"""Prometheus metrics of one bot process, served at ``/metrics`` by ``uep run`` (see ``bot/monitoring.py``).

Each process has its own counters; Prometheus scrapes every process (one target per worker) and sums them.
What is counted, and where:

- ``uep_updates_total{type,outcome}`` and ``uep_update_seconds{type}``: every update, by the dispatcher's
  outermost middleware (``bot/middlewares/metrics.py``); outcome ``handled``, ``unhandled`` or ``error``.
- ``uep_messages_sent_total{kind,outcome}`` and ``uep_telegram_429_total{method}``: every Bot API call that
  sends or edits a message, by a middleware of the bot's HTTP session, so every path is seen whatever sends
  it. ``kind`` is whatever the code sending set with :func:`sending` (``reply`` inside an update, a scan
  task's name, ``broadcast``); outcome ``sent``, ``blocked`` (403), ``rejected`` (other 4xx), ``retry_after``
  (429), ``server_error`` (5xx) or ``network``.
- ``uep_queue_depth{queue}``: rows waiting, read from the database at each scrape by the probes registered
  with :func:`queue_probe` (due reminders, pending broadcast deliveries, case deadlines passed, ...).
- ``uep_scan_seconds{task}``: the duration of each scan task of the scheduler's tick.
- ``uep_webhook_rejected_total{reason}``: webhook posts refused with a 400 (malformed update).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

UPDATES = Counter("uep_updates", "Updates handled, by update type and outcome.", ["type", "outcome"])
UPDATE_SECONDS = Histogram(
    "uep_update_seconds", "Time to handle one update (middlewares and handler, commit included).", ["type"],
    buckets=_LATENCY_BUCKETS,
)
MESSAGES_SENT = Counter(
    "uep_messages_sent", "Bot API calls that send or edit a message, by kind and outcome.", ["kind", "outcome"]
)
TELEGRAM_429 = Counter("uep_telegram_429", "429 Too Many Requests answers from Telegram, by method.", ["method"])
QUEUE_DEPTH = Gauge("uep_queue_depth", "Rows waiting to be handled, read at each scrape.", ["queue"])
SCAN_SECONDS = Histogram(
    "uep_scan_seconds", "Duration of one scan task in the scheduler's tick.", ["task"], buckets=_LATENCY_BUCKETS
)
WEBHOOK_REJECTED = Counter("uep_webhook_rejected", "Webhook posts refused as malformed (400).", ["reason"])

CONTENT_TYPE = CONTENT_TYPE_LATEST

# What the code running now is sending (a reply, a reminder, a broadcast ...): the label of MESSAGES_SENT.
_sending_kind: ContextVar[str] = ContextVar("uep_sending_kind", default="other")


@contextmanager
def sending(kind: str) -> Iterator[None]:
    """Bot API calls made inside this block (and by tasks it starts) count as messages of ``kind``."""
    token = _sending_kind.set(kind)
    try:
        yield
    finally:
        _sending_kind.reset(token)


def sending_kind() -> str:
    return _sending_kind.get()


def set_sending_kind(kind: str) -> None:
    """For a task that sends one kind for all its life (a background worker)."""
    _sending_kind.set(kind)


QueueProbe = Callable[[AsyncSession, datetime], Awaitable[int]]
_PROBES: dict[str, QueueProbe] = {}


def queue_probe(name: str) -> Callable[[QueueProbe], QueueProbe]:
    """Register ``async def probe(session, now) -> int``: the depth of queue ``name``, read at each scrape."""

    def register(func: QueueProbe) -> QueueProbe:
        _PROBES[name] = func
        return func

    return register


async def refresh_queue_depths(session: AsyncSession, now: datetime) -> dict[str, int]:
    """Read every registered queue's depth into QUEUE_DEPTH; a failing probe is logged and skipped."""
    import services.metrics_queues  # noqa: F401  (registers the probes of the core queues)

    depths: dict[str, int] = {}
    for name, probe in _PROBES.items():
        try:
            depths[name] = int(await probe(session, now))
        except Exception:  # noqa: BLE001 - a scrape must answer even when one probe breaks
            log.warning("queue probe %s failed", name, exc_info=log.isEnabledFor(logging.DEBUG))
            await session.rollback()
            continue
        QUEUE_DEPTH.labels(name).set(depths[name])
    return depths


def exposition() -> bytes:
    """The metrics of this process in Prometheus' text format."""
    return generate_latest()
