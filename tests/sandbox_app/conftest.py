"""The sandbox app (emulator + real bot + web chat) on a free port, filled from the shared sample data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.config import Settings
from sandbox.app import SandboxApp
from services.clock import OffsetClock
from tests.conftest import SHARED_DATA, T0


@pytest.fixture
async def sandbox_app(settings: Settings) -> AsyncIterator[SandboxApp]:
    """The whole sandbox, its clock starting at T0 (Monday 09:00 WITA) and flowing on like real time.

    Any request the bot made that Telegram would reject fails the test."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"sample data folder {SHARED_DATA} is missing")
    clock = OffsetClock(T0 - datetime.now(UTC))
    app = SandboxApp(settings, data_dir=SHARED_DATA, host="127.0.0.1", port=0, clock=clock)
    await app.start()
    try:
        yield app
        assert app.emulator is not None
        await app.emulator.wait_until_processed(10)
        app.emulator.assert_no_violations()
    finally:
        await app.stop()
