"""The modules whose scan tasks run every tick. Each feature adds its import here."""

from __future__ import annotations

import scheduler.broadcast_tasks  # noqa: F401  (starts scheduled broadcasts)
import scheduler.case_tasks  # noqa: F401  (case deadlines and notices)
import scheduler.monitoring_tasks  # noqa: F401  (visit plan rows, weekly visit lists, overdue visits)
import scheduler.onboarding_tasks  # noqa: F401  (aid arrived: invite waiting recipients to confirm receipt)
import scheduler.ops_tasks  # noqa: F401  (prunes the ledger of processed updates)
import scheduler.outbox_tasks  # noqa: F401  (the outbox: alerts and notices to others)
import scheduler.privacy_tasks  # noqa: F401  (UU PDP request and breach deadlines, messages, retention)
import scheduler.reminder_tasks  # noqa: F401  (check-in reminders, missed digest, photo downloads)
