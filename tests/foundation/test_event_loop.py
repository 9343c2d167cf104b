"""``runtime.event_loop``: every ``uep`` process runs on uvloop unless told to use asyncio's own loop."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import load_settings
from bot.event_loop import run_loop


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_uvloop_is_the_default_and_asyncio_can_be_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvloop")
    from pathlib import Path

    config = Path(__file__).resolve().parents[2] / "config.toml"
    assert load_settings(config).runtime.event_loop == "uvloop"
    assert run_loop(_loop_module(), "uvloop").startswith("uvloop")
    assert run_loop(_loop_module(), "asyncio").startswith("asyncio")
    monkeypatch.setenv("UEP_RUNTIME__EVENT_LOOP", "asyncio")
    assert load_settings(config).runtime.event_loop == "asyncio"
