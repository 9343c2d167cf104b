"""What people type instead of pressing a button: "iya", "oke", "6", "6 hari".

A patient TKSK sitting next to the recipient would take these as answers, so the bot does too: a typed yes at
a yes/no step means yes, a typed number where buttons offer numbers counts like the button. This is the one
parser: every step that takes a typed answer uses it (the handlers' filter is ``bot.answers.typed_yes``).
"""

from __future__ import annotations

import re

YES_WORDS = frozenset({
    "iya", "iyaa", "iyah", "ya", "yaa", "y", "setuju", "saya setuju", "oke", "okey", "okay", "ok", "siap",
    "benar", "betul", "sudah", "yes", "agree",
})
_PUNCTUATION = re.compile(r"[\s!.,;:?👍🙏]+$")


def _normalised(text: str) -> str:
    return _PUNCTUATION.sub("", " ".join(text.lower().split()))


# Words that may follow a yes without changing it: whom it is said to, thanks, the step's own verb.
# Anything else ("ya tapi kurang satu", "ya belum") is not a plain yes, so the step asks again.
_YES_TAIL = frozenset({
    "pak", "bu", "ibu", "bapak", "mas", "mbak", "kak", "dek", "bang", "terima", "kasih", "makasih", "trims",
    "sudah", "siap", "oke", "ok", "benar", "betul", "iya", "ya", "setuju", "kirim", "catat", "semua", "lengkap",
    "diterima", "sampai", "please", "thanks", "thank", "you",
})


def is_yes(text: str | None) -> bool:
    if not text or text.startswith("/"):
        return False
    word = _normalised(text)
    if word in YES_WORDS:
        return True
    first, *rest = [w for w in re.split(r"[\s,.!👍🙏]+", word) if w]
    return first in YES_WORDS and all(w in _YES_TAIL for w in rest)


def typed_number(text: str | None, low: int, high: int) -> int | None:
    """``6``, ``6 hari``, ``6 hari.``: the number when it is within [low, high], else None."""
    if not text:
        return None
    m = re.fullmatch(r"\s*(\d{1,2})\s*(hari|days?)?\s*[.!]?\s*", text.lower())
    if m is None:
        return None
    n = int(m.group(1))
    return n if low <= n <= high else None
