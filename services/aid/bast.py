"""The BAST (berita acara serah terima) of a hand-over, as a PDF made with fpdf2.

It holds: the number; the day and date written out in Indonesian words; the first party (the Dinas Sosial
officer: name, NIP and position from ``[bast]`` in config.toml); the second party (the recipient: name, NIK
masked unless an admin prints it — audited — and address); the items with unit, quantity, unit price and value,
and the total in figures and in words (terbilang); the clause that the goods were received in good condition;
the place and date, signature spaces, and the hand-over photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.config import Settings
from db.enums import PhotoStatus
from db.models import AidPackage, FieldWorker, Handover, Kabupaten, Kecamatan, Photo, Recipient
from services.aid.catalog import rupiah
from services.aid.words import date_in_words, date_long, rupiah_words
from services.audit import audit
from services.clock import Clock
from services.crypto import NikCipher, mask_nik

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
CLAUSE = ("PIHAK KEDUA telah menerima barang-barang tersebut di atas dari PIHAK PERTAMA dalam keadaan baik, "
          "baru dan lengkap, untuk dipakai sebagai modal usaha dan tidak untuk dijual atau dipindahtangankan.")


class BastNotFound(LookupError):
    pass


@dataclass(frozen=True)
class BastData:
    handover: Handover
    recipient: Recipient
    package: AidPackage
    worker: FieldWorker
    photo: Photo | None


async def load(session: AsyncSession, number: str) -> BastData:
    handover = await session.scalar(select(Handover).where(Handover.number == number))
    if handover is None:
        raise BastNotFound(number)
    return await _data(session, handover)


async def _data(session: AsyncSession, handover: Handover) -> BastData:
    recipient = await session.get(Recipient, handover.recipient_id)
    package = await session.scalar(select(AidPackage).where(AidPackage.id == handover.package_id)
                                   .options(selectinload(AidPackage.items)))
    worker = await session.get(FieldWorker, handover.worker_id)
    photo = await session.get(Photo, handover.photo_id)
    assert recipient is not None and package is not None and worker is not None
    return BastData(handover, recipient, package, worker, photo)


async def in_kabupaten(session: AsyncSession, kabupaten: str) -> list[BastData]:
    rows = await session.scalars(
        select(Handover).join(Recipient, Recipient.id == Handover.recipient_id)
        .join(Kecamatan, Kecamatan.id == Recipient.kecamatan_id).join(Kabupaten, Kabupaten.id == Kecamatan.kabupaten_id)
        .where(Kabupaten.name.ilike(kabupaten.strip()) | Kabupaten.name.ilike(f"Kota {kabupaten.strip()}"))
        .order_by(Handover.id)
    )
    return [await _data(session, h) for h in rows]


def _font(pdf: FPDF) -> str:
    if (FONT_DIR / "DejaVuSans.ttf").exists():
        pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        return "DejaVu"
    return "Helvetica"


def render(data: BastData, settings: Settings, cipher: NikCipher, *, full_nik: bool = False) -> bytes:
    """The PDF bytes. ``full_nik`` only for an admin (the caller audits it)."""
    h, r, package = data.handover, data.recipient, data.package
    cfg = settings.bast
    nik = cipher.decrypt(r.nik_encrypted)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title(f"BAST {h.number}")
    pdf.add_page()
    font = _font(pdf)
    width = pdf.w - pdf.l_margin - pdf.r_margin

    pdf.set_font(font, "B", 13)
    pdf.cell(width, 7, "BERITA ACARA SERAH TERIMA BARANG", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(font, "B", 10)
    pdf.cell(width, 6, "BANTUAN USAHA EKONOMI PRODUKTIF (UEP)", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(font, "", 10)
    pdf.cell(width, 6, f"Nomor: {h.number}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    place = f"{r.kecamatan.name}, {r.kecamatan.kabupaten.name}"
    pdf.multi_cell(width, 5, f"Pada {date_in_words(h.handed_over_on)} ({date_long(h.handed_over_on)}), "
                             f"bertempat di {r.desa}, Kecamatan {place}, kami yang bertanda tangan di bawah ini:",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    def party(title: str, rows: list[tuple[str, str]]) -> None:
        pdf.set_font(font, "B", 10)
        pdf.cell(width, 6, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(font, "", 10)
        for label, value in rows:
            pdf.cell(32, 5, label)
            pdf.multi_cell(width - 32, 5, f": {value}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    party("PIHAK PERTAMA", [("Nama", cfg.officer_name), ("NIP", cfg.officer_nip), ("Jabatan", cfg.officer_position)])
    party("PIHAK KEDUA", [("Nama", r.name), ("NIK", nik if full_nik else mask_nik(nik)),
                          ("Alamat", f"{r.address}, {r.desa}, Kec. {r.kecamatan.name}, {r.kecamatan.kabupaten.name}")])
    pdf.multi_cell(width, 5, "PIHAK PERTAMA menyerahkan kepada PIHAK KEDUA bantuan usaha "
                             f"{package.business_type.replace('_', ' ')} berupa barang sebagai berikut:",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    cols = [(9, "No", "C"), (71, "Barang", "L"), (18, "Satuan", "C"), (16, "Jumlah", "C"),
            (33, "Harga satuan", "R"), (33, "Nilai", "R")]
    pdf.set_font(font, "B", 9)
    for w, title, _align in cols:
        pdf.cell(w, 6, title, border=1, align="C")
    pdf.ln()
    pdf.set_font(font, "", 9)
    total = 0
    for n, item in enumerate(package.items, start=1):
        qty = item.quantity or 1
        value = (item.unit_price or 0) * qty
        total += value
        cells = [str(n), item.name, item.unit or "-", str(qty),
                 rupiah(item.unit_price) if item.unit_price else "-", rupiah(value) if value else "-"]
        for (w, _t, align), text in zip(cols, cells, strict=True):
            pdf.cell(w, 6, text, border=1, align=align)
        pdf.ln()
    total = total or h.total_value
    pdf.set_font(font, "B", 9)
    pdf.cell(sum(w for w, _t, _a in cols[:-1]), 6, "JUMLAH", border=1, align="R")
    pdf.cell(cols[-1][0], 6, rupiah(total), border=1, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(font, "", 10)
    pdf.multi_cell(width, 5, f"Terbilang: {rupiah_words(total)}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.multi_cell(width, 5, CLAUSE, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.multi_cell(width, 5, "Demikian berita acara ini dibuat dengan sebenarnya dalam rangkap dua untuk "
                             "dipergunakan sebagaimana mestinya.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.cell(width, 5, f"{r.kecamatan.kabupaten.name}, {date_long(h.handed_over_on)}", align="R",
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    half = width / 2
    pdf.set_font(font, "B", 10)
    pdf.cell(half, 5, "PIHAK KEDUA", align="C")
    pdf.cell(half, 5, "PIHAK PERTAMA", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(font, "", 9)
    pdf.cell(half, 5, "Penerima bantuan", align="C")
    pdf.cell(half, 5, cfg.office, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(18)
    pdf.set_font(font, "B", 10)
    pdf.cell(half, 5, f"( {r.name} )", align="C")
    pdf.cell(half, 5, f"( {cfg.officer_name} )", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(font, "", 9)
    pdf.cell(half, 5, "")
    pdf.cell(half, 5, f"NIP {cfg.officer_nip}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.cell(width, 5, f"Diserahkan melalui {data.worker.role.upper()} {data.worker.name}; lokasi GPS "
                       f"{h.latitude:.5f}, {h.longitude:.5f}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(font, "B", 10)
    pdf.cell(width, 6, "Foto serah terima", new_x="LMARGIN", new_y="NEXT")
    photo = data.photo
    if photo is not None and photo.status == PhotoStatus.STORED and photo.path and Path(photo.path).exists():
        room = pdf.h - pdf.b_margin - pdf.get_y() - 2
        if room < 35:
            pdf.add_page()
            room = 90
        pdf.image(photo.path, h=min(room, 90))
    else:
        pdf.set_font(font, "", 9)
        pdf.cell(width, 6, "(foto belum tersimpan di server; dicetak ulang setelah foto terunduh)",
                 new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def file_name(number: str) -> str:
    return "BAST-" + number.replace("/", "-") + ".pdf"


def audit_print(session: AsyncSession, clock: Clock, data: BastData, *, actor: str, account_id: int | None,
                full_nik: bool) -> None:
    audit(session, clock, actor=actor, actor_account_id=account_id, action="bast.printed",
          target=f"recipient:{data.recipient.id}", details={"bast": data.handover.number, "full_nik": full_nik})
