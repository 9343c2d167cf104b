"""The Dissos queue: order (latest against the deadline, then urgency), filters, pages; and its actions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.context import AppContext
from db.enums import CaseState
from db.models import Case, Kecamatan, Recipient
from sandbox.runner import SandboxRun
from services.cases.opening import open_case
from services.cases.queue import QueueFilter, list_queue
from tests import factories
from tests.cases.conftest import People, World, case_when


async def _open(ctx: AppContext, recipient_id: int, kind: str, urgency: str) -> Case:
    async with ctx.session_factory.begin() as s:
        r = await s.get(Recipient, recipient_id)
        return (await open_case(s, recipient=r, kind=kind, urgency=urgency, settings=ctx.settings,
                                clock=ctx.clock)).case


async def test_order_filters_and_pages(ctx: AppContext, world: World) -> None:
    t0 = ctx.clock.now()
    siti, rahma = world.recipient.id, world.other_recipient.id
    # (hours after t0 it was opened, recipient, kind, urgency) → take deadlines: high 4 h, normal 24 h, low 48 h
    plan = [
        (0, siti, "capital", "low"),          # due t0+48
        (0, siti, "materials", "normal"),     # due t0+24
        (20, rahma, "capital", "high"),       # due t0+24 too: same lateness, more urgent → first of the two
        (1, rahma, "equipment", "high"),      # due t0+5
        (2, siti, "no_buyers", "normal"),     # due t0+26
        (3, rahma, "other", "low"),           # due t0+51
    ]
    ids = {}
    for hours, rid, kind, urgency in plan:
        ctx.clock.set(t0 + timedelta(hours=hours))  # type: ignore[attr-defined]
        ids[(rid, kind)] = (await _open(ctx, rid, kind, urgency)).id
    now = t0 + timedelta(hours=30)
    async with ctx.session_factory() as s:
        page = await list_queue(s, now=now, page_size=10)
        assert [i.case.id for i in page.items] == [
            ids[(rahma, "equipment")], ids[(rahma, "capital")], ids[(siti, "materials")], ids[(siti, "no_buyers")],
            ids[(siti, "capital")], ids[(rahma, "other")],
        ]
        assert [round(i.late_by_seconds / 3600) for i in page.items] == [25, 6, 6, 4, -18, -21]
        assert page.total == 6 and page.pages == 1

        kab = (await s.get(Kecamatan, world.other_recipient.kecamatan_id)).kabupaten_id
        by_kab = await list_queue(s, now=now, filters=QueueFilter(kabupaten_id=kab), page_size=10)
        assert {i.case.recipient_id for i in by_kab.items} == {rahma} and by_kab.total == 3
        by_kind = await list_queue(s, now=now, filters=QueueFilter(kind="capital"), page_size=10)
        assert [i.case.id for i in by_kind.items] == [ids[(rahma, "capital")], ids[(siti, "capital")]]
        both = await list_queue(s, now=now, filters=QueueFilter(kabupaten_id=kab, kind="capital"))
        assert [i.case.id for i in both.items] == [ids[(rahma, "capital")]]

        p0 = await list_queue(s, now=now, page_size=4)
        p1 = await list_queue(s, now=now, page=1, page_size=4)
        assert p0.pages == 2 and len(p0.items) == 4 and len(p1.items) == 2
        assert [i.case.id for i in p0.items + p1.items] == [i.case.id for i in page.items]
        beyond = await list_queue(s, now=now, page=7, page_size=4)
        assert beyond.page == 1, "a page past the end shows the last page"

    # State and overdue filters; resolved and closed cases leave the queue.
    async with ctx.session_factory.begin() as s:
        c = await s.get(Case, ids[(siti, "no_buyers")])
        c.state, c.taken_at, c.overdue = CaseState.TAKEN, now, True
        c.next_due_at = c.resolve_due_at
        done = await s.get(Case, ids[(siti, "capital")])
        done.state, done.next_due_at = CaseState.RESOLVED, None
    async with ctx.session_factory() as s:
        taken = await list_queue(s, now=now, filters=QueueFilter(state="taken"))
        assert [i.case.id for i in taken.items] == [ids[(siti, "no_buyers")]]
        overdue = await list_queue(s, now=now, filters=QueueFilter(state="overdue"))
        assert [i.case.id for i in overdue.items] == [ids[(siti, "no_buyers")]]
        everything = await list_queue(s, now=now, page_size=10)
        assert ids[(siti, "capital")] not in [i.case.id for i in everything.items] and everything.total == 5
        scoped = await list_queue(s, now=now, filters=QueueFilter(kecamatan_id=world.tksk.kecamatan_id))
        assert {i.case.recipient_id for i in scoped.items} == {siti}


async def test_antrian_pages_filters_and_actions_in_one_message(
    sandbox: SandboxRun, people: People, world: World
) -> None:
    ctx = sandbox.ctx
    kinds = ["capital", "materials", "equipment", "no_buyers", "health_family", "permit_place", "other", "disaster"]
    async with ctx.session_factory.begin() as s:
        extra = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, name="Hasanah",
                                          kecamatan=await s.get(Kecamatan, world.recipient.kecamatan_id))
    for rid in (world.recipient.id, extra.id):
        for kind in kinds:
            await _open(ctx, rid, kind, "normal")
    budi = people.budi
    await budi.command("antrian")
    queue = await budi.wait_for("Antrian kasus Dinas Sosial")
    assert "16 kasus terbuka, halaman 1 dari 2" in queue.text
    assert "Bencana" in queue.text.split("\n")[2], "a disaster is urgent: 4 hours to be taken, so it comes first"
    await budi.press("▶️", message=queue)
    page2 = await budi.wait_for(lambda m: m.message_id == queue.message_id and "halaman 2 dari 2" in m.content)
    assert page2.edited and len(budi.messages) == 1, "pages edit the same message"
    await budi.press("🏷 Jenis", message=queue)
    await budi.wait_for(lambda m: m.message_id == queue.message_id and "Modal" in m.buttons)
    await budi.press("Modal", message=queue)
    only_capital = await budi.wait_for(lambda m: m.message_id == queue.message_id and "2 kasus terbuka" in m.content)
    assert "Saring: Modal" in only_capital.text
    await budi.press("1", message=queue)
    card = await budi.wait_for(lambda m: m.message_id == queue.message_id and "✋ Ambil alih" in m.buttons)
    number = card.text.split(" · ")[0].split()[-1]
    async with ctx.session_factory() as s:
        case_id = await s.scalar(select(Case.id).where(Case.number == number))

    await budi.press("✋ Ambil alih", message=card)
    claimed_by_budi = world.caseworker.id
    await case_when(ctx, case_id, lambda c: c.state == CaseState.WITH_DISSOS and c.owner_staff_id == claimed_by_budi)
    await budi.press("❓ Minta kabar TKSK", message=card)
    ask = await people.tksk.wait_for("meminta kabar terbaru kasus ini")
    assert "Budi" in ask.text and "📝 Tambah catatan" in ask.buttons
    await people.tksk.press("📝 Tambah catatan", message=ask)
    await people.tksk.wait_for("tulis catatan atau kabar terbaru")
    await people.tksk.send("Penerima butuh tambahan modal Rp300 ribu")
    await budi.wait_for("tambahan modal Rp300 ribu")

    await budi.press("🔀 Alihkan", message=card)
    picker = await budi.wait_for("dialihkan kepada siapa")
    assert picker.message_id == card.message_id, "asked on the card itself: one message, one state"
    assert set(picker.buttons) == {"Admin Dissos", "Dewi", "↩️ Kembali ke kasus", "⬅️ Kembali ke daftar"}
    await budi.press("Dewi", message=picker)
    handed = await people.dewi.wait_for("Budi mengalihkan kasus ini kepada Anda")
    await case_when(ctx, case_id, lambda c: c.owner_staff_id == world.caseworker2.id)

    await people.dewi.press("🔒 Tutup", message=handed)
    await people.dewi.wait_for("mengapa ditutup")
    await people.dewi.send("Penerima pindah ke luar daerah")
    ask = await people.dewi.wait_for("Tutup kasus")  # cannot be undone: asked once more
    assert "tidak bisa dibuka lagi" in ask.text and "Penerima pindah ke luar daerah" in ask.text
    await people.dewi.press("✅ Ya, tutup", message=ask)
    await people.dewi.wait_for("ditutup.")
    closed = await case_when(ctx, case_id, lambda c: c.state == CaseState.CLOSED)
    assert closed.resolution == "Penerima pindah ke luar daerah" and closed.next_due_at is None
    assert closed.recipient_id == world.recipient.id  # same deadline and urgency: the older case first
    notice = await people.siti.wait_for("Penerima pindah ke luar daerah")
    assert "Ditutup" in notice.text

    await budi.press("⬅️ Kembali ke daftar", message=card)
    back = await budi.wait_for(lambda m: m.message_id == queue.message_id and "1 kasus terbuka" in m.content)
    assert "Saring: Modal" in back.text, "back to the same filtered list"
