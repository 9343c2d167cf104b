"""``uep run`` as operators start it: its own process, long polling against Telegram (the emulator here)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.config import Settings
from bot.heap import COLLECTOR_THRESHOLDS
from sandbox.emulator import TelegramEmulator

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "4242:uep-run-process"


async def test_uep_run_serves_people_with_a_frozen_start_up_heap_and_stops_on_ctrl_c(settings: Settings) -> None:
    emulator = TelegramEmulator()
    await emulator.start()
    emulator.add_bot(TOKEN, "uep_run_bot")
    # The settings fixture put this test's database, data key and media folder into the environment.
    env = dict(os.environ, BOT_TOKEN=TOKEN, UEP_TELEGRAM__API_BASE=emulator.base_url,
               UEP_TELEGRAM__POLLING_TIMEOUT="1", PYTHONUNBUFFERED="1")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys; from bot.cli import app; sys.argv[0] = 'uep'; app()", "run",
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        person = emulator.person(7_700_001, "Siti", bot=TOKEN)
        await person.command("start")
        await person.wait_for(timeout=30)
        proc.send_signal(signal.SIGINT)
        output, _ = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await emulator.stop()
    log = output.decode()
    assert proc.returncode == 0, log
    # A long-running process must not pause for a full pass over the ~400k objects made at start-up.
    assert "start-up heap frozen" in log, log
    assert f"collector thresholds {COLLECTOR_THRESHOLDS}" in log, log
    frozen = int(log.split("start-up heap frozen (")[1].split(" ")[0])
    assert frozen > 100_000, log
    emulator.assert_no_violations()
