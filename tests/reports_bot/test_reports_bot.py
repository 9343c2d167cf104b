"""/laporan, /ringkasan and /ekspor end to end: the real bot polling the emulator, files downloaded back from the
emulator and opened with Pillow, csv and openpyxl; every refusal checked on the server."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

import aiohttp
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from db.enums import StaffRole, WorkerRole
from db.models import AuditLog, BusinessStatusChange, Case, Checkin, Recipient
from sandbox.runner import SandboxRun
from sandbox.world import StoredMessage
from services.crypto import mask_nik
from services.reports import ReportScope, build_report, render_summary, translator
from tests import factories
from tests.conftest import T0

RECIPIENT, TKSK, PSM, CASEWORKER, ADMIN, TKSK_B = 700001, 700002, 700003, 700004, 700005, 700006

# (kabupaten, kecamatan, how many recipients): six kecamatan, so the kecamatan breakdown needs two charts.
AREAS = [
    ("Kota Samarinda", "Palaran", 4),
    ("Kota Samarinda", "Samarinda Ilir", 3),
    ("Kota Samarinda", "Sungai Kunjang", 2),
    ("Kabupaten Paser", "Tanah Grogot", 2),
    ("Kabupaten Paser", "Batu Sopang", 1),
    ("Kabupaten Paser", "Long Ikis", 1),
]
TYPES = ["makanan", "gorengan", "kue", "minuman"]


@dataclass
class World:
    kecamatan_ids: list[int]
    niks: dict[int, str] = field(default_factory=dict)  # recipient id → NIK


async def _seed(run: SandboxRun) -> World:
    ctx = run.ctx
    async with ctx.session_factory.begin() as s:
        kecs = [await factories.region(s, kab, kec) for kab, kec, _ in AREAS]
        world = World([k.id for k in kecs])
        i = 0
        for kec, (_, _, count) in zip(kecs, AREAS, strict=True):
            for _n in range(count):
                nik = factories.fake_nik()
                r = await factories.recipient(
                    s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=kec, nik=nik, name=f"Penerima {i}",
                    business_type=TYPES[i % len(TYPES)], sex="P" if i % 3 else "L", pkh=bool(i % 2),
                    aid_date=date(2025, 3, 1) + timedelta(days=10 * i),
                )
                world.niks[r.id] = nik
                stopped = i % 4 == 3
                r.business_status = "stopped" if stopped else "running"
                r.business_status_since = T0 - timedelta(days=20 + i)
                s.add(Checkin(recipient_id=r.id, status=r.business_status, submitted_at=r.business_status_since))
                s.add(BusinessStatusChange(recipient_id=r.id, status=r.business_status,
                                           changed_at=r.business_status_since))
                i += 1
        # One not yet given aid (counted in the total, not in the survival figures).
        await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=kecs[0], aid_date=None)
        first = (await s.scalars(select(Recipient).order_by(Recipient.id))).first()
        assert first is not None
        await factories.link(s, ctx.clock, RECIPIENT, recipient=first)
        s.add(Case(number="K00001", recipient_id=first.id, kecamatan_id=kecs[0].id, kind="capital", urgency="high",
                   state="new", description="Modal habis", created_at=T0 - timedelta(days=1), updated_at=T0))
        tksk = await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=kecs[0])
        await factories.link(s, ctx.clock, TKSK, worker=tksk)
        psm = await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=kecs[1], role=WorkerRole.PSM,
                                     name="Pak PSM")
        await factories.link(s, ctx.clock, PSM, worker=psm)
        other = await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=kecs[3], name="Tksk Paser")
        await factories.link(s, ctx.clock, TKSK_B, worker=other)
        cw = await factories.staff(s, ctx.clock, role=StaffRole.CASEWORKER, name="Budi Dissos")
        await factories.link(s, ctx.clock, CASEWORKER, staff=cw)
        admin = await factories.staff(s, ctx.clock, role=StaffRole.ADMIN, name="Rina Admin")
        await factories.link(s, ctx.clock, ADMIN, staff=admin)
    return world


async def _download(run: SandboxRun, message: StoredMessage) -> bytes:
    """The message's file (largest photo size) fetched over HTTP from the emulator, as the bot API serves it."""
    f = message.files[-1]
    url = f"{run.emulator.base_url}/file/bot{run.ctx.settings.telegram.token}/{f.file_path}"
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200
        return await resp.read()


