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


def default_report_path(source: Path, at: datetime) -> Path:
    """``<file>-ditolak-YYYYmmdd-HHMMSS.csv`` beside the file; in the current folder (or the temp folder)
    when the file's folder is read-only."""
    name = f"{source.stem}-ditolak-{at.strftime('%Y%m%d-%H%M%S')}.csv"
    for folder in (source.resolve().parent, Path.cwd(), Path(tempfile.gettempdir())):
        if os.access(folder, os.W_OK):
            return folder / name
    return Path(tempfile.gettempdir()) / name


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
