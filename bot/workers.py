"""Long-running background workers started with the bot. Each feature adds its import here."""

from __future__ import annotations

import services.broadcast.worker  # noqa: F401  (broadcast delivery worker)
