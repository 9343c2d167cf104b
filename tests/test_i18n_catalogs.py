"""Every user-facing string goes through the catalogs: each msgid in the code has an Indonesian translation,
and every translation keeps the msgid's {placeholders} and HTML tags (a typo there breaks a message at run time)."""

import re

from bot.i18n import LOCALES_DIR, CatalogI18n, load_catalog
from bot.i18n_extract import extract_msgids

_PLACEHOLDER = re.compile(r"\{[a-z_0-9]*\}")
_TAG = re.compile(r"</?[a-z]+>")


def test_every_msgid_has_an_indonesian_translation() -> None:
    catalog = load_catalog("id", LOCALES_DIR)
    missing = {m: where for m, where in extract_msgids().items() if m not in catalog}
    assert not missing, "missing Indonesian translations (run `python -m bot.i18n_extract id`):\n" + "\n".join(
        f"{where}: {m!r}" for m, where in list(missing.items())[:30]
    )


def test_translations_keep_placeholders_and_tags() -> None:
    for locale in ("id", "en"):
        for message in load_catalog(locale, LOCALES_DIR):
            if not message.id or not message.string:
                continue
            assert sorted(_PLACEHOLDER.findall(message.id)) == sorted(_PLACEHOLDER.findall(message.string)), (
                f"{locale}: placeholders differ in {message.id!r}"
            )
            assert sorted(_TAG.findall(message.id)) == sorted(_TAG.findall(message.string)), (
                f"{locale}: HTML tags differ in {message.id!r}"
            )


def test_indonesian_is_default_and_english_falls_back_to_msgid() -> None:
    i18n = CatalogI18n()
    assert i18n.default_locale == "id"
    assert i18n.gettext("❓ Help", locale="id") == "❓ Bantuan"
    assert i18n.gettext("❓ Help", locale="en") == "❓ Help"


def test_a_msgid_has_one_translation_across_fragments() -> None:
    # The fragments are merged into one catalog per language and the first one wins: a msgid translated two
    # ways would show whichever fragment loads first, silently.
    from babel.messages.pofile import read_po

    for locale in ("id", "en"):
        seen: dict[str, tuple[str, str]] = {}
        clashes = []
        for path in sorted((LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po")):
            with path.open("rb") as f:
                for message in read_po(f):
                    if not message.id or not message.string or not isinstance(message.id, str):
                        continue
                    first = seen.setdefault(message.id, (path.name, str(message.string)))
                    if first[1] != message.string:
                        clashes.append(f"{message.id!r}: {first[0]} {first[1]!r} / {path.name} {message.string!r}")
        assert not clashes, f"{locale}: " + "\n".join(clashes)
