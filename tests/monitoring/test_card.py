"""The recipient card through the emulator: from /penerima (search by desa, status filters), the phone look-up
(audited, never the number), photos as an album on request, and every refusal (other kecamatan, not a recipient,
a role that sees no cards)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from db.enums import CaseKind, CheckinDueState
from db.models import AuditLog, Checkin, CheckinDue, Photo, Recipient
from sandbox.runner import SandboxRun
from services.cases import open_case
from services.monitoring.plan import ensure_plan_rows
from tests import factories
from tests.cases.conftest import People, World


async def _audit(sandbox: SandboxRun, action: str) -> AuditLog:
    for _ in range(250):  # the press's transaction commits just after its reply
        async with sandbox.ctx.session_factory() as s:
            entry = await s.scalar(select(AuditLog).where(AuditLog.action == action))
        if entry is not None:
            return entry
        await asyncio.sleep(0.02)
    raise AssertionError(f"no audit entry {action}")


async def test_card_from_penerima_with_phone_and_album(sandbox: SandboxRun, people: People, world: World) -> None:
    ctx = sandbox.ctx
    now = ctx.clock.now()
    sent = await people.siti.send_album([None, None])  # real file ids the emulator knows
    file_ids = [m.data["photo"][-1]["file_id"] for m in sent]
    await people.siti.wait_idle()
    async with ctx.session_factory.begin() as s:
        checkin = Checkin(recipient_id=world.recipient.id, status="running", days_open=6, sales_bracket="500k_1m",
                          submitted_at=now - timedelta(days=3))
        s.add(checkin)
        await s.flush()
        for n in range(2):
            s.add(Photo(recipient_id=world.recipient.id, checkin_id=checkin.id, file_id=file_ids[n],
                        file_unique_id=f"u-{n}", status="stored", created_at=now))
        recipient = await s.get(Recipient, world.recipient.id)
        await open_case(s, recipient=recipient, kind=CaseKind.CAPITAL, settings=ctx.settings, clock=ctx.clock)

    tksk = people.tksk
    await tksk.send("/penerima")
    listing = await tksk.wait_for("Penerima, halaman 1")
    assert "📇 1" in listing.buttons
    await tksk.press("📇 1", message=listing)
    card = await tksk.wait_for("Laporan terakhir")
    text = card.text
    assert "Siti Aminah" in text and "Rawa Makmur" in text
    assert "Risiko" in text and "ada kasus terbuka" in text, text
    assert "buka 6 hari" in text and "📷2" in text
    assert "Modal" in text  # the open case
    assert "+6281234567890" not in text and "6472" not in text  # neither phone nor NIK on the card
    assert card.buttons[:2] == ["📞 Telepon", "🖼 Foto"]

    await tksk.press("📞 Telepon", message=card)
    phone = await tksk.wait_for("+6281234567890")
    assert "Ketuk nomornya" in phone.text
    # A bare number in plain text (no code block): Telegram apps show it as a link that starts a call.
    assert phone.raw_text is not None and "<code>" not in phone.raw_text
    entry = await _audit(sandbox, "recipient.phone_viewed")
    assert entry.target == f"recipient:{world.recipient.id}" and "6281234567890" not in str(entry.details)

    await tksk.press("🖼 Foto", message=card)
    await tksk.wait_for(lambda m: m.data.get("caption") == "Foto Siti Aminah")
    album = [m for m in tksk.messages if m.data.get("photo")]
    assert len(album) == 2 and album[0].data.get("media_group_id") == album[1].data.get("media_group_id")


async def test_search_by_desa_and_status_filters(sandbox: SandboxRun, people: People, world: World) -> None:
    ctx = sandbox.ctx
    async with ctx.session_factory.begin() as s:
        palaran = await s.get(type(world.tksk.kecamatan), world.tksk.kecamatan_id)
        other = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=palaran,
                                          name="Wati Lestari", phone=None)
        other.desa = "Bukuan"
        s.add(CheckinDue(recipient_id=world.recipient.id, period_no=1, due_at=ctx.clock.now() - timedelta(days=20),
                         state=CheckinDueState.MISSED, missed_at=ctx.clock.now() - timedelta(days=14)))
    async with ctx.session_factory.begin() as s:
        assert await ensure_plan_rows(s, now=ctx.clock.now(), settings=ctx.settings) == 3  # one per recipient
    tksk = people.tksk
    await tksk.send("/penerima")
    listing = await tksk.wait_for("Penerima, halaman 1")
    assert "Siti Aminah" in listing.text and "Wati Lestari" in listing.text

    await tksk.send("bukuan")  # a desa, not a name
    found = await tksk.wait_for("cari: “bukuan”")
    assert "Wati Lestari" in found.text and "Siti Aminah" not in found.text

    await tksk.send("a")  # everyone again (both names have an "a"), then the filters
    await tksk.wait_for("cari: “a”")
    await tksk.press("Belum bergabung")
    nj = await tksk.wait_for(lambda m: "Belum bergabung" in m.content and "Penerima" in m.content)
    assert "Wati Lestari" in nj.text and "Siti Aminah" not in nj.text
    await tksk.press("Lapor terlewat")
    mr = await tksk.wait_for(lambda m: "Lapor terlewat" in m.content and "Penerima" in m.content)
    assert "Siti Aminah" in mr.text and "Wati Lestari" not in mr.text
    await tksk.press("Kasus terbuka")
    oc = await tksk.wait_for("Tidak ada penerima untuk saringan")
    assert "Kasus terbuka" in oc.text
    await tksk.press("Perlu dikunjungi")  # aid on 5 Jan, never visited: 30 days passed long ago
    vd = await tksk.wait_for(lambda m: "Perlu dikunjungi" in m.content and "Penerima" in m.content)
    assert "Siti Aminah" in vd.text and "Wati Lestari" in vd.text


async def test_card_refusals(sandbox: SandboxRun, people: People, world: World) -> None:
    from services.monitoring.card import RcCb

    tksk, other_tksk, siti = people.tksk, people.other_tksk, people.siti
    await tksk.send("/penerima")
    listing = await tksk.wait_for("Penerima, halaman 1")

    # The TKSK of Loa Janan forges a card button for a recipient of Palaran: refused, nothing shown.
    await other_tksk.press_callback(listing.message_id, RcCb(action="open", rid=world.recipient.id).pack())
    await other_tksk.wait_idle()
    assert other_tksk.callback_answers[-1]["text"] == "Maaf, penerima ini bukan di kecamatan Anda."
    await other_tksk.press_callback(listing.message_id, RcCb(action="call", rid=world.recipient.id).pack())
    await other_tksk.wait_idle()
    assert other_tksk.callback_answers[-1]["text"] == "Maaf, penerima ini bukan di kecamatan Anda."
    assert not [m for m in other_tksk.messages if "+6281234567890" in m.content]

    # A forged id of nobody.
    await tksk.press_callback(listing.message_id, RcCb(action="visit", rid=999999, v=0).pack())
    await tksk.wait_idle()
    assert tksk.callback_answers[-1]["text"] == "Maaf, orang ini bukan penerima program."

    # A recipient never sees cards, not even their own.
    await siti.press_callback(1, RcCb(action="open", rid=world.recipient.id).pack())
    await siti.wait_idle()
    assert not [m for m in siti.messages if "Laporan terakhir" in m.content]
    async with sandbox.ctx.session_factory() as s:
        assert await s.scalar(select(AuditLog.id).where(AuditLog.action == "recipient.phone_viewed")) is None


async def test_risk_on_the_dissos_queue_and_from_a_case_card_to_the_recipient_card(
    sandbox: SandboxRun, people: People, world: World
) -> None:
    from tests.cases.test_worker_actions import report

    number = await report(people.siti)
    alert = await people.tksk.wait_for(number)
    assert "📇 Kartu penerima" in alert.buttons
    await people.budi.send("/antrian")
    queue = await people.budi.wait_for("Antrian kasus")
    # Siti: an open case, never visited since the aid on 5 Jan.
    assert "Risiko 2: ada kasus terbuka, kunjungan terlambat" in queue.text, queue.text
    await people.tksk.press("📇 Kartu penerima", message=alert)
    card = await people.tksk.wait_for("Laporan terakhir")
    assert number in card.text
