"""Finds every msgid in the source (for the catalog completeness test and ``python -m bot.i18n_extract``)."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir

from bot.i18n import LOCALES_DIR, load_catalog

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("bot", "handlers", "conversations", "services", "scheduler", "web")
# Python everywhere; Jinja2 templates of the web desk (``{{ _("…") }}``) too.
METHOD_MAP = [("**.py", "python"), ("**/templates/**.html", "jinja2.ext:babel_extract")]
KEYWORDS = {"_": None, "__": None, "N_": None, "gettext": None, "lazy_gettext": None,
            "ngettext": (1, 2), "lazy_ngettext": (1, 2)}


def extract_msgids() -> dict[str, str]:
    """msgid -> first place it occurs."""
    found: dict[str, str] = {}
    for folder in SOURCE_DIRS:
        path = ROOT / folder
        if not path.exists():
            continue
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(path), method_map=METHOD_MAP, keywords=KEYWORDS
        ):
            ids = message if isinstance(message, tuple) else (message,)
            for msgid in ids:
                if msgid:
                    found.setdefault(msgid, f"{folder}/{filename}:{lineno}")
    return found


def missing(locale: str) -> dict[str, str]:
    catalog = load_catalog(locale, LOCALES_DIR)
    return {m: where for m, where in extract_msgids().items() if m not in catalog}


if __name__ == "__main__":
    # Prints the msgids missing from a language's catalogs as PO entries to fill in.
    locale = sys.argv[1] if len(sys.argv) > 1 else "id"
    for msgid, where in missing(locale).items():
        escaped = msgid.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        print(f"#: {where}\nmsgid \"{escaped}\"\nmsgstr \"\"\n")
