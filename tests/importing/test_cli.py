"""``uep import ...`` through the Typer app: exit codes, messages, report file, nothing written on exit 2."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from tests.importing.conftest import (
    FAULTY,
    ROSTER,
    WILAYAH,
    WORKERS,
    counts,
    in_db,
    read_rows,
    with_wilayah,
    write_rows,
)

EMPTY = {"kecamatan": 0, "recipients": 0, "aid_packages": 0, "aid_items": 0, "field_workers": 0}


def db_counts(settings: Settings) -> dict[str, int]:
    return in_db(settings, counts)


def test_exit_0_when_every_row_is_accepted(uep: Any, settings: Settings, tmp_path: Path) -> None:
    assert uep("import", "wilayah", str(WILAYAH)).exit_code == 0
    result = uep("import", "roster", str(ROSTER), "--report", str(tmp_path / "r.csv"))
    assert result.exit_code == 0, result.output
    assert "1500 baru, 0 diperbarui, 0 tidak berubah, 0 ditolak" in result.stdout
    assert not (tmp_path / "r.csv").exists()
    again = uep("import", "roster", str(ROSTER))
    assert again.exit_code == 0
    assert "0 baru, 0 diperbarui, 1500 tidak berubah, 0 ditolak" in again.stdout
    assert db_counts(settings)["recipients"] == 1500


def test_exit_1_reports_rejected_rows(uep: Any, settings: Settings, tmp_path: Path) -> None:
    report = tmp_path / "out" / "ditolak.csv"
    result = uep("import", "roster", str(FAULTY), "--report", str(report))
    assert result.exit_code == 1, result.output
    assert "wilayah-kaltim.csv" in result.stdout  # wilayah loaded first from beside the file, and said so
    assert "baris 8: NIK harus 16 digit angka (ada 15)" in result.stdout
    assert "baris 12: kecamatan 'Tanah Grogot' tidak ada di Kota Samarinda" in result.stdout
    assert "peringatan: kolom tidak dikenal diabaikan: expected" in result.stderr
    assert f"laporan baris yang ditolak: {report}" in result.stdout
    header, rows = read_rows(FAULTY)
    for row in rows:  # printed output never shows a NIK or phone number
        assert row["nik"] not in result.output
        assert not row["no_hp"] or row["no_hp"] not in result.output
    with report.open(encoding="utf-8-sig", newline="") as fh:
        reported = list(csv.DictReader(fh))
    rejects = [(i + 2, r) for i, r in enumerate(rows) if r["expected"].startswith("reject")]
    assert [int(r["baris"]) for r in reported] == [line for line, _ in rejects]
    assert [r["nik"] for r in reported] == [r["nik"] for _, r in rejects]  # original row kept for the clerk
    assert all(r["alasan"] for r in reported)
    assert list(reported[0])[: len(header)] == header
    assert db_counts(settings)["recipients"] == 6


def test_exit_2_missing_required_column_writes_nothing(uep: Any, settings: Settings, tmp_path: Path) -> None:
    header, rows = read_rows(ROSTER)
    path = write_rows(with_wilayah(tmp_path) / "roster.csv", [h for h in header if h != "nik"], rows[:20])
    result = uep("import", "roster", str(path))
    assert result.exit_code == 2
    assert "kolom wajib: nik" in result.stderr
    assert db_counts(settings) == EMPTY  # not even the wilayah beside it


def test_exit_2_unreadable_file(uep: Any, settings: Settings, tmp_path: Path) -> None:
    assert uep("import", "roster", str(tmp_path / "nope.csv")).exit_code == 2
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    result = uep("import", "roster", str(broken))
    assert result.exit_code == 2 and "tidak bisa dibaca" in result.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert uep("import", "workers", str(empty)).exit_code == 2
    assert db_counts(settings) == EMPTY


def test_exit_2_without_wilayah_names_the_command(uep: Any, settings: Settings, tmp_path: Path) -> None:
    header, rows = read_rows(ROSTER)
    path = write_rows(tmp_path / "roster.csv", header, rows[:5])
    result = uep("import", "roster", str(path))
    assert result.exit_code == 2
    assert "uep import wilayah" in result.stderr
    assert db_counts(settings) == EMPTY


def test_exit_2_when_no_row_is_valid(uep: Any, settings: Settings, tmp_path: Path) -> None:
    header, rows = read_rows(FAULTY)
    bad = [r for r in rows if r["expected"].startswith("reject") and "second row" not in r["expected"]]
    path = write_rows(with_wilayah(tmp_path) / "bad.csv", header, bad)
    result = uep("import", "roster", str(path), "--report", str(tmp_path / "r.csv"))
    assert result.exit_code == 2
    assert (tmp_path / "r.csv").exists()
    assert db_counts(settings) == EMPTY  # the wilayah loaded on the way is rolled back too


def test_dry_run_writes_nothing(uep: Any, settings: Settings, tmp_path: Path) -> None:
    result = uep("import", "roster", str(FAULTY), "--dry-run", "--report", str(tmp_path / "r.csv"))
    assert result.exit_code == 1
    assert "--dry-run" in result.stdout and "6 baru" in result.stdout
    assert db_counts(settings) == EMPTY
    assert uep("import", "wilayah", str(WILAYAH), "--dry-run").exit_code == 0
    assert uep("import", "workers", str(WORKERS), "--dry-run").exit_code == 0
    assert db_counts(settings) == EMPTY


def test_workers_and_wilayah_commands(uep: Any, settings: Settings) -> None:
    result = uep("import", "workers", str(WORKERS))
    assert result.exit_code == 0, result.output
    assert "154 baru" in result.stdout
    assert uep("import", "wilayah", str(WILAYAH)).stdout.count("103 tidak berubah") == 1
    assert db_counts(settings)["field_workers"] == 154


def test_default_report_goes_to_the_apps_data_folder_not_beside_the_source(
    uep: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report holds NIKs: it belongs in the application's data folder, not on the (shared) source drive."""
    monkeypatch.chdir(tmp_path)
    result = uep("import", "roster", str(FAULTY))
    assert result.exit_code == 1
    reports = list((tmp_path / "data" / "import-reports").glob("sample-roster-faulty-ditolak-*.csv"))
    assert len(reports) == 1
    assert not list(FAULTY.parent.glob("*-ditolak-*.csv"))
