"""Exports read back with csv and openpyxl and compared with the database; NIK masking; full NIKs only for
an admin, audited; the photo ZIP's layout."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from db.models import AuditLog, Case, Checkin, CheckinDue, Photo, Recipient, Staff
from services.crypto import mask_nik
from services.exports import ExportNotAllowed, export_photos, export_table, folder_name
from tests.conftest import T0
from tests.reports.conftest import WITA, add_checkin, add_recipient, wita

NIKS = ["6401015107726943", "6472044408963953", "6401020101800001"]


async def _data(session, cipher, region):  # type: ignore[no-untyped-def]
    a = add_recipient(
        session,
        cipher,
        kecamatan_id=region.kec_a1,
        aid_date=date(2025, 6, 1),
        nik=NIKS[0],
        name="Siti O'neil",
        status="running",
        since=wita(date(2025, 7, 1), 23, 30),
    )
    b = add_recipient(
        session,
        cipher,
        kecamatan_id=region.kec_b1,
        aid_date=None,
        nik=NIKS[1],
        phone=None,
        name="Budi, Saputra",
        pkh=True,
    )
    c = add_recipient(session, cipher, kecamatan_id=region.kec_a2, aid_date=date(2025, 8, 1), nik=NIKS[2])
    await session.flush()
    due = CheckinDue(
        recipient_id=a.id,
        period_no=1,
        due_at=wita(date(2026, 2, 10), 8),
        state="done",
        completed_at=wita(date(2026, 2, 10), 23, 45),
    )
    session.add(due)
    await session.flush()
    add_checkin(
        session,
        a.id,
        "running",
        wita(date(2026, 2, 10), 23, 45),
        checkin_due_id=due.id,
        days_open=6,
        sales_bracket="500k_1m",
        note="ramai\nsekali",
        latitude=-1.2345,
        longitude=116.8,
    )
    add_checkin(session, c.id, "paused", wita(date(2026, 2, 11), 0, 30), reason="sakit", reuse_flagged=True)
    session.add_all(
        [
            Case(
                number="K00001",
                recipient_id=a.id,
                kecamatan_id=region.kec_a1,
                kind="capital",
                urgency="high",
                state="taken",
                description="Modal habis",
                taken_at=T0 - timedelta(hours=3),
                created_at=T0 - timedelta(days=1),
                updated_at=T0,
            ),
            Case(
                number="K00002",
                recipient_id=None,
                kecamatan_id=region.kec_b1,
                kind="other",
                urgency="low",
                state="new",
                overdue=True,
                created_at=T0 - timedelta(days=9),
                updated_at=T0,
            ),
        ]
    )
    admin = Staff(name="Rina Admin", role="admin", active=True, created_at=T0)
    worker = Staff(name="Caseworker Budi", role="caseworker", active=True, created_at=T0)
    session.add_all([admin, worker])
    await session.commit()
    return a, b, c, admin, worker


def _local(v: datetime | None) -> str:
    return "" if v is None else v.astimezone(WITA).strftime("%Y-%m-%d %H:%M:%S")


async def _export(session, ctx, kind, fmt, **kw) -> tuple[bytes, object]:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    result = await export_table(
        session,
        kind,
        buf,
        fmt=fmt,
        settings=ctx.settings,
        cipher=ctx.cipher,
        clock=ctx.clock,
        chunk_rows=2,
        **{"lang": "en", **kw},  # English headers and labels (Indonesian, the default, in tests/fieldfit)
    )
    return buf.getvalue(), result


def _read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith("\ufeff".encode())  # BOM for spreadsheet programs
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _read_xlsx(data: bytes) -> list[dict[str, object]]:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    width = len(rows[0])  # read-only mode drops trailing empty cells
    return [dict(zip(rows[0], tuple(r) + (None,) * (width - len(r)), strict=True)) for r in rows[1:]]


async def test_recipients_csv_and_xlsx_match_the_database(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    await _data(session, cipher, region)
    db_rows = (await session.scalars(select(Recipient).order_by(Recipient.id))).unique().all()

    data, result = await _export(session, ctx, "recipients", "csv")
    rows = _read_csv(data)
    assert result.rows == len(rows) == 3
    for row, r in zip(rows, db_rows, strict=True):
        nik = cipher.decrypt(r.nik_encrypted)
        assert row["id"] == str(r.id)
        assert row["nik"] == mask_nik(nik) and row["nik"][:4] == nik[:4] and row["nik"][-4:] == nik[-4:]
        assert "*" * 8 in row["nik"]
        assert row["name"] == r.name and row["phone"] == ("'" + r.phone if r.phone else ""), "text, not a number"
        assert row["kecamatan"] == r.kecamatan.name and row["kabupaten"] == r.kecamatan.kabupaten.name
        assert row["pkh"] == ("Yes" if r.pkh else "No")
        assert row["aid_date"] == (r.aid_date.isoformat() if r.aid_date else "")
        assert row["business_status_since_wita"] == _local(r.business_status_since)
        assert row["birth_date"] == r.birth_date.isoformat() and row["aid_value"] == str(r.aid_value)
    assert rows[0]["business_status_since_wita"] == "2025-07-01 23:30:00"  # WITA, not UTC
    assert rows[1]["name"] == "Budi, Saputra" and rows[1]["phone"] == ""

    data, result = await _export(session, ctx, "recipients", "xlsx")
    xrows = _read_xlsx(data)
    assert len(xrows) == 3
    for row, r in zip(xrows, db_rows, strict=True):
        assert row["id"] == r.id and row["nik"] == mask_nik(cipher.decrypt(r.nik_encrypted))
        assert row["name"] == r.name and row["phone"] == r.phone
        since = r.business_status_since
        assert row["business_status_since_wita"] == (
            since.astimezone(WITA).replace(tzinfo=None) if since else None
        )
        assert row["aid_date"] == (datetime.combine(r.aid_date, datetime.min.time()) if r.aid_date else None)


async def test_checkins_and_cases_exports(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    a, _b, c, *_ = await _data(session, cipher, region)
    checkins = (await session.scalars(select(Checkin).order_by(Checkin.id))).all()
    data, _ = await _export(session, ctx, "checkins", "csv")
    rows = _read_csv(data)
    assert [r["id"] for r in rows] == [str(ch.id) for ch in checkins]
    assert (
        rows[0]["submitted_at_wita"] == "2026-02-10 23:45:00"
        and rows[0]["due_at_wita"] == "2026-02-10 08:00:00"
    )
    assert (
        rows[0]["note"] == "ramai\nsekali"
        and rows[0]["period_no"] == "1"
        and rows[0]["latitude"] == "-1.2345"
    )
    assert rows[0]["nik"] == mask_nik(NIKS[0]) and rows[0]["recipient_id"] == str(a.id)
    assert rows[1]["submitted_at_wita"] == "2026-02-11 00:30:00" and rows[1]["due_at_wita"] == ""
    assert rows[1]["reuse_flagged"] == "Yes" and rows[1]["reason"] == "sakit" and rows[1]["status"] == "Paused"

    xrows = _read_xlsx((await _export(session, ctx, "checkins", "xlsx"))[0])
    assert [r["id"] for r in xrows] == [ch.id for ch in checkins]
    assert xrows[0]["submitted_at_wita"] == datetime(2026, 2, 10, 23, 45)
    assert xrows[0]["days_open"] == 6 and xrows[0]["latitude"] == pytest.approx(-1.2345)

    cases = (await session.scalars(select(Case).order_by(Case.id))).unique().all()
    rows = _read_csv((await _export(session, ctx, "cases", "csv"))[0])
    assert [r["number"] for r in rows] == [cs.number for cs in cases]
    assert rows[0]["nik"] == mask_nik(NIKS[0]) and rows[0]["taken_at_wita"] == _local(cases[0].taken_at)
    assert rows[1]["nik"] == "" and rows[1]["recipient_id"] == "" and rows[1]["overdue"] == "Yes"
    assert rows[1]["kabupaten"] == "Kota Samarinda"
    xrows = _read_xlsx((await _export(session, ctx, "cases", "xlsx"))[0])
    assert [r["number"] for r in xrows] == ["K00001", "K00002"] and xrows[1]["nik"] is None


async def test_full_nik_only_for_an_admin_and_audited(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    _a, _b, _c, admin, worker = await _data(session, cipher, region)
    for actor in (None, worker):
        with pytest.raises(ExportNotAllowed):
            await _export(session, ctx, "recipients", "csv", full_nik=True, actor=actor)
    assert (await session.scalars(select(AuditLog).where(AuditLog.action == "export.full_nik"))).all() == []

    data, result = await _export(session, ctx, "recipients", "csv", full_nik=True, actor=admin)
    assert result.full_nik
    assert [r["nik"] for r in _read_csv(data)] == ["'" + n for n in NIKS], "kept as text (leading apostrophe)"
    entries = (await session.scalars(select(AuditLog).where(AuditLog.action == "export.full_nik"))).all()
    assert len(entries) == 1
    assert entries[0].actor == "Rina Admin (admin)" and entries[0].target == "recipients"
    assert entries[0].details["format"] == "csv"

    # Masked exports are audited too, without the full-NIK action.
    await _export(session, ctx, "cases", "csv")
    assert await session.scalar(
        select(AuditLog).where(AuditLog.action == "export", AuditLog.target == "cases")
    )


async def test_photo_zip_layout(ctx, session, cipher, region) -> None:  # type: ignore[no-untyped-def]
    a, b, c, *_ = await _data(session, cipher, region)
    media = ctx.settings.storage.media_dir
    ch1 = add_checkin(session, a.id, "running", wita(date(2026, 2, 10), 10))
    ch2 = add_checkin(session, a.id, "running", wita(date(2026, 2, 11), 0, 30))  # UTC: Feb 10
    ch3 = add_checkin(session, c.id, "running", wita(date(2026, 2, 12), 9))
    await session.flush()
    contents = {}
    photos = [
        (a, ch1, "aa/one.jpg", "stored"),
        (a, ch1, "aa/two.jpg", "stored"),
        (a, ch2, "bb/three.jpg", "stored"),
        (c, ch3, "cc/missing.jpg", "stored"),  # not on disk
        (c, ch3, "cc/pending.jpg", "pending"),  # not downloaded yet
    ]
    for n, (who, ch, path, status) in enumerate(photos):
        if path != "cc/missing.jpg":
            f = media / path
            f.parent.mkdir(parents=True, exist_ok=True)
            contents[path] = f"jpeg-{n}".encode()
            f.write_bytes(contents[path])
        session.add(
            Photo(
                recipient_id=who.id,
                checkin_id=ch.id,
                file_id=f"f{n}",
                file_unique_id=f"u{n}",
                path=path,
                status=status,
                created_at=T0,
            )
        )
    await session.commit()

    out = io.BytesIO()
    result = await export_photos(session, out, settings=ctx.settings, clock=ctx.clock)
    assert result.files == 3 and result.recipients == 1 and result.missing == ["cc/missing.jpg"]
    folder = f"Siti O'neil ({a.id})"
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as zf:
        assert sorted(zf.namelist()) == [
            f"{folder}/2026-02-10_1.jpg",
            f"{folder}/2026-02-10_2.jpg",
            f"{folder}/2026-02-11_1.jpg",
        ]
        assert zf.read(f"{folder}/2026-02-10_1.jpg") == contents["aa/one.jpg"]
        assert zf.read(f"{folder}/2026-02-11_1.jpg") == contents["bb/three.jpg"]


def test_folder_names_are_safe() -> None:
    assert folder_name("Siti O'neil", 7) == "Siti O'neil (7)"
    assert folder_name("a/b\\c:d*?", 8) == "a_b_c_d_ (8)"
    assert folder_name("../..", 9) == "recipient (9)" or "/" not in folder_name("../..", 9)
