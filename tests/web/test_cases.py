"""The desk's case queue and case pages: the same rules as the bot's buttons, checked on the server for every
row, with the recipient and TKSK told through the bot."""

from __future__ import annotations

from sqlalchemy import select

from bot.context import AppContext
from db.enums import CaseKind, CaseState, Urgency
from db.models import Case, Recipient
from services.cases.opening import open_case
from tests.web.conftest import Desk, People, World, csrf_of


async def _case(ctx: AppContext, recipient: Recipient, kind: CaseKind = CaseKind.EQUIPMENT,
                description: str = "Kompor rusak") -> Case:
    async with ctx.session_factory.begin() as s:
        r = await s.get(Recipient, recipient.id)
        opened = await open_case(s, recipient=r, kind=kind, urgency=Urgency.NORMAL, description=description,
                                 settings=ctx.settings, clock=ctx.clock)
        return opened.case


async def test_the_queue_lists_filters_and_searches_cases(desk: Desk, people: People, world: World,
                                                          ctx: AppContext) -> None:
    mine = await _case(ctx, world.recipient)
    other = await _case(ctx, world.other_recipient, CaseKind.NO_BUYERS, "Tidak ada pembeli")
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get("/cases") as page:
            html = await page.text()
        assert mine.number in html and other.number in html
        async with client.get("/cases", params={"kind": "no_buyers"}) as page:
            html = await page.text()
        assert other.number in html and mine.number not in html
        async with client.get("/cases", params={"q": "Rahmawati"}) as page:
            html = await page.text()
        assert other.number in html and mine.number not in html
        async with client.get("/cases", params={"q": mine.number}) as page:
            html = await page.text()
        assert mine.number in html and other.number not in html
        async with client.get("/cases", params={"state": "resolved"}) as page:
            assert "Tidak ada kasus yang cocok" in await page.text()


async def test_taking_a_case_on_the_desk_tells_the_recipient_in_the_bot(
    desk: Desk, people: People, world: World, ctx: AppContext
) -> None:
    case = await _case(ctx, world.recipient)
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get(f"/cases/{case.id}") as page:
            html = await page.text()
            assert "Ambil kasus ini" in html and "Kompor rusak" in html
        async with client.post(f"/cases/{case.id}/claim", data={"csrf": csrf_of(html)}) as answer:
            assert answer.status == 200
            assert "sudah diberi tahu" in await answer.text()
    async with ctx.session_factory() as s:
        stored = await s.get(Case, case.id)
        assert stored.state == CaseState.WITH_DISSOS and stored.owner_staff_id == world.caseworker.id
    notice = await people.siti.wait_for(case.number, timeout=10)
    assert "Dinas Sosial" in (notice.text or "")


async def test_a_form_without_its_csrf_token_changes_nothing(desk: Desk, people: People, world: World,
                                                             ctx: AppContext) -> None:
    case = await _case(ctx, world.recipient)
    client = await desk.signed_in(people.budi)
    async with client:
        for data in ({}, {"csrf": "forged"}):
            async with client.post(f"/cases/{case.id}/claim", data=data) as answer:
                assert answer.status == 403
    async with ctx.session_factory() as s:
        assert (await s.get(Case, case.id)).state == CaseState.NEW


async def test_a_tksk_sees_only_their_kecamatan_and_cannot_act(desk: Desk, people: People, world: World,
                                                               ctx: AppContext) -> None:
    own = await _case(ctx, world.recipient)
    foreign = await _case(ctx, world.other_recipient, CaseKind.NO_BUYERS)
    client = await desk.signed_in(people.tksk)
    async with client:
        async with client.get("/cases") as page:
            html = await page.text()
        assert own.number in html and foreign.number not in html
        async with client.get("/cases", params={"kec": str(world.other_recipient.kecamatan_id)}) as page:
            assert foreign.number not in await page.text()
        async with client.get(f"/cases/{foreign.id}") as page:
            assert page.status == 404
            assert foreign.number not in await page.text()
        async with client.get(f"/cases/{own.id}") as page:
            html = await page.text()
            assert page.status == 200 and "Ambil kasus ini" not in html
        async with client.post(f"/cases/{own.id}/claim", data={"csrf": csrf_of(html)}) as answer:
            assert answer.status == 409
    async with ctx.session_factory() as s:
        assert (await s.get(Case, own.id)).state == CaseState.NEW


async def test_a_stale_action_is_refused_with_the_reason(desk: Desk, people: People, world: World,
                                                        ctx: AppContext) -> None:
    case = await _case(ctx, world.recipient)
    budi = await desk.signed_in(people.budi)
    async with budi:
        async with budi.get(f"/cases/{case.id}") as page:
            html = await page.text()
        async with budi.post(f"/cases/{case.id}/resolve", data={"csrf": csrf_of(html), "note": "Sudah diganti"}):
            pass
        async with budi.post(f"/cases/{case.id}/resolve", data={"csrf": csrf_of(html), "note": "lagi"}) as again:
            assert again.status == 409
        async with budi.post(f"/cases/{case.id}/comment", data={"csrf": csrf_of(html), "note": "  "}) as empty:
            assert empty.status == 409
        async with budi.post(f"/cases/{case.id}/bogus", data={"csrf": csrf_of(html)}) as bogus:
            assert bogus.status == 404


async def test_assigning_many_cases_at_once(desk: Desk, people: People, world: World, ctx: AppContext) -> None:
    first = await _case(ctx, world.recipient)
    second = await _case(ctx, world.other_recipient, CaseKind.NO_BUYERS)
    closed = await _case(ctx, world.recipient, CaseKind.CAPITAL)
    async with ctx.session_factory.begin() as s:
        (await s.get(Case, closed.id)).state = CaseState.CLOSED
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get("/cases") as page:
            html = await page.text()
        form = [("csrf", csrf_of(html)), ("staff", str(world.caseworker2.id)),
                ("case", str(first.id)), ("case", str(second.id)), ("case", str(closed.id))]
        async with client.post("/cases/assign", data=form) as answer:
            html = await answer.text()
        assert first.number in html and second.number in html
        assert "Tidak dibagikan" in html and closed.number in html
    async with ctx.session_factory() as s:
        owners = dict((await s.execute(select(Case.id, Case.owner_staff_id))).all())
    assert owners[first.id] == owners[second.id] == world.caseworker2.id
    assert owners[closed.id] is None
    await people.dewi.wait_for(first.number, timeout=10)


async def test_who_did_what_is_shown_with_the_role_in_words_not_its_code(
    desk: Desk, people: People, world: World, ctx: AppContext
) -> None:
    case = await _case(ctx, world.recipient)
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get(f"/cases/{case.id}") as page:
            html = await page.text()
        async with client.post(f"/cases/{case.id}/claim", data={"csrf": csrf_of(html)}) as answer:
            html = await answer.text()
    from services.cases.views import ROLE_LABELS

    role = desk.run.app.i18n.gettext(ROLE_LABELS["caseworker"], locale="id")
    assert role.startswith("petugas") and f"Budi ({role})" in html  # the history line and the header
    assert "(caseworker)" not in html