async def _new_messages(  # type: ignore[no-untyped-def]
    run: SandboxRun, person, action, until: str | None = None
) -> list[StoredMessage]:
    """What the bot sent after ``action``; with ``until`` (a message kind), wait for such a message first (a
    chart is drawn in a thread, with no Bot API call meanwhile, so "quiet" alone does not mean done)."""
    before = len(person.messages)
    await action()
    if until is not None:
        await person.wait_for(lambda m: m.kind == until, timeout=30)
    await run.settle()
    return person.messages[before:]


async def _expected_summary(run: SandboxRun, scope: ReportScope, lang: str = "id") -> str:
    async with run.ctx.session_factory() as s:
        report = await build_report(s, settings=run.ctx.settings, clock=run.ctx.clock, scope=scope)
    return render_summary(report, translator(lang), lang)


async def test_staff_report_summary_chart_and_every_breakdown(sandbox: SandboxRun) -> None:
    await _seed(sandbox)
    staff = sandbox.person(CASEWORKER, "Budi")
    new = await _new_messages(sandbox, staff, lambda: staff.command("laporan"), "photo")
    assert [m.kind for m in new] == ["text", "photo"]
    summary, chart = new
    assert summary.text == await _expected_summary(sandbox, ReportScope())
    assert summary.text.startswith("Laporan UEP, ") and "WITA" in summary.text.splitlines()[0]
    assert "Penerima: 14; 1 masih menunggu bantuan" in summary.text
    assert "upload_photo" in staff.chat_actions
    png = await _download(sandbox, chart)
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.size == (1024, 1280)
    assert len(chart.caption or "") <= 1024
    assert chart.buttons == ["Menurut jenis usaha", "Menurut kabupaten/kota", "Menurut kecamatan",
                             "Menurut jenis kelamin", "Menurut kepesertaan PKH", "Menurut TKSK"]

    for label in chart.buttons:
        new = await _new_messages(sandbox, staff, lambda label=label: staff.press(label, message=chart), "photo")
        assert new and all(m.kind == "photo" for m in new), label
        assert label.removeprefix("Menurut ").lower() in new[0].caption.lower(), (label, new[0].caption)
        assert len(new[0].caption) <= 1024
        if label == "Menurut kecamatan":  # six kecamatan: two charts of up to four groups, as an album
            assert len(new) == 2 and len({m.data["media_group_id"] for m in new}) == 1
            for line in ("Palaran (n=4)", "Long Ikis (n=1)"):
                assert line in new[0].caption
        else:
            assert len(new) == 1
        for m in new:
            Image.open(io.BytesIO(await _download(sandbox, m))).load()
    assert staff.callback_answers and all(not a.get("show_alert") for a in staff.callback_answers)


async def test_tksk_summary_counts_only_their_kecamatan(sandbox: SandboxRun) -> None:
    world = await _seed(sandbox)
    tksk = sandbox.person(TKSK, "Nur")
    new = await _new_messages(sandbox, tksk, lambda: tksk.command("ringkasan"), "photo")
    assert [m.kind for m in new] == ["text", "photo"]
    summary, chart = new
    own = ReportScope.of([world.kecamatan_ids[0]])
    assert summary.text == await _expected_summary(sandbox, own)
    assert summary.text != await _expected_summary(sandbox, ReportScope())
    # Palaran has 4 recipients with aid and 1 waiting; the other 10 recipients are not counted.
    assert "Penerima: 5; 1 masih menunggu bantuan" in summary.text
    assert "4 penerima yang sudah menerima bantuan" in summary.text or "(Kaplan–Meier, 4 " in summary.text
    assert chart.buttons == ["Menurut jenis usaha", "Menurut jenis kelamin", "Menurut kepesertaan PKH"]

    new = await _new_messages(sandbox, tksk, lambda: tksk.press("Menurut jenis kelamin", message=chart), "photo")
    assert len(new) == 1 and new[0].kind == "photo"
    async with sandbox.ctx.session_factory() as s:
        report = await build_report(s, settings=sandbox.ctx.settings, clock=sandbox.ctx.clock, scope=own,
                                    breakdown="sex")
    assert sum(g.n for g in report.groups) == 4
    for g in report.groups:
        assert f"(n={g.n})" in new[0].caption

    # A PSM sees their own kecamatan (Samarinda Ilir: 3 recipients).
    psm = sandbox.person(PSM, "Psm")
    new = await _new_messages(sandbox, psm, lambda: psm.command("ringkasan"), "photo")
    assert "Penerima: 3; 0 masih menunggu bantuan" in new[0].text


