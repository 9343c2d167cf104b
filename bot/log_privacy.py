"""The last line of defence for personal data in logs: NIK-like and phone-like numbers are masked in every record.

The code never logs a NIK or a phone number (it logs ids). But libraries do what they do: with ``-v``,
SQLAlchemy logs every statement's parameters and aiosqlite every row it returns, and those hold phone numbers
(stored as ``+62…``) and, in a query by NIK, the digits themselves. So every record is masked when it is made,
before any handler (console, file, journald, pytest's capture) sees it:

- a NIK-like number: 16 digits, alone or typed in groups (``6472 0101 0101 0001``);
- a phone-like number: an Indonesian mobile number ``08…``, ``62 8…`` or ``+62 8…`` (10–15 digits, with or
  without spaces or dashes), and any other ``+`` number of 8–15 digits (E.164).

Telegram ids (up to 10 digits today, never starting with 0 or written with ``+``), row ids, amounts and
dates are left alone. Installed by the ``uep`` CLI (:func:`install`), so ``uep run``, ``uep sandbox`` and every
command have it.
"""

from __future__ import annotations

import logging
import re

NIK_MASK = "<nik>"
PHONE_MASK = "<phone>"

_NIK = re.compile(r"(?<![\d+])\d{4}(?:[ .-]?\d{4}){3}(?!\d)")
# 0 or 62 (with an optional +) then 8 and 7-11 more digits: 08xx-xxxx-xxxx, 628xxxxxxxxx, +62 812 3456 7890.
_MOBILE = re.compile(r"(?<![\w+])(?:\+?62|0)[ -]?8(?:[ -]?\d){8,11}(?!\d)")
_E164 = re.compile(r"(?<![\w+])\+\d(?:[ -]?\d){7,14}(?!\d)")


def mask(text: str) -> str:
    """``text`` with NIK-like and phone-like numbers replaced by ``<nik>`` and ``<phone>``."""
    if not any(c.isdigit() for c in text):
        return text
    text = _NIK.sub(NIK_MASK, text)
    text = _MOBILE.sub(PHONE_MASK, text)
    return _E164.sub(PHONE_MASK, text)


class MaskingFilter(logging.Filter):
    """Masks a record in place (message with its arguments, exception text, stack); never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    if getattr(record, "_uep_masked", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string: leave it to logging's own error report
        return record
    masked = mask(message)
    if masked != message or record.args:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask(record.exc_text)
    if record.stack_info:
        record.stack_info = mask(record.stack_info)
    record._uep_masked = True  # type: ignore[attr-defined]
    return record


_installed = False


def install() -> None:
    """Mask every record made from now on in this process, whichever logger or handler it goes to."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:  # type: ignore[no-untyped-def]
        return mask_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True
