"""What Telegram and the program allow a broadcast: text lengths, and how far ahead one may be scheduled.
Shared by /siaran in the bot and the web desk."""

from __future__ import annotations

from datetime import timedelta

CAPTION_LIMIT = 1024  # a photo's caption
TEXT_LIMIT = 4096     # a text message
MAX_AHEAD = timedelta(days=90)
