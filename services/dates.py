"""One way to write dates across the bot: "Kamis, 3 Des 2026" (English "Thursday, 3 Dec 2026").

"hari ini" and "besok" are used only in messages read at once (a reply), in lower case mid-sentence
(:func:`relative_day`, :func:`relative_moment`). Anything stored and read later (a notice, a card, a
reminder, a history) carries the date itself (:func:`long_date`, :func:`long_moment`), so "the TKSK visits
on ..." is still true the next day. A button (read at once, little room) is :func:`day_button`:
"Besok, 3 Des", "Sabtu, 5 Des". Times are WITA (``settings.program.tz``), written "13:00".

Exports keep ISO dates in their data columns; file names keep their sortable stamps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, tzinfo
from functools import cache

from aiogram.utils.i18n import gettext as _

from bot.i18n import N_

WEEKDAY_NAMES = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
                 N_("Sunday"))
TODAY, TOMORROW = N_("today"), N_("tomorrow")
TODAY_LABEL, TOMORROW_LABEL = N_("Today"), N_("Tomorrow")
MONTH_ABBREVIATIONS = (N_("Jan"), N_("Feb"), N_("Mar"), N_("Apr"), N_("May"), N_("Jun"), N_("Jul"), N_("Aug"),
                       N_("Sep"), N_("Oct"), N_("Nov"), N_("Dec"))


Gettext = Callable[[str], str]


def _t(msgid: str, gettext: Gettext | None = None) -> str:
    if gettext is not None:
        return gettext(msgid)
    try:
        return _(msgid)
    except LookupError:  # outside an update (no language in context): English
        return msgid


@cache
def indonesian() -> Gettext:
    """Indonesian whatever the context (an official letter is always written in Indonesian)."""
    from bot.i18n import CatalogI18n

    return CatalogI18n(locales=("id",)).translator("id")


def _day(value: date | datetime, tz: tzinfo | None) -> date:
    if isinstance(value, datetime):
        return (value.astimezone(tz) if tz is not None else value).date()
    return value


def long_date(day: date | datetime, tz: tzinfo | None = None, *, gettext: Gettext | None = None) -> str:
    """ "Kamis, 3 Des 2026" (a datetime is first put in ``tz``; ``gettext``: a language other than the
    context's)."""
    day = _day(day, tz)
    weekday, month = _t(WEEKDAY_NAMES[day.weekday()], gettext), _t(MONTH_ABBREVIATIONS[day.month - 1], gettext)
    return f"{weekday}, {day.day} {month} {day.year}"


def clock_time(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M")


def long_moment(moment: datetime, tz: tzinfo, *, zone: bool = False, gettext: Gettext | None = None) -> str:
    """ "Kamis, 3 Des 2026 13:00" (``zone``: with " WITA")."""
    text = f"{long_date(moment, tz, gettext=gettext)} {clock_time(moment, tz)}"
    return text + " WITA" if zone else text


def relative_day(day: date, today: date) -> str:
    """For a reply read at once, mid-sentence: "hari ini", "besok", otherwise the long date."""
    if day == today:
        return _t(TODAY)
    if (day - today).days == 1:
        return _t(TOMORROW)
    return long_date(day)


def relative_moment(moment: datetime, now: datetime, tz: tzinfo) -> str:
    """For a reply read at once, mid-sentence: "hari ini 13:00", "besok 08:00", "Kamis, 3 Des 2026 13:00"."""
    return f"{relative_day(_day(moment, tz), _day(now, tz))} {clock_time(moment, tz)}"


def day_button(day: date, today: date) -> str:
    """A day on a button (read at once, short): "Hari ini, 2 Des", "Besok, 3 Des", "Sabtu, 5 Des"."""
    if day == today:
        head = _t(TODAY_LABEL)
    elif (day - today).days == 1:
        head = _t(TOMORROW_LABEL)
    else:
        head = _t(WEEKDAY_NAMES[day.weekday()])
    return f"{head}, {day.day} {_t(MONTH_ABBREVIATIONS[day.month - 1])}"
