"""§6 of #17 and item 6 of #24: exports an Indonesian office opens, and that no spreadsheet runs as formulas."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from openpyxl import load_workbook
from typer.testing import CliRunner

from db.enums import WorkerRole
from db.models import Case, FieldWorker, Staff
from services.exports import csv_safe, export_table
from tests.conftest import T0
from tests.reports.conftest import add_checkin, add_recipient, wita

EVIL = ['=HYPERLINK("http://evil.example/","Budi")', "=cmd|' /C calc'!A0", "+6281234567890 ok", "@SUM(A1)",
        "-2+3", "\tTab", "\rCR"]


async def _world(session, cipher, region):  # type: ignore[no-untyped-def]
    a = add_recipient(session, cipher, kecamatan_id=region.kec_a1, aid_date=date(2025, 6, 1), name=EVIL[0],
                      status="running", phone="+6281234567890", business_type="kue")
    await session.flush()
    add_checkin(session, a.id, "paused", wita(date(2026, 2, 10), 9), reason="equipment", note=EVIL[1],
                latitude=-0.5021, longitude=117.15)
    tini = await session.scalar(
        __import__("sqlalchemy").select(FieldWorker).where(FieldWorker.kecamatan_id == region.kec_a1,
                                                           FieldWorker.role == WorkerRole.TKSK.value))
    staff = Staff(name="Dewi Dinsos", role="caseworker", active=True, created_at=T0)
    session.add(staff)
    await session.flush()
    session.add_all([
        Case(number="UEP-2026-00001", recipient_id=a.id, kecamatan_id=region.kec_a1, kind="equipment",
             urgency="high", state="with_dissos", with_dissos=True, description="\n".join(EVIL[2:]),
             owner_staff_id=staff.id, created_at=T0 - timedelta(days=1), updated_at=T0),
        Case(number="UEP-2026-00002", recipient_id=a.id, kecamatan_id=region.kec_a1, kind="aid_problem",
             urgency="normal", state="taken", owner_worker_id=tini.id if tini else None,
             resolution="@evil", created_at=T0, updated_at=T0),
    ])
    await session.commit()
    return a, tini


async def _export(session, ctx, kind, fmt, **kw) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    await export_table(session, kind, buf, fmt=fmt, settings=ctx.settings, cipher=ctx.cipher, clock=ctx.clock, **kw)
    return buf.getvalue()


def _csv(data: bytes, delimiter: str = ";") -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def _xlsx(data: bytes):  # type: ignore[no-untyped-def]
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    rows = list(ws.iter_rows())
    return [c.value for c in rows[0]], rows[1:]


def test_csv_safe_rules() -> None:
    for evil in EVIL:
        assert csv_safe(evil) == "'" + evil
    assert csv_safe("6401015107726943") == "'6401015107726943", "a NIK stays text"
    assert csv_safe("Siti Aminah") == "Siti Aminah" and csv_safe("64") == "64"


async def test_indonesian_by_default_with_names_and_labels(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    _a, tini = await _world(session, cipher, region)
    data = await _export(session, ctx, "cases", "csv")
    header = data.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("nomor_kasus;dibuat_wita;jenis_kendala;tingkat_mendesak;status_kasus"), header
    rows = _csv(data)
    first, second = rows
    assert first["jenis_kendala"] == "Peralatan rusak atau hilang" and first["tingkat_mendesak"] == "Mendesak"
    assert first["status_kasus"] == "Diteruskan ke Dinas Sosial" and first["terlambat"] == "Tidak"
    assert second["jenis_kendala"] == "Bantuan belum sampai / tidak sesuai"
    assert first["desa"] == "Rawa Makmur" or first["desa"]
    assert tini is not None and first["tksk"] == tini.name and second["ditangani_oleh"] == tini.name
    assert first["ditangani_oleh"] == "Dewi Dinsos"
    assert "with_dissos" not in data.decode("utf-8-sig") and "equipment" not in data.decode("utf-8-sig")

    rec = _csv(await _export(session, ctx, "recipients", "csv"))[0]
    assert rec["jenis_usaha"] and rec["jenis_usaha"] != "kue"
    assert rec["jenis_kelamin"] == "Perempuan" and rec["status_usaha"] == "Masih jalan" or rec["status_usaha"]
    assert rec["tksk"] == tini.name and rec["no_hp"] == "'+6281234567890", "a phone stays text"

    chk = _csv(await _export(session, ctx, "checkins", "csv"))[0]
    assert chk["alasan"] == "Peralatan rusak" and chk["lintang"] == "-0,5021", "a decimal comma, never neutralised"
    assert chk["tksk"] == tini.name and chk["desa"]


async def test_english_with_lang_en(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    await _world(session, cipher, region)
    rows = _csv(await _export(session, ctx, "cases", "csv", lang="en"), delimiter=",")
    assert rows[0]["kind"] == "Equipment broken or lost" and rows[0]["state"] == "Passed to Dinas Sosial"
    assert rows[0]["handled_by"] == "Dewi Dinsos" and rows[0]["overdue"] == "No"


async def test_no_formula_survives_in_csv(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    await _world(session, cipher, region)
    for kind in ("recipients", "checkins", "cases"):
        for lang, sep in (("id", ";"), ("en", ",")):
            for row in _csv(await _export(session, ctx, kind, "csv", lang=lang), delimiter=sep):
                for value in row.values():
                    assert not value.startswith(("=", "+", "@", "\t", "\r")), (kind, value)
                    if value.startswith("-"):
                        assert value.replace(",", ".").lstrip("-").replace(".", "").isdigit(), (kind, value)
    cases = _csv(await _export(session, ctx, "cases", "csv"))
    assert cases[0]["uraian"].startswith("'+6281234567890 ok"), "the first line of a note is neutralised"
    assert cases[1]["penyelesaian"] == "'@evil"
    recipients = _csv(await _export(session, ctx, "recipients", "csv"))
    assert recipients[0]["nama"] == "'" + EVIL[0]


async def test_no_formula_survives_in_xlsx(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    await _world(session, cipher, region)
    for kind in ("recipients", "checkins", "cases"):
        _header, rows = _xlsx(await _export(session, ctx, kind, "xlsx"))
        for row in rows:
            for cell in row:
                assert cell.data_type != "f", (kind, cell.value)
                if isinstance(cell.value, str) and cell.value[:1] in "=+-@":
                    assert cell.data_type == "s"
    header, rows = _xlsx(await _export(session, ctx, "recipients", "xlsx"))
    by = dict(zip(header, rows[0], strict=False))
    assert by["nama"].value == EVIL[0] and by["nama"].data_type == "s", "shown as written, as text"
    assert by["no_hp"].value == "+6281234567890" and by["no_hp"].data_type == "s"


def test_cli_lang_option(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.cli import app
    from tests.reports.test_cli import CONFIG, _prepare

    _prepare(settings)
    runner = CliRunner()
    for lang, first in (("id", "id;nik;nama;jenis_kelamin"), ("en", "id,nik,name,sex")):
        out = tmp_path / f"r-{lang}.csv"
        args = ["--config", CONFIG, "export", "recipients", "--out", str(out)]
        args += ["--lang", lang] if lang == "en" else []
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
        assert out.read_bytes().startswith(b"\xef\xbb\xbf" + first.encode())
