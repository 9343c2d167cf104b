"""The report of rejected rows: the original row as read, plus ``baris`` (line) and ``alasan`` (reason).

It is written for the clerk who fixes the file, so it holds the row as given (NIK and phone included);
it is never logged. UTF-8 with BOM so Excel shows Indonesian text correctly.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from services.importer.common import Rejection
from services.importer.reading import Table

REPORT_DIR = Path("data") / "import-reports"


def default_report_path(source: Path, at: datetime) -> Path:
    """``data/import-reports/<file>-ditolak-YYYYmmdd-HHMMSS.csv`` under the current folder (the temp folder
    when that is read-only). Never beside the source file: the report holds NIKs and phone numbers, and the
    source often sits on a shared or read-only drive; the application's own data folder is where personal
    data is kept."""
    name = f"{source.stem}-ditolak-{at.strftime('%Y%m%d-%H%M%S')}.csv"
    folder = Path.cwd() / REPORT_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir())
    if not os.access(folder, os.W_OK):
        folder = Path(tempfile.gettempdir())
    return folder / name


def write_report(path: Path, table: Table, rejections: Sequence[Rejection]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    width = len(table.headers)
    header = [h or f"kolom_{i + 1}" for i, h in enumerate(table.headers)] + ["baris", "alasan"]
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for rej in sorted(rejections, key=lambda r: r.line):
            cells = (list(rej.cells) + [""] * width)[:width]
            writer.writerow([*cells, rej.line, rej.reason])
    return path
