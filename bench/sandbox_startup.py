"""Benchmark: how long ``uep sandbox`` takes from the command to "open <url>", as a newcomer runs it.

    .venv/bin/python bench/sandbox_startup.py             # 3 runs with the 1,500-person sample roster
    .venv/bin/python bench/sandbox_startup.py --runs 5

Each run starts the real ``.venv/bin/uep sandbox --data ../shared/data`` process in a fresh temporary folder
(throwaway data key, new session database, roster import), waits for the "sandbox ready" line, fetches the
page once, and stops it with Ctrl+C (SIGINT). Printed: seconds to ready and to the first page, and the exit
code. The sandbox issue asks for the bot in a browser within a minute; the test suite checks only that it
starts and serves, because a timing inside a test fails on a busy machine instead of measuring it.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UEP = ROOT / ".venv" / "bin" / "uep"
SAMPLE_DATA = ROOT.parent / "shared" / "data"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_run() -> tuple[float, float, int]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("UEP_") and k != "BOT_TOKEN"}
    env["PYTHONUNBUFFERED"] = "1"
    with tempfile.TemporaryDirectory() as folder:
        started = time.monotonic()
        proc = subprocess.Popen(
            [str(UEP), "--config", str(ROOT / "config.toml"), "sandbox", "--port", str(port),
             "--data", str(SAMPLE_DATA)],
            cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                if "sandbox ready" in line:
                    break
            else:
                raise SystemExit(f"uep sandbox exited with {proc.wait()} before it was ready")
            ready = time.monotonic() - started
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as res:  # noqa: S310 - local
                res.read()
            first_page = time.monotonic() - started
        finally:
            proc.send_signal(signal.SIGINT)
            code = proc.wait(30)
    return ready, first_page, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    readies = []
    for i in range(1, args.runs + 1):
        ready, first_page, code = one_run()
        readies.append(ready)
        print(f"run {i}: ready after {ready:.1f} s, first page after {first_page:.1f} s, exit code {code}")
    print(f"median ready: {statistics.median(readies):.1f} s over {args.runs} runs")


if __name__ == "__main__":
    main()
