"""The modules whose scan tasks run every tick. Each feature adds its import here."""

from __future__ import annotations
