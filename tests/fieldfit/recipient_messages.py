"""Every message a recipient can get, from the catalogs, rendered with realistic values (#17 §4).

``recipient_messages()`` takes every msgid of the source files that speak to recipients, in Indonesian (their
default) and English, fills the placeholders with realistic values (long names, a long desa, a full date)
and strips the HTML. Two measures use it: ``tests/fieldfit/test_message_lines.py`` (a width estimate, always
run) and ``tests/browser/test_message_length.py`` (lines as laid out by Chromium at 360 px).

A msgid of these files that never reaches a recipient goes in ``NOT_TO_RECIPIENTS``; a text the recipient
asked to read in full (the consent text, the aid list, "what is held about me") in ``ON_REQUEST``.
"""

from __future__ import annotations

import html
import re
import string
from dataclasses import dataclass
from pathlib import Path

from babel.messages.extract import extract_from_file

from bot.i18n import CatalogI18n
from bot.i18n_extract import KEYWORDS

ROOT = Path(__file__).resolve().parents[2]
RECIPIENT_SOURCES = (
    "conversations/onboarding.py", "conversations/checkin.py", "conversations/obstacle.py", "conversations/kept.py",
    "conversations/leaving.py", "conversations/questions.py", "conversations/privacy.py",
    "handlers/recipient.py", "handlers/recipient_cases.py", "handlers/fallback.py", "handlers/errors.py",
    "services/onboarding/consent.py", "services/onboarding/aid.py", "services/onboarding/identity.py",
    "services/checkins.py", "services/reminders.py", "services/cases/notify.py", "services/cases/views.py",
    "services/monitoring/plan.py", "services/aid/notices.py", "services/privacy/breach.py",
    "services/privacy/messages.py", "services/privacy/language.py",
)

# Realistic values: long enough to wrap where real ones would.
VALUES = {
    "name": "Siti Aminah Rahmawati", "number": "UEP-2026-00123", "kecamatan": "Sungai Kunjang",
    "desa": "Loa Bakung", "kabupaten": "Kutai Kartanegara", "business": "Warung makan",
    "day": "Kamis, 3 Des 2026", "date": "Kamis, 3 Des 2026", "when": "Kamis, 3 Des 2026 13:00",
    "deadline": "Kamis, 3 Des 2026 13:00 WITA", "time": "13:00", "n": "3", "total": "Rp4.600.000",
    "missing": "Kompor gas 1 tungku, Etalase kaca", "kind": "Peralatan rusak atau hilang",
    "state": "Sedang ditangani TKSK", "who": "Nurhayati", "tksk": "Nurhayati", "phone": "+62 812-3456-7890",
    "item": "Kompor gas 1 tungku — 1 unit, Rp450.000", "items": "1. Kompor gas 1 tungku — 1 unit, Rp450.000",
    "id": "12", "due": "Kamis, 3 Des 2026 13:00", "reason": "Usaha belum berjalan", "max": "3", "version": "v1",
}


@dataclass(frozen=True)
class Rendered:
    msgid: str
    where: str
    locale: str
    text: str  # plain text as shown (tags stripped, entities unescaped)


def _fill(template: str) -> str:
    values: dict[str, str] = {}
    for _literal, field, _spec, _conv in string.Formatter().parse(template):
        if field is not None and field not in values:
            values[field] = VALUES.get(field.split(".")[0].split("[")[0], "Siti Aminah")
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template


def _plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def source_msgids() -> dict[str, str]:
    found: dict[str, str] = {}
    for rel in RECIPIENT_SOURCES:
        for lineno, message, _comments, _context in extract_from_file("python", str(ROOT / rel), keywords=KEYWORDS):
            for msgid in message if isinstance(message, tuple) else (message,):
                if msgid:
                    found.setdefault(msgid, f"{rel}:{lineno}")
    return found


def recipient_messages(locales: tuple[str, ...] = ("id", "en")) -> list[Rendered]:
    i18n = CatalogI18n()
    out = []
    for msgid, where in source_msgids().items():
        if msgid in NOT_TO_RECIPIENTS:
            continue
        for locale in locales:
            out.append(Rendered(msgid, where, locale, _plain(_fill(i18n.gettext(msgid, locale=locale)))))
    return out


def _starting(*prefixes: str) -> set[str]:
    ids = source_msgids()
    found = {m for m in ids for p in prefixes if m.startswith(p)}
    assert len(found) >= len(prefixes), ("a listed msgid is gone", prefixes, found)
    return found


# Asked for in full by the recipient (a button or a command), or a notice whose content the law sets.
ON_REQUEST = _starting(
    "<b>Before we start: your data</b>",  # "📄 Read it all" at consent, and /privasi
    "🎁 Your aid package:\n{items}",  # "📄 See the items"
    "On {date} WITA Dinas Sosial found that some personal data",  # a data breach notice (UU PDP Art. 46)
    "What you can do: be careful with calls",  # its second paragraph
)
# Said in these files to someone else: the TKSK, a candidate's assessor, staff, a relative using /privasi.
NOT_TO_RECIPIENTS = _starting(
    "⚠️ {name} ({desa}) has blocked the bot", "🔍 Please review: a photo", "It was sent on {day} by another",
    "It was already sent by the same person", "✅ Dinas Sosial approved {name}", "❌ Dinas Sosial did not approve",
    "Only the recipient themselves can make this request", "{total} open case(s), page",
)
