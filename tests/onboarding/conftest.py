"""Onboarding tests press buttons far faster than a person can (a dozen updates in a second); the flood
throttle (8 updates per 5 s per person) would drop some of them, so it is widened here. Throttling itself is
tested with the bot core."""

from __future__ import annotations

import pytest

from bot.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.throttling.rate = 1000
    return settings
