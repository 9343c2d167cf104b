"""Inline buttons that are never cut off on a 360-px phone.

Telegram's apps give every button of a row the same width and cut a label that does not fit with "…". On a
360-px screen a row holds about 36 characters of button text (emoji count double), so two buttons fit side by
side only when both labels are short (``SHORT_LABEL``, about 16 characters with the emoji), four only when
they are tiny (the days 0–7). ``fit_rows`` keeps a row that fits and breaks one that does not: first into pairs
of short labels, else one button per row. ``FitKeyboardsMiddleware`` applies it to every inline keyboard the
bot sends or edits, for recipients, TKSK and staff alike, so no screen can forget it.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

# A 360-px phone: a message (and its keyboard) is about 300 px wide; a button has 16 px of padding and 3 px
# between buttons; Telegram's 14-15 px font is about 8 px per character (an emoji about two), measured in the
# web chat by tests/browser/test_button_layout.py.
_ROW_PX, _GAP_PX, _PADDING_PX, _CHAR_PX = 303, 3, 16, 8.0


def capacity(buttons_in_row: int) -> int:
    """Characters of label (emoji counted double) that one of ``buttons_in_row`` equal buttons shows uncut."""
    n = max(1, buttons_in_row)
    return int(((_ROW_PX - _GAP_PX * (n - 1)) / n - _PADDING_PX) / _CHAR_PX)


ROW_WIDTH = capacity(1)  # 35: a label alone on its row
SHORT_LABEL = capacity(2)  # 16: two side by side


def label_width(text: str) -> int:
    """Width in narrow-character units: wide characters and emoji count 2, joiners and selectors 0."""
    width = 0
    for ch in text:
        code = ord(ch)
        if ch in "\u200d\ufe0f\ufe0e" or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        if code >= 0x1F000 or unicodedata.east_asian_width(ch) in ("W", "F") or 0x2600 <= code <= 0x27BF:
            width += 2
        else:
            width += 1
    return width


def row_fits(labels: list[str]) -> bool:
    return len(labels) <= 1 or max(label_width(t) for t in labels) <= capacity(len(labels))


def fit_rows(rows: list[list[InlineKeyboardButton]]) -> list[list[InlineKeyboardButton]]:
    out: list[list[InlineKeyboardButton]] = []
    for row in rows:
        if row_fits([b.text for b in row]):
            out.append(list(row))
            continue
        pending: list[InlineKeyboardButton] = []
        for button in row:
            if label_width(button.text) > SHORT_LABEL:
                if pending:
                    out.append(pending)
                    pending = []
                out.append([button])
                continue
            pending.append(button)
            if len(pending) == 2:
                out.append(pending)
                pending = []
        if pending:
            out.append(pending)
    return out


def pairs_when_short(buttons: list[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    """Rows for a list of buttons: a short label shares its row with the next short one (which moves up to
    it), every long label has a row of its own. The order is otherwise kept."""
    rows: list[list[InlineKeyboardButton]] = []
    placed: set[int] = set()
    for i, button in enumerate(buttons):
        if i in placed:
            continue
        placed.add(i)
        row = [button]
        if label_width(button.text) <= SHORT_LABEL:
            mate = next((j for j in range(i + 1, len(buttons))
                         if j not in placed and label_width(buttons[j].text) <= SHORT_LABEL), None)
            if mate is not None:
                placed.add(mate)
                row.append(buttons[mate])
        rows.append(row)
    return rows


def fit_markup(markup: Any) -> Any:
    if not isinstance(markup, InlineKeyboardMarkup):
        return markup
    rows = fit_rows(markup.inline_keyboard)
    if rows == markup.inline_keyboard:
        return markup
    return InlineKeyboardMarkup(inline_keyboard=rows)


class FitKeyboardsMiddleware(BaseRequestMiddleware):
    """Every request that carries an inline keyboard gets it laid out by ``fit_rows``."""

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Response[TelegramType]:
        markup = getattr(method, "reply_markup", None)
        if isinstance(markup, InlineKeyboardMarkup):
            fitted = fit_markup(markup)
            if fitted is not markup:
                method = method.model_copy(update={"reply_markup": fitted})
        return await make_request(bot, method)
