"""``uep sandbox`` as a newcomer runs it: one command, a URL to open, Ctrl+C stops it cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[2]
UEP = [str(Path(sys.executable).with_name("uep"))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UEP_") and k != "BOT_TOKEN"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _start(cwd: Path, *args: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    port = _free_port()
    proc = subprocess.Popen(
        [*UEP, "--config", str(ROOT / "config.toml"), "sandbox", "--port", str(port), *args],
        cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 90  # a hang guard only, far above a loaded CI machine's start-up
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if "sandbox ready" in line:
            return proc, f"http://127.0.0.1:{port}/", lines
    proc.kill()
    pytest.fail("uep sandbox did not start:\n" + "\n".join(lines))


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()


def _json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as res:  # noqa: S310 - a local URL
        return json.load(res)


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="sample data folder is missing")
def test_one_command_starts_everything_on_a_fresh_database(tmp_path: Path) -> None:
    # How fast it starts is measured by bench/sandbox_startup.py; _start only refuses to wait forever.
    proc, url, lines = _start(tmp_path, "--data", str(SHARED_DATA))
    try:
        output = "\n".join(lines)
        assert "throwaway data key" in output
        assert "roster: 1500 baris dibaca — 1500 baru" in output
        assert f"open {url}" in output
        with urllib.request.urlopen(url, timeout=10) as res:  # noqa: S310
            assert res.status == 200 and b"UEP Sandbox" in res.read()
        info = _json(url + "_sandbox/info")["result"]
        assert info["bot"]["username"] == "uep_kaltim_bot" and info["tz"] == "Asia/Makassar"
        bots = _json(url + "_emulator/bots")["result"]
        assert bots[0]["username"] == "uep_kaltim_bot"
    finally:
        code = _stop(proc)
    assert code == 0
    sessions = list((tmp_path / "data" / "sandbox").glob("session-*.db"))
    assert len(sessions) == 1


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="sample data folder is missing")
def test_keep_reuses_the_database_and_its_sandbox_key(tmp_path: Path) -> None:
    proc, url, _ = _start(tmp_path, "--data", str(SHARED_DATA), "--keep")
    try:
        nik_before = _json(url + "_sandbox/personas?kind=recipient&q=palaran&limit=1")["result"][0]["nik"]
    finally:
        assert _stop(proc) == 0
    key = tmp_path / "data" / "sandbox" / "sandbox.db.key"
    assert key.is_file() and key.stat().st_mode & 0o077 == 0, "the kept key is readable by its owner only"
    proc, url, lines = _start(tmp_path, "--data", str(SHARED_DATA), "--keep")
    try:
        assert any("already has 1500 recipients" in line for line in lines)
        again = _json(url + "_sandbox/personas?kind=recipient&q=palaran&limit=1")["result"][0]["nik"]
        assert again == nik_before and len(again) == 16, "NIKs are still readable with the kept key"
    finally:
        assert _stop(proc) == 0


def test_missing_data_folder_is_named_and_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [*UEP, "--config", str(ROOT / "config.toml"), "sandbox", "--data", str(tmp_path / "nowhere")],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "nowhere" in result.stderr and "not found" in result.stderr and "--data" in result.stderr
    assert not (tmp_path / "data" / "sandbox").exists() or not any((tmp_path / "data" / "sandbox").iterdir())


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="sample data folder is missing")
def test_a_busy_port_is_reported_clearly(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = subprocess.run(
            [*UEP, "--config", str(ROOT / "config.toml"), "sandbox", "--port", str(port), "--data", str(SHARED_DATA)],
            cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 2
    assert f"port {port}" in result.stderr and "--port" in result.stderr
