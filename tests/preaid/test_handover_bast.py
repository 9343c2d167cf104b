"""The hand-over end to end: the TKSK's checklist, photo and GPS; refusals (outside the kecamatan, no photo,
an item not ticked, a second hand-over); the recipient confirms receipt of the real items; the BAST PDF read
back as text with every field; `uep bast`, `uep packages export --by kabupaten` and `uep pipeline`."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from bot.context import AppContext
from db.enums import CandidateStage, OnboardingState, PhotoStatus, StaffRole, WorkerRole
from db.models import AidItem, AidPackage, AuditLog, Candidate, Handover, Photo, Recipient
from sandbox.runner import SandboxRun
from scheduler.runner import run_due
from services.aid.decision import approve
from services.aid.lifecycle import Actor
from tests import factories
from tests.preaid.helpers import assessed, candidate

TKSK_TG, OTHER_TG, REC_TG, ADMIN_TG, CASE_TG = 960001, 960002, 960003, 960004, 960005
NIK = "6407016502790003"


async def _setup(ctx: AppContext) -> tuple[int, int]:
    async with ctx.session_factory.begin() as s:
        kec = await factories.region(s, "Kutai Barat", "Muara Pahu")
        other = await factories.region(s, "Kutai Barat", "Barong Tongkok")
        tksk = await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=kec, role=WorkerRole.TKSK, name="Nurhayati")
        other_tksk = await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=other, name="Yohanes")
        await factories.link(s, ctx.clock, TKSK_TG, worker=tksk)
        await factories.link(s, ctx.clock, OTHER_TG, worker=other_tksk)
        admin = await factories.staff(s, ctx.clock, role=StaffRole.ADMIN, name="Ani Admin")
        caseworker = await factories.staff(s, ctx.clock, role=StaffRole.CASEWORKER, name="Budi Dissos")
        await factories.link(s, ctx.clock, ADMIN_TG, staff=admin)
        await factories.link(s, ctx.clock, CASE_TG, staff=caseworker)
        c = await candidate(s, ctx.cipher, ctx.clock, kecamatan=kec, name="Rusmini", nik=NIK)
        await assessed(s, ctx.clock, ctx.settings, tksk, c.id)
        decision = await approve(s, ctx.clock, ctx.settings, c, business_type="kue", actor=Actor("caseworker Budi"))
        assert decision.recipient is not None
        recipient = decision.recipient
        recipient.onboarding_state = OnboardingState.AID_WAITING  # joined the bot, waiting for the aid
        account = await factories.link(s, ctx.clock, REC_TG, recipient=recipient)
        account.first_name = "Rusmini"
        return recipient.id, c.id


async def _wait_photo(ctx: AppContext, photo_id: int) -> None:
    for _ in range(100):
        async with ctx.session_factory() as s:
            photo = await s.get(Photo, photo_id)
            if photo is not None and photo.status == PhotoStatus.STORED:
                return
        await asyncio.sleep(0.1)
    raise AssertionError("handover photo not stored")


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def test_handover_receipt_and_bast(sandbox: SandboxRun, tmp_path: Path) -> None:
    ctx = sandbox.ctx
    recipient_id, candidate_id = await _setup(ctx)
    tksk, other = sandbox.person(TKSK_TG, "Nur"), sandbox.person(OTHER_TG, "Yohanes")
    rusmini = sandbox.person(REC_TG, "Rusmini")

    # Another kecamatan's TKSK does not see the package, and a forged button is refused.
    await other.command("serahterima")
    none = await other.wait_for("Tidak ada paket bantuan yang menunggu diserahkan di Barong Tongkok")
    await other.press_callback(none.message_id, f"se:pick:{recipient_id}:0")
    await sandbox.settle()
    assert "di luar kecamatan Anda" in other.callback_answers[-1]["text"]

    await tksk.command("serahterima")
    await tksk.wait_for("Paket bantuan yang perlu diserahkan di Muara Pahu: 1")
    await tksk.press("Rusmini · Rp4.750.000")
    checklist = await tksk.wait_for("Centang setiap barang")
    assert "☐ 1. Oven gas — 1 unit, Rp1.400.000" in checklist.text
    await tksk.press("☐ Oven gas")
    await tksk.wait_for("☑ 1. Oven gas")
    await tksk.press("➡️ Lanjut")
    await sandbox.settle()
    refused = tksk.callback_answers[-1]["text"]
    assert refused.startswith("Belum semua barang dicentang: Mixer, Kompor gas 1 tungku")
    await tksk.press("☑ Semua sudah diserahkan")
    await tksk.wait_for("☑ 7. Bahan baku awal")
    await tksk.press("➡️ Lanjut")
    await tksk.wait_for("Kirim foto Rusmini bersama barangnya")
    await tksk.send("sudah")
    await tksk.wait_for("Foto penerima bersama barangnya wajib ada")
    async with ctx.session_factory() as s:  # nothing written before the last step
        assert await s.scalar(select(func.count()).select_from(Handover)) == 0
    await tksk.send_photo()
    await tksk.wait_for("kirim lokasi serah terima")
    await tksk.press_reply("📍 Kirim lokasi")
    await tksk.wait_for("Catat serah terima sekarang?")
    await tksk.press("✅ Catat serah terima")
    done = await tksk.wait_for("Serah terima tercatat")
    async with ctx.session_factory() as s:
        handover = await s.scalar(select(Handover))
        assert handover is not None
        kab_code = (await s.get(Recipient, recipient_id)).kecamatan.kabupaten.code  # type: ignore[union-attr]
        assert handover.number == f"{handover.id:05d}/BAST-UEP/{kab_code}/2026" and handover.number in done.text
        r = await s.get(Recipient, recipient_id)
        assert r is not None and r.aid_date == date(2026, 3, 2)  # the hand-over date (WITA) is the aid date
        package = await s.scalar(select(AidPackage).where(AidPackage.recipient_id == recipient_id))
        assert package is not None and package.delivered_on == date(2026, 3, 2)
        assert set(await s.scalars(select(AidItem.handed_over))) == {True}
        c = await s.get(Candidate, candidate_id)
        assert c is not None and c.stage == CandidateStage.HANDED_OVER
        assert handover.total_value == 4_750_000 and handover.latitude is not None
    await _wait_photo(ctx, handover.photo_id)

    # A second hand-over of the same package is refused.
    await tksk.press_callback(done.message_id, f"se:pick:{recipient_id}:0")
    await sandbox.settle()
    assert tksk.callback_answers[-1]["text"].startswith(f"Paket ini sudah diserahkan (BAST {handover.number})")

    # The recipient is asked to confirm receipt, listing the real items with their values.
    assert (await run_due(ctx, sandbox.app.messenger))["onboarding_aid_arrived"] == 1
    news = await rusmini.wait_for("Kabar baik")
    assert "7 barang, senilai Rp4.750.000" in news.text, "a short summary (#17 §4)"
    await rusmini.press("📄 Lihat daftar barang", message=news)
    items = await rusmini.wait_for("1. Oven gas")
    assert "1. Oven gas — 1 unit, Rp1.400.000" in items.text and "Nilai seluruhnya: Rp4.750.000" in items.text
    await rusmini.press("✅ Ya, semua sudah diterima", message=items)
    await rusmini.wait_for("Langkah terakhir")
    await rusmini.send_photo()
    finished = await rusmini.wait_for("Pendaftaran selesai")
    assert "Senin, 16 Mar 2026" in finished.text  # first check-in 14 days after the hand-over date

    # The BAST from the bot: an admin gets the full NIK (audited), a caseworker a masked one.
    admin, caseworker = sandbox.person(ADMIN_TG, "Ani"), sandbox.person(CASE_TG, "Budi")
    for person, nik_shown in ((admin, NIK), (caseworker, "6407********0003")):
        await person.command("bast", handover.number)
        doc = await person.wait_for(lambda m: m.kind == "document")
        assert doc.files[-1].file_name == "BAST-" + handover.number.replace("/", "-") + ".pdf"
        text = _pdf_text(doc.files[-1].data)
        assert f"NIK : {nik_shown}" in text and "Terbilang: Empat juta tujuh ratus lima puluh ribu rupiah" in text
    async with ctx.session_factory() as s:
        printed = list(await s.scalars(select(AuditLog).where(AuditLog.action == "bast.printed")))
        assert [p.details["full_nik"] for p in printed] == [True, False]  # type: ignore[index]


def _bast_fields_in(text: str, number: str, nik: str) -> None:
    for expected in (
        "BERITA ACARA SERAH TERIMA BARANG", f"Nomor: {number}",
        "Pada hari Senin tanggal dua bulan Maret tahun dua ribu dua puluh enam",
        "PIHAK PERTAMA", "Drs. H. Andi Muhammad Ishak, M.Si", "196805121994031007",
        "Kepala Bidang Pemberdayaan Sosial", "PIHAK KEDUA", "Rusmini", f"NIK : {nik}",
        "Jl. Pramuka RT 3, Karang Makmur, Kec. Muara Pahu, Kutai Barat",
        "Oven gas", "Mixer", "Bahan baku awal", "Rp1.400.000", "JUMLAH Rp4.750.000",
        "Terbilang: Empat juta tujuh ratus lima puluh ribu rupiah",
        "dalam keadaan baik", "Kutai Barat, 2 Maret 2026", "( Rusmini )", "NIP 196805121994031007",
        "Foto serah terima",
    ):
        assert expected in text, expected


async def test_bast_pdf_every_field_cli_export_and_pipeline(sandbox: SandboxRun, tmp_path: Path, uep) -> None:  # type: ignore[no-untyped-def]
    ctx = sandbox.ctx
    recipient_id, _candidate_id = await _setup(ctx)
    tksk = sandbox.person(TKSK_TG, "Nur")
    await tksk.command("serahterima")
    await tksk.wait_for("Pilih penerima")
    await tksk.press("Rusmini · Rp4.750.000")
    await tksk.wait_for("Centang setiap barang")
    await tksk.press("☑ Semua sudah diserahkan")
    await tksk.wait_for("☑ 7.")
    await tksk.press("➡️ Lanjut")
    await tksk.wait_for("Kirim foto")
    await tksk.send_photo()
    await tksk.wait_for("kirim lokasi")
    await tksk.share_location(-0.35, 115.7)
    await tksk.wait_for("Catat serah terima sekarang?")
    await tksk.press("✅ Catat serah terima")
    await tksk.wait_for("Serah terima tercatat")
    async with ctx.session_factory() as s:
        handover = await s.scalar(select(Handover))
        assert handover is not None
    await _wait_photo(ctx, handover.photo_id)
    await sandbox.settle()

    out = tmp_path / "bast.pdf"
    res = await asyncio.to_thread(uep, "bast", handover.number, "--out", str(out))
    assert res.exit_code == 0, res.output
    text = _pdf_text(out.read_bytes())
    _bast_fields_in(text, handover.number, "6407********0003")
    assert NIK not in text
    assert len(PdfReader(str(out)).pages[-1].images) == 1  # the hand-over photo is in it
    # The page renders (pdftoppm, as a person would open it); KEEP_BAST_PNG=DIR keeps the PNG to look at.
    png = Path(os.environ.get("KEEP_BAST_PNG", tmp_path))
    await asyncio.to_thread(subprocess.run, ["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", str(out),
                                             str(png / "bast")], check=True)
    assert (png / "bast-1.png").stat().st_size > 10_000
    assert len(PdfReader(str(out)).pages) == 1  # everything, the photo included, fits on one A4 page

    refused = await asyncio.to_thread(uep, "bast", handover.number, "--full-nik", "--actor", "Budi Dissos")
    assert refused.exit_code == 2 and "active admin" in refused.output
    full = await asyncio.to_thread(uep, "bast", handover.number, "--full-nik", "--actor", "Ani Admin",
                                   "--out", str(tmp_path / "full.pdf"))
    assert full.exit_code == 0 and NIK in _pdf_text((tmp_path / "full.pdf").read_bytes())
    folder = tmp_path / "kutai-barat"
    many = await asyncio.to_thread(uep, "bast", "--kabupaten", "kutai barat", "--out", str(folder))
    assert many.exit_code == 0 and [p.name for p in folder.iterdir()] == [handover.number.replace("/", "-").join(
        ["BAST-", ".pdf"])]
    nothing = await asyncio.to_thread(uep, "bast", "--kabupaten", "Berau", "--out", str(folder))
    assert nothing.exit_code == 1

    # Procurement list: every package still to hand over, items × quantities × prices, with totals.
    async with ctx.session_factory.begin() as s:
        kec = await factories.region(s, "Kota Samarinda", "Palaran")
        for _ in range(2):
            await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=kec, business_type="kue",
                                      aid_date=None)
    export = tmp_path / "pengadaan.csv"
    res = await asyncio.to_thread(uep, "packages", "export", "--by", "kabupaten", "--out", str(export))
    assert res.exit_code == 0, res.output
    rows = export.read_text(encoding="utf-8-sig").splitlines()
    assert rows[0] == "kabupaten;jenis_usaha;barang;satuan;harga_satuan;jumlah;nilai"
    assert "Kota Samarinda;kue;Oven gas;unit;1400000;2;2800000" in rows
    assert "Kota Samarinda;;JUMLAH;;;;9500000" in rows and rows[-1] == "SEMUA;;JUMLAH;;;;9500000"
    assert not any(r.startswith("Kutai Barat") for r in rows)  # handed over already: nothing to buy

    res = await asyncio.to_thread(uep, "pipeline", "--out", str(tmp_path / "pipeline.csv"))
    assert res.exit_code == 0, res.output
    lines = (tmp_path / "pipeline.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "kabupaten;calon;diasesmen;layak;meragukan;tidak_layak;tidak_disetujui;disetujui;" \
                       "paket_ditetapkan;diserahkan"
    assert "Kutai Barat;1;1;1;0;0;0;1;1;1" in lines


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    settings.throttling.rate = 100
    return settings
