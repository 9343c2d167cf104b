"""The queue-depth probes of the core queues (``uep_queue_depth{queue}``), read at each ``/metrics`` scrape.

Each is one indexed ``COUNT``: due reminders not yet sent, broadcast deliveries still to send, open cases whose
take or resolve deadline has passed (the alerts the deadline scan owes). Other parts register their own queue
with :func:`services.metrics.queue_probe`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import DeliveryStatus, ReminderStatus
from db.models import BroadcastDelivery, Case, Reminder
from services.metrics import queue_probe


@queue_probe("due_reminders")
async def due_reminders(session: AsyncSession, now: datetime) -> int:
    return await session.scalar(
        select(func.count()).select_from(Reminder)
        .where(Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now)
    ) or 0


@queue_probe("broadcast_deliveries")
async def pending_deliveries(session: AsyncSession, now: datetime) -> int:
    return await session.scalar(
        select(func.count()).select_from(BroadcastDelivery).where(BroadcastDelivery.status == DeliveryStatus.PENDING)
    ) or 0


@queue_probe("case_deadlines_passed")
async def passed_case_deadlines(session: AsyncSession, now: datetime) -> int:
    return await session.scalar(
        select(func.count()).select_from(Case).where(Case.next_due_at.is_not(None), Case.next_due_at <= now)
    ) or 0
