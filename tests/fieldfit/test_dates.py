"""#17 §4: one way to write dates ("Kamis, 3 Des 2026"); "hari ini"/"besok" only where read at once."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.i18n import CatalogI18n
from db.models import CaseEvent
from services.cases.views import actor_label, event_line, event_note
from services.dates import day_button, indonesian, long_date, long_moment, relative_moment

ROOT = Path(__file__).resolve().parents[2]
WITA = ZoneInfo("Asia/Makassar")


def _in(locale: str):  # type: ignore[no-untyped-def]
    i18n = CatalogI18n()
    return i18n.context(), i18n.use_locale(locale)


def test_the_one_style_in_both_languages() -> None:
    ctx, loc = _in("id")
    with ctx, loc:
        assert long_date(date(2026, 12, 3)) == "Kamis, 3 Des 2026"
        assert long_moment(datetime(2026, 12, 3, 5, 0, tzinfo=UTC), WITA, zone=True) == "Kamis, 3 Des 2026 13:00 WITA"
        today = date(2026, 12, 2)
        assert [day_button(date(2026, 12, d), today) for d in (2, 3, 5)] == ["Hari ini, 2 Des", "Besok, 3 Des",
                                                                             "Sabtu, 5 Des"]
        now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
        assert relative_moment(datetime(2026, 12, 3, 0, 0, tzinfo=UTC), now, WITA) == "besok 08:00"
        assert relative_moment(datetime(2026, 12, 9, 0, 0, tzinfo=UTC), now, WITA) == "Rabu, 9 Des 2026 08:00"
    ctx, loc = _in("en")
    with ctx, loc:
        assert long_date(date(2026, 12, 3)) == "Thursday, 3 Dec 2026"
        assert long_date(date(2026, 8, 17), gettext=indonesian()) == "Senin, 17 Agu 2026", "an official letter"


def test_a_history_writes_out_the_planned_day_and_names_people(settings) -> None:  # type: ignore[no-untyped-def]
    event = CaseEvent(action="visit", actor="Tini (tksk)", note="2026-03-03: bawa modal",
                      at=datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    ctx, loc = _in("id")
    with ctx, loc:
        assert event_note(event) == "Selasa, 3 Mar 2026: bawa modal"
        line = event_line(event, settings)
        assert line == "• Senin, 2 Mar 2026 09:00 Tini (TKSK): merencanakan kunjungan — Selasa, 3 Mar 2026: bawa modal"
        assert actor_label("recipient:1228") == "penerima" and "1228" not in actor_label("recipient:1228")


OLD_FORMATS = re.compile(r"%d[-/.]%m|%Y-%m-%d|format_date(time)?\(")
# Where a date reaches a person. Exports keep ISO data columns; importers read what people typed; file names
# keep sortable stamps (%Y%m%d); the CLI is the operators' console.
SPEAKING = ("handlers", "conversations", "services", "scheduler", "web")
ALLOWED = {"services/exports.py", "services/dates.py", "conversations/broadcast.py"}  # broadcast: the typed example


def test_no_old_date_format_reaches_a_person() -> None:
    found = []
    for folder in SPEAKING:
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel in ALLOWED or rel.startswith(("services/importer/", "services/reports/")):
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if OLD_FORMATS.search(line):
                    found.append(f"{rel}:{n}: {line.strip()}")
    assert not found, "dates go through services.dates:\n" + "\n".join(found)
