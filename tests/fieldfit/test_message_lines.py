"""#17 §4: every message a recipient can get is at most about three short lines on a 360-px phone.

Each recipient-facing catalog entry (tests/fieldfit/recipient_messages.py), in Indonesian and English, rendered with
realistic values, is measured in lines at 360 px with a width estimate: the web chat's bubble holds about 33
narrow characters a line (emoji counted double, words wrapped whole). Checked against Chromium's layout of the
same texts (tests/browser/test_message_length.py), the estimate is never lower. Blank lines are not counted
(as in the Chromium measure). A text the recipient asked to read in full (ON_REQUEST) is measured but not held
to the limit.
"""

from __future__ import annotations

import pytest

from bot.layout import label_width
from tests.fieldfit.recipient_messages import ON_REQUEST, recipient_messages

CHARS_PER_LINE = 33
MAX_LINES = 4  # "about three short lines": a wrapped fourth line of a long name or date is allowed


def lines_at_360_px(text: str) -> int:
    total = 0
    for line in text.split("\n"):
        if not line.strip():
            continue
        used, count = 0, 1
        for word in line.split(" "):
            width = label_width(word)
            if used == 0:
                used = width
            elif used + 1 + width <= CHARS_PER_LINE:
                used += 1 + width
            else:
                count, used = count + 1, width
            while used > CHARS_PER_LINE:
                count, used = count + 1, used - CHARS_PER_LINE
        total += count
    return total


def test_the_measure_wraps_words_and_counts_emoji_double() -> None:
    assert lines_at_360_px("Halo") == 1 and lines_at_360_px("a\n\nb") == 2
    assert lines_at_360_px("kata " * 7) == 2, "35 characters: two lines"
    assert lines_at_360_px("🎁" * 17) == 2


@pytest.mark.parametrize("locale", ["id", "en"])
def test_every_recipient_message_is_short(locale: str) -> None:
    measured = [(lines_at_360_px(r.text), r) for r in recipient_messages((locale,))]
    assert len(measured) > 250, "the recipient catalog entries are all there"
    long = [(n, r.where, r.text) for n, r in measured if n > MAX_LINES and r.msgid not in ON_REQUEST]
    longest = max((n, r.where) for n, r in measured if r.msgid not in ON_REQUEST)
    print(f"\nFIGURE longest recipient catalog entry ({locale}, estimate at 360 px): {longest[0]} lines "
          f"({longest[1]}); entries measured: {len(measured)}")
    assert not long, "\n\n".join(f"{n} lines, {where}:\n{text}" for n, where, text in sorted(long, reverse=True))
