"""Item 7 of #24: no NIK or phone number in any log record, verbose (``-v``) or not."""

from __future__ import annotations

import csv
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

from bot import log_privacy
from bot.config import Settings
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[2]
UEP = [sys.executable, "-c", "import sys; from bot.cli import app; sys.argv[0] = 'uep'; app()"]


def _e164(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return "+62" + digits[1:] if digits.startswith("0") else "+" + digits


def test_verbose_import_logs_sql_parameters_with_every_nik_and_phone_masked(settings: Settings, tmp_path: Path) -> None:
    """``uep -v import roster``: aiosqlite's debug lines carry every INSERT's parameters. The
    phones (stored as +62…) and NIKs of the file are in those parameters; none may reach the log."""
    with (SHARED_DATA / "sample-roster.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:12]
    roster = tmp_path / "roster.csv"
    with roster.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "wilayah-kaltim.csv").write_bytes((SHARED_DATA / "wilayah-kaltim.csv").read_bytes())
    # SQLite whichever database the suite runs on: aiosqlite's debug lines are where the phones were seen.
    env = dict(os.environ, PYTHONUNBUFFERED="1", UEP_DATABASE__URL=f"sqlite+aiosqlite:///{tmp_path / 'v.db'}")
    subprocess.run([*UEP, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    result = subprocess.run([*UEP, "-v", "import", "roster", str(roster)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    # The verbose log really carries SQL parameters (otherwise this test would prove nothing) ...
    assert re.search(r"aiosqlite: executing .*INSERT INTO recipients", log), log[-3000:]
    assert log.count(log_privacy.PHONE_MASK) >= len(rows), log[-3000:]
    # ... and not one NIK or phone number, in any form the file or the database holds it.
    for row in rows:
        assert row["nik"] not in log
        assert _e164(row["no_hp"]) not in log
        assert re.sub(r"\D", "", row["no_hp"]) not in log


def test_every_record_is_masked_whatever_its_logger_arguments_or_traceback(caplog) -> None:  # type: ignore[no-untyped-def]
    log_privacy.install()
    logger = logging.getLogger("some.library")
    with caplog.at_level(logging.DEBUG):
        logger.debug("params %r", ("+6281234567890", 7, "6472010101010001"))
        logger.info("typed %s", "0812-3456-7890 / 6472 0101 0101 0001")
        try:
            raise ValueError("duplicate key (phone)=(+6281298765432)")
        except ValueError:
            logger.exception("failed")
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "6281234567890" not in text and "6472010101010001" not in text
    assert "0812-3456-7890" not in text and "6472 0101 0101 0001" not in text
    assert "6281298765432" not in text
    assert text.count("<phone>") >= 3 and text.count("<nik>") == 2, text
    # What is not personal data stays readable: Telegram ids, row ids, amounts, dates.
    assert log_privacy.mask("user 6123456789 case 12 Rp5000000 on 2026-03-02") == (
        "user 6123456789 case 12 Rp5000000 on 2026-03-02"
    )
