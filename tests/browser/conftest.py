"""Browser tests: the sandbox app (emulator + real bot + web chat) in-process, driven by headless Chromium.

Debian's Chromium at /usr/bin/chromium is launched by Playwright (never a downloaded browser) with a fresh
profile. Without it the tests are skipped. Screenshots of each step go to test-artifacts/browser/<test>/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import T0
from tests.sandbox_app.conftest import sandbox_app  # noqa: F401  (the app under test)

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # A fake microphone, so the voice recorder (MediaRecorder) can be exercised.
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    """A Chromium browser context with a fresh profile (tabs share it, like tabs of one browser)."""
    if not HAVE_CHROMIUM:
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
            viewport=DESKTOP, locale="id-ID", timezone_id="Asia/Makassar",
        )
        context.set_default_timeout(10_000)
        errors: list[str] = []
        context.on("weberror", lambda e: errors.append(str(e.error)))
        try:
            yield context
        finally:
            await context.close()
        assert not errors, f"JavaScript errors on the page: {errors}"


class Shots:
    """Numbered screenshots of one test under test-artifacts/browser/<test>/."""

    def __init__(self, name: str) -> None:
        self.dir = ARTIFACTS / re.sub(r"[^\w.-]+", "_", name)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.n = 0

    async def __call__(self, page: Any, step: str) -> Path:
        self.n += 1
        path = self.dir / f"{self.n:02d}-{step}.png"
        await page.screenshot(path=str(path))
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)


__all__ = ["DESKTOP", "PHONE", "Shots", "T0"]
