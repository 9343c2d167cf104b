"""Jinja2 filters of the desk: times in WITA written out ("Kamis, 3 Des 2026 14:05 WITA", services.dates), and
stored codes (actors such as "recipient:12", states, kinds) shown as the same translated labels the bot uses."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import jinja2
from aiogram.utils.i18n import get_i18n, gettext

from bot.config import Settings
from services.cases.views import ACTION_LABELS, actor_label, duration, event_note
from services.dates import long_date, long_moment
from services.desk.labels import broadcast_status_label, consent_label, onboarding_label
from services.i18n_labels import (
    business_status_label,
    business_type_label,
    case_kind_label,
    case_state_label,
    urgency_label,
)
from services.privacy.requests import kind_label as privacy_kind_label
from services.privacy.requests import state_label as privacy_state_label


def _locale() -> str:
    return get_i18n().current_locale


def install(env: jinja2.Environment, settings: Settings) -> None:
    tz = settings.program.tz

    def wita(moment: datetime | None) -> str:
        if moment is None:
            return "–"
        return long_moment(moment, tz, zone=True)

    def day(value: date | datetime | None) -> str:
        if value is None:
            return "–"
        return long_date(value, tz)

    def action_label(action: str) -> str:
        label = ACTION_LABELS.get(action)
        return gettext(label) if label else action

    def rupiah(value: int | None) -> str:
        return "–" if value is None else "Rp" + f"{value:,}".replace(",", ".")

    def late(seconds: float) -> str:
        return duration(seconds)

    def hours(value: float | None) -> str:
        return "–" if value is None else duration(value * 3600)

    def share(value: float | None) -> str:
        from babel.numbers import format_percent

        return "–" if value is None else format_percent(value, locale=_locale())

    def business(code: str) -> str:
        return business_type_label(code, settings, _locale())

    env.filters.update(
        wita=wita, day=day, kind=case_kind_label, state=case_state_label, urgency=urgency_label,
        business=business, business_status=business_status_label, action=action_label, rupiah=rupiah,
        late=late, onboarding=onboarding_label, consent=consent_label, broadcast_status=broadcast_status_label,
        hours=hours, share=share, privacy_kind=privacy_kind_label, privacy_state=privacy_state_label,
        actor=actor_label, event_note=event_note,
    )
    env.globals["query"] = _query


def _query(args: Any, **changes: Any) -> str:
    """The current query string with some keys changed (for pages and sort links)."""
    from urllib.parse import urlencode

    merged = {k: v for k, v in dict(args).items() if k not in changes}
    merged.update({k: v for k, v in changes.items() if v not in (None, "")})
    return "?" + urlencode(merged)
