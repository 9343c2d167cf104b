"""``uep report`` and ``uep export`` end to end on a small synthetic database."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import func, select
from typer.testing import CliRunner

from bench.synthetic import generate
from bot.cli import app
from db.models import AuditLog, Photo, Recipient, Staff
from db.session import create_engine
from services.crypto import NikCipher, decode_data_key
from tests.conftest import TEST_DATA_KEY

CONFIG = str(Path(__file__).resolve().parents[2] / "config.toml")


def _prepare(settings) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async def run() -> dict[str, int]:
        engine = create_engine(settings.database.url)
        cipher = NikCipher.from_master(decode_data_key(TEST_DATA_KEY))
        stats = await generate(engine, n=150, cipher=cipher, now=datetime.now(UTC), seed=7)
        async with engine.begin() as conn:
            await conn.execute(
                Staff.__table__.insert(),
                [
                    {"name": "Rina Admin", "role": "admin", "active": True, "created_at": datetime.now(UTC)},
                    {
                        "name": "Budi Caseworker",
                        "role": "caseworker",
                        "active": True,
                        "created_at": datetime.now(UTC),
                    },
                ],
            )
            # Put the first few stored photos on disk.
            paths = (await conn.execute(select(Photo.path).order_by(Photo.id).limit(5))).scalars().all()
            recipients = (await conn.execute(select(func.count()).select_from(Recipient))).scalar_one()
        for p in paths:
            f = Path(settings.storage.media_dir) / p
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_bytes(b"\xff\xd8 fake jpeg")
        await engine.dispose()
        return {"recipients": recipients, "photos": len(paths), "checkins": stats.checkins}

    return asyncio.run(run())


def test_report_and_exports(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    info = _prepare(settings)
    runner = CliRunner()

    res = runner.invoke(
        app, ["--config", CONFIG, "report", "--by", "business_type", "--out", str(tmp_path / "r")]
    )
    assert res.exit_code == 0, res.output
    assert "Laporan UEP" in res.output and "Menurut jenis usaha" in res.output
    charts = [line.removeprefix("chart: ") for line in res.output.splitlines() if line.startswith("chart: ")]
    assert len(charts) == 2
    for c in charts:
        Image.open(c).verify()
    tables = [line.removeprefix("table: ") for line in res.output.splitlines() if line.startswith("table: ")]
    assert len(tables) == 1
    table = list(csv.reader(io.StringIO(Path(tables[0]).read_text("utf-8-sig")), delimiter=";"))
    assert table[0][1] == "kelompok" and table[1][1] == "Semua penerima"
    # The table's figures are the summary's, word for word: every horizon overall, and each group at the
    # horizon the summary sorts and shows the groups by.
    shown = int(re.search(r"masih berjalan setelah (\d+) bulan", res.output).group(1))  # type: ignore[union-attr]
    for row in table[1:]:
        if row[1] == "Semua penerima" or int(row[3]) == shown:
            assert f"{row[1]} (n={row[2]}): {row[8]}" in res.output or row[1] == "Semua penerima", row
            assert f": {row[8]}" in res.output, row

    res = runner.invoke(app, ["--config", CONFIG, "report", "--lang", "en", "--out", str(tmp_path / "r2")])
    assert res.exit_code == 0, res.output
    assert "UEP report" in res.output and "the old group model kept 46% running" in res.output

    out = tmp_path / "rec.csv"
    res = runner.invoke(
        app, ["--config", CONFIG, "export", "recipients", "--format", "csv", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig")), delimiter=";"))  # Indonesian Excel
    assert len(rows) == info["recipients"] == 150 and all("********" in r["nik"] for r in rows)

    out = tmp_path / "chk.xlsx"
    res = runner.invoke(
        app, ["--config", CONFIG, "export", "checkins", "--format", "xlsx", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    sheet = load_workbook(out, read_only=True).worksheets[0]
    assert sum(1 for _ in sheet.iter_rows()) == info["checkins"] + 1

    res = runner.invoke(
        app,
        [
            "--config",
            CONFIG,
            "export",
            "cases",
            "--format",
            "csv",
            "--full-nik",
            "--out",
            str(tmp_path / "c.csv"),
        ],
    )
    assert res.exit_code == 2 and "--actor" in res.output
    res = runner.invoke(
        app,
        [
            "--config",
            CONFIG,
            "export",
            "cases",
            "--format",
            "csv",
            "--full-nik",
            "--actor",
            "Budi Caseworker",
            "--out",
            str(tmp_path / "c.csv"),
        ],
    )
    assert res.exit_code == 2 and "admin" in res.output and not (tmp_path / "c.csv").exists()
    res = runner.invoke(
        app,
        [
            "--config",
            CONFIG,
            "export",
            "cases",
            "--format",
            "csv",
            "--full-nik",
            "--actor",
            "rina admin",
            "--out",
            str(tmp_path / "c.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO((tmp_path / "c.csv").read_text("utf-8-sig")), delimiter=";"))
    # Full NIKs stay text in a spreadsheet: a leading apostrophe, then the 16 digits.
    assert rows and all(r["nik"][0] == "'" and len(r["nik"][1:]) == 16 and r["nik"][1:].isdigit()
                        for r in rows if r["nik"])

    out = tmp_path / "photos.zip"
    res = runner.invoke(app, ["--config", CONFIG, "export", "photos", "--out", str(out)])
    assert res.exit_code == 0, res.output
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
    assert len(names) == info["photos"]
    assert all(n.count("/") == 1 and n.endswith(".jpg") and "(" in n.split("/")[0] for n in names)

    async def audited() -> int:
        engine = create_engine(settings.database.url)
        async with engine.connect() as conn:
            n = (
                await conn.execute(
                    select(func.count()).select_from(AuditLog).where(AuditLog.action == "export.full_nik")
                )
            ).scalar_one()
        await engine.dispose()
        return n

    assert asyncio.run(audited()) == 1
