"""One way to write dates across the bot: "Kamis, 3 Des 2026" (English "Thursday, 3 Dec 2026").

"hari ini" and "besok" are used only in messages read at once (a reply), in lower case mid-sentence
(:func:`relative_day`). Anything stored and read later (a notice, a card) carries the date itself
(:func:`long_date`), so "the TKSK visits on ..." is still true the next day.
"""

from __future__ import annotations

from datetime import date

from aiogram.utils.i18n import gettext as _

from bot.i18n import N_

WEEKDAY_NAMES = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
                 N_("Sunday"))
TODAY, TOMORROW = N_("today"), N_("tomorrow")
MONTH_ABBREVIATIONS = (N_("Jan"), N_("Feb"), N_("Mar"), N_("Apr"), N_("May"), N_("Jun"), N_("Jul"), N_("Aug"),
                       N_("Sep"), N_("Oct"), N_("Nov"), N_("Dec"))


def _t(msgid: str) -> str:
    try:
        return _(msgid)
    except LookupError:  # outside an update (no language in context): English
        return msgid


def long_date(day: date) -> str:
    return f"{_t(WEEKDAY_NAMES[day.weekday()])}, {day.day} {_t(MONTH_ABBREVIATIONS[day.month - 1])} {day.year}"


def relative_day(day: date, today: date) -> str:
    """For a reply read at once, mid-sentence: "hari ini", "besok", otherwise the long date."""
    if day == today:
        return _t(TODAY)
    if (day - today).days == 1:
        return _t(TOMORROW)
    return long_date(day)
