"""#17 §4: how long a recipient's messages are on a 360-px phone, measured in lines in the web chat.

A recipient joins from an invitation, reports a problem by voice from the main menu and sends a check-in with
one photo; every bot message she got is measured (lines of text as laid out at 360 px). The figure for the
closing note is printed; the test fails if any message is longer than ``MAX_LINES``.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from db.enums import InvitationKind
from db.models import Kecamatan, Recipient
from sandbox.app import SandboxApp
from sandbox.personas import RECIPIENT_BASE
from services.invitations import create_invitation
from tests.fieldfit.recipient_messages import ON_REQUEST, recipient_messages

from .helpers import open_page, pick_person, wait_bot

pytestmark = pytest.mark.browser
NARROW = {"width": 360, "height": 740}
MAX_LINES = 6  # a reply joins up to three entries: the consent screen (greeting, summary, question) is the longest
ENTRY_MAX_LINES = 4  # one catalog entry: "about three short lines" (tests/fieldfit/test_message_lines.py)
CSS = Path(__file__).resolve().parents[2] / "sandbox" / "web" / "style.css"

@pytest.fixture
def settings(settings: Any) -> Any:
    settings.throttling.rate = 100  # the test taps faster than people do
    return settings


LINES = """() => [...document.querySelectorAll('.msg.in .bubble')].map(b => {
  const tops = new Set();
  const walker = document.createTreeWalker(b, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement.closest('.meta') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const r = document.createRange(); r.selectNodeContents(n);
    for (const rect of r.getClientRects()) if (rect.width > 0) tops.add(Math.round(rect.top / 4));
  }
  return [tops.size, b.innerText.slice(0, 200)];
})"""


async def test_longest_recipient_message_in_lines_at_360_px(sandbox_app: SandboxApp, browser: Any) -> None:
    ctx = sandbox_app.ctx
    assert ctx is not None and sandbox_app.emulator is not None
    async with ctx.session_factory.begin() as s:
        r = (await s.scalars(select(Recipient).join(Kecamatan).where(
            Recipient.name == "Erna Sinaga", Kecamatan.name == "Palaran"))).one()
        invitation = await create_invitation(s, settings=ctx.settings, clock=ctx.clock,
                                             kind=InvitationKind.RECIPIENT, recipient=r)
        token = invitation.link("uep_kaltim_bot").rsplit("=", 1)[1]
    page = await open_page(browser, sandbox_app.url, viewport=NARROW)
    await pick_person(page, "Penerima", "erna palaran", "Erna Sinaga")
    me = sandbox_app.emulator.find_person(RECIPIENT_BASE + r.id)
    assert me is not None
    await me.command("start", token)
    await me.press("✅ Saya setuju", message=await me.wait_for("Apakah Anda setuju?"))
    await me.wait_for("Kirim nomor HP saya")
    await me.share_contact()
    await me.press("✅ Ya, benar", message=await me.wait_for("Apakah sudah benar?"))
    await me.press("✅ Ya, semua sudah diterima", message=await me.wait_for("Paket bantuan Anda"))
    await me.wait_for("Langkah terakhir")
    await me.send_photo()
    await me.wait_for("Pendaftaran selesai")
    await me.send_voice(duration=6)
    await me.press("🆘 Laporkan sebagai kendala", message=await me.wait_for("Mau diapakan?"))
    await me.press("💰 Modal", message=await me.wait_for("Kendalanya jenis apa?"))
    await me.press("🟡 Mendesak, tapi masih bisa jualan", message=await me.wait_for("seberapa mendesak"))
    await me.wait_for("tersimpan dengan nomor", timeout=30)
    await me.press_reply("📋 Lapor usaha")
    await me.press("✅ Masih jalan", message=await me.wait_for("Bagaimana usaha Anda sekarang?"))
    await me.press("6", message=await me.wait_for("Berapa hari"))
    await me.press("Rp500 ribu–1 juta", message=await me.wait_for("berapa penjualan"))
    await me.wait_for("Kirim 1 sampai 3 foto")
    await me.send_photo()
    await me.wait_for("Foto diterima")
    await me.press_reply("➡️ Lanjut tanpa lokasi")
    await me.press("✅ Kirim", message=await me.wait_for("Kirim laporan ini?"))
    await me.wait_for("Laporan berikutnya", timeout=30)
    await wait_bot(page, "Laporan berikutnya")
    await page.wait_for_timeout(300)
    measured = await page.evaluate(LINES)
    assert len(measured) >= 15, measured
    longest, text = max(measured, key=lambda m: m[0])
    print(f"\nFIGURE longest recipient message at 360 px: {longest} lines ({text!r}); "
          f"messages measured: {len(measured)}; lines per message: {sorted(n for n, _ in measured)}")
    assert longest <= MAX_LINES, (longest, text)


async def test_every_recipient_catalog_entry_in_lines_at_360_px(browser: Any) -> None:
    """Every recipient-facing entry (Indonesian, realistic values) laid out in the web chat's bubbles at 360 px."""
    rendered = recipient_messages(("id",))
    bubbles = "".join(f'<div class="msg in"><div class="bubble">{html.escape(r.text)}</div></div>' for r in rendered)
    page = await browser.new_page()
    await page.set_viewport_size(NARROW)
    await page.set_content(f"<html><head><style>{CSS.read_text()}</style></head><body>"
                           f"<div class='messages' style='overflow:visible'>{bubbles}</div></body></html>")
    measured = [(n, r) for (n, _text), r in zip(await page.evaluate(LINES), rendered, strict=True)]
    short = [(n, r) for n, r in measured if r.msgid not in ON_REQUEST]
    longest, which = max(((n, r.where) for n, r in short))
    print(f"\nFIGURE longest recipient catalog entry at 360 px (Chromium): {longest} lines ({which}); "
          f"entries: {len(measured)}; on request (not limited): "
          f"{sorted(n for n, r in measured if r.msgid in ON_REQUEST)}")
    assert len(measured) > 250
    too_long = [(n, r.where, r.text) for n, r in short if n > ENTRY_MAX_LINES]
    assert not too_long, too_long
