"""Indonesian mobile numbers as people type them, normalised to E.164 (``+62…``)."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-().]")


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw: str | None) -> str | None:
    """``0812-3456 789``, ``+62 812…``, ``62812…`` and ``812…`` all become ``+62812…``.

    Returns None for an empty value; raises :class:`InvalidPhone` for anything that is not an Indonesian
    mobile number (after the country code it must start with 8 and hold 9-12 digits in total).
    """
    if raw is None:
        return None
    text = _SEPARATORS.sub("", raw.strip())
    if not text:
        return None
    if text.startswith("+"):
        text = text[1:]
        if not text.startswith("62"):
            raise InvalidPhone("nomor bukan nomor Indonesia (+62)")
    if not text.isdigit():
        raise InvalidPhone("nomor HP hanya boleh berisi angka")
    if text.startswith("62"):
        national = text[2:]
    elif text.startswith("0"):
        national = text[1:]
    else:
        national = text
    if national.startswith("0"):
        national = national[1:]
    if not national.startswith("8"):
        raise InvalidPhone("nomor HP harus diawali 08 atau +628")
    if not 9 <= len(national) <= 12:
        raise InvalidPhone("panjang nomor HP tidak wajar")
    return "+62" + national


def same_phone(a: str | None, b: str | None) -> bool:
    try:
        return a is not None and b is not None and normalize_phone(a) == normalize_phone(b)
    except InvalidPhone:
        return False