async def test_exports_csv_and_xlsx_with_masked_niks(sandbox: SandboxRun) -> None:
    world = await _seed(sandbox)
    staff = sandbox.person(CASEWORKER, "Budi")
    await staff.command("ekspor")
    menu = await staff.wait_for("NIK disamarkan")
    assert menu.buttons == ["Penerima", "Lapor rutin", "Kasus", "Angka ketahanan usaha"]
    await staff.press("Penerima")
    await staff.wait_for("pilih format")
    await sandbox.settle()
    assert staff.last.buttons == ["CSV", "XLSX"], "a caseworker is not offered full NIKs"
    new = await _new_messages(sandbox, staff, lambda: staff.press("CSV"), "document")
    assert [m.kind for m in new] == ["document"]
    doc = new[0]
    assert doc.data["document"]["file_name"] == "uep-recipients-2026-03-02.csv"
    assert "14 baris" in doc.caption and "WITA" in doc.caption
    # Indonesian CSV: ';' between columns (services/exports.py), so Excel set to Indonesian splits it.
    rows = list(csv.DictReader(io.StringIO((await _download(sandbox, doc)).decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 14
    for row in rows:
        if int(row["id"]) in world.niks:
            assert row["nik"] == mask_nik(world.niks[int(row["id"])])
        assert "*" * 8 in row["nik"]

    await staff.command("ekspor")
    await staff.wait_for("NIK disamarkan")
    await staff.press("Lapor rutin")
    await staff.wait_for("pilih format")
    new = await _new_messages(sandbox, staff, lambda: staff.press("XLSX"), "document")
    doc = new[-1]
    assert doc.data["document"]["file_name"] == "uep-checkins-2026-03-02.xlsx"
    sheet = load_workbook(io.BytesIO(await _download(sandbox, doc)), read_only=True).active
    table = list(sheet.iter_rows(values_only=True))
    header, body = table[0], table[1:]
    assert len(body) == 13
    nik_col = header.index("nik")
    assert all(r[nik_col] and "*" * 8 in r[nik_col] for r in body)

    # A forged "full NIK" button from a caseworker is refused, nothing is sent, nothing is audited as such.
    new = await _new_messages(sandbox, staff, lambda: staff.press_callback(menu.message_id, "exp:recipients:csv:1"))
    assert new == []
    assert staff.callback_answers[-1]["show_alert"] is True
    assert "Hanya admin" in staff.callback_answers[-1]["text"]
    async with sandbox.ctx.session_factory() as s:
        actions = list(await s.scalars(select(AuditLog.action)))
    assert "export.full_nik" not in actions and actions.count("export") == 2


async def test_admin_full_nik_export_is_audited(sandbox: SandboxRun) -> None:
    world = await _seed(sandbox)
    admin = sandbox.person(ADMIN, "Rina")
    await admin.command("ekspor")
    await admin.wait_for("NIK disamarkan")
    await admin.press("Penerima")
    await admin.wait_for("log audit")
    await sandbox.settle()
    assert admin.last.buttons == ["CSV", "XLSX", "CSV, NIK lengkap", "XLSX, NIK lengkap"]
    new = await _new_messages(sandbox, admin, lambda: admin.press("XLSX, NIK lengkap"), "document")
    doc = new[-1]
    assert doc.data["document"]["file_name"] == "uep-recipients-full-nik-2026-03-02.xlsx"
    assert "NIK lengkap" in doc.caption
    sheet = load_workbook(io.BytesIO(await _download(sandbox, doc)), read_only=True).active
    table = list(sheet.iter_rows(values_only=True))
    header = table[0]
    got = {r[header.index("id")]: r[header.index("nik")] for r in table[1:]}
    for rid, nik in world.niks.items():
        assert got[rid] == nik
    async with sandbox.ctx.session_factory() as s:
        entries = list(await s.scalars(select(AuditLog).where(AuditLog.action == "export.full_nik")))
    assert len(entries) == 1
    assert entries[0].target == "recipients" and "Rina Admin" in entries[0].actor
    assert entries[0].actor_account_id is not None


async def test_recipient_and_tksk_are_refused_staff_buttons(sandbox: SandboxRun) -> None:
    await _seed(sandbox)
    for uid in (RECIPIENT, TKSK):
        person = sandbox.person(uid, "X")
        await person.command("help")
        msg = await person.wait_for(None)
        for data in ("rpt:all:kabupaten", "rpt:all:kecamatan", "exp:recipients:-:0", "exp:recipients:csv:0",
                     "exp:cases:xlsx:1"):
            press = lambda p=person, m=msg.message_id, d=data: p.press_callback(m, d)  # noqa: E731
            new = await _new_messages(sandbox, person, press)
            assert new == [], (uid, data)
            answer = person.callback_answers[-1]
            assert answer["show_alert"] is True and "tidak tersedia" in answer["text"], (uid, data)
        for command in ("laporan", "ekspor"):
            await person.command(command)
            await person.wait_for("tidak tersedia untuk Anda")
    # A recipient cannot use a TKSK's /ringkasan buttons either; a TKSK never gets staff exports.
    recipient = sandbox.person(RECIPIENT)
    new = await _new_messages(sandbox, recipient, lambda: recipient.press_callback(1, "rpt:kec:sex"))
    assert new == [] and recipient.callback_answers[-1]["show_alert"] is True
    async with sandbox.ctx.session_factory() as s:
        assert list(await s.scalars(select(AuditLog.action))) == []


async def test_english_report_uses_english_numbers(sandbox: SandboxRun) -> None:
    await _seed(sandbox)
    ctx = sandbox.ctx
    from db.models import TelegramAccount

    async with ctx.session_factory.begin() as s:
        account = await s.scalar(select(TelegramAccount).where(TelegramAccount.telegram_user_id == ADMIN))
        assert account is not None
        account.language = "en"
    admin = sandbox.person(ADMIN, "Rina")
    new = await _new_messages(sandbox, admin, lambda: admin.command("laporan"), "photo")
    assert new[0].text == await _expected_summary(sandbox, ReportScope(), "en")
    assert new[0].text.startswith("UEP report, ")
    assert new[1].buttons[0] == "By business type"


async def test_survival_export_has_the_summarys_figures(sandbox: SandboxRun) -> None:
    """/ekspor → survival figures: the same figure text and minimum as /laporan, one row per group and horizon."""
    await _seed(sandbox)
    staff = sandbox.person(CASEWORKER, "Budi")
    await staff.command("ekspor")
    menu = await staff.wait_for("NIK disamarkan")
    await staff.press("Angka ketahanan usaha", message=menu)
    await staff.wait_for("pilih format")
    await sandbox.settle()
    assert staff.last.buttons == ["CSV", "XLSX"]
    new = await _new_messages(sandbox, staff, lambda: staff.press("CSV"), "document")
    doc = new[0]
    assert doc.data["document"]["file_name"] == "uep-survival-2026-03-02.csv"
    rows = list(csv.reader(io.StringIO((await _download(sandbox, doc)).decode("utf-8-sig")), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["rincian", "kelompok", "penerima (n)", "bulan setelah bantuan"]
    async with sandbox.ctx.session_factory() as s:
        overall = (await build_report(s, settings=sandbox.ctx.settings, clock=sandbox.ctx.clock)).overall
    # Overall first, one row per horizon, with the summary's wording (13 people: below the minimum of 20).
    assert [r[1] for r in body[:3]] == ["Semua penerima"] * 3
    for row, est in zip(body[:3], overall.estimates.values(), strict=True):
        assert row[4] == str(est.at_risk) and row[5] == "" and row[8] == f"belum cukup data (n={est.at_risk})"
    breakdowns = {r[0] for r in body[3:]}
    assert "Menurut jenis usaha" in breakdowns and "Menurut TKSK" in breakdowns
