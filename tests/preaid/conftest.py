"""Fixtures of the before-the-aid tests (issue #19)."""

from __future__ import annotations

import pytest

from bot.config import Settings
from tests.importing.conftest import uep  # noqa: F401  (the real `uep` CLI in-process)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.throttling.rate = 100  # the tests tap faster than people do
    return settings
