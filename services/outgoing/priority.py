"""Which waiting message goes out first when the send budget is short. Lower value = sooner."""

from __future__ import annotations

from enum import IntEnum


class Priority(IntEnum):
    URGENT = 0    # urgent case alerts to a TKSK or caseworker
    CASE = 1      # case notices and other alerts about a person's case
    ROUTINE = 2   # reminders, digests, onboarding and review notices, a broadcast's progress for its sender
    BULK = 3      # broadcasts
