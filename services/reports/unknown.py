"""The one definition of "status unknown", used by every report, chart, export and page.

A recipient with aid whose current business status is ``unknown`` is in exactly one of three groups:

* **never reported** (``never_reported``): nothing since the aid (no check-in, no status row), although their
  first check-in has fallen due (the first day of the check-in cadence, ``checkin.due_hour`` WITA);
* **check-ins missed** (``missed``): they reported at least once since the aid, then missed their check-ins
  (missing a check-in is what turns a known status into ``unknown``);
* **not yet due** (``not_yet_due``): nothing since the aid, and their first check-in has not fallen due yet.

So ``never_reported + missed + not_yet_due == unknown`` always, per group and overall, and no two lines of a
report can contradict each other. Whether the recipient joined the bot does not matter here: the cadence
runs from the aid date for everyone (the onboarding figures say who has not joined).

Every recipient in the survival figures is either known (running, changed business, paused, stopped) or in
one of these three groups: ``known + unknown == n``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from db.enums import BusinessStatus
from services.reports.survival import Subject


class UnknownReason(StrEnum):
    NEVER_REPORTED = "never_reported"
    MISSED = "missed"
    NOT_YET_DUE = "not_yet_due"


REASONS: tuple[UnknownReason, ...] = (
    UnknownReason.NEVER_REPORTED,
    UnknownReason.MISSED,
    UnknownReason.NOT_YET_DUE,
)


def first_due_offset_days(settings: Any) -> int:
    """Days from the aid to the first check-in (the first step of :func:`services.schedule.cadence`)."""
    from services.schedule import cadence

    start = date(2000, 1, 1)
    _period, day = next(cadence(start, settings))
    return (day - start).days


def unknown_reason(subject: Subject, *, last_due_day: date, first_due_days: int) -> UnknownReason | None:
    """Why this recipient's status is unknown (None when it is known).

    ``last_due_day``: the latest local day whose check-ins have fallen due by now (today from the due hour
    on, yesterday before it)."""
    if subject.status != BusinessStatus.UNKNOWN:
        return None
    if subject.ever_reported:
        return UnknownReason.MISSED
    if subject.aid_date + timedelta(days=first_due_days) <= last_due_day:
        return UnknownReason.NEVER_REPORTED
    return UnknownReason.NOT_YET_DUE


def classifier(settings: Any, now: datetime) -> Callable[[Subject], UnknownReason | None]:
    """:func:`unknown_reason` with the settings' cadence and the clock's ``now`` bound in."""
    local = now.astimezone(settings.program.tz)
    last_due_day = local.date() if local.hour >= settings.checkin.due_hour else local.date() - timedelta(days=1)
    offset = first_due_offset_days(settings)
    return lambda subject: unknown_reason(subject, last_due_day=last_due_day, first_due_days=offset)


def count_reasons(subjects: Iterable[Subject], reason_of: Callable[[Subject], str | None]) -> dict[str, int]:
    """Recipients per reason, every reason present (zeros included)."""
    counts: Counter[str] = Counter()
    for subject in subjects:
        why = reason_of(subject)
        if why is not None:
            counts[why] += 1
    return {r.value: counts.get(r.value, 0) for r in REASONS}


__all__ = ["REASONS", "UnknownReason", "classifier", "count_reasons", "first_due_offset_days", "unknown_reason"]
