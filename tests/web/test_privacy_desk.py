"""Personal-data requests on the desk: the same rules as `uep privacy requests` (list, view audited, apply a
correction, answer, refuse), staff only, and the person told in the bot."""

from __future__ import annotations

from sqlalchemy import select

from bot.context import AppContext
from db.enums import PrivacyRequestKind, PrivacyRequestState
from db.models import AuditLog, PrivacyRequest, Recipient, TelegramAccount
from services.privacy.requests import open_request
from tests.web.conftest import Desk, People, World, csrf_of


async def _request(ctx: AppContext, world: World, kind: PrivacyRequestKind, details: str) -> int:
    async with ctx.session_factory.begin() as s:
        account = await s.scalar(select(TelegramAccount).where(TelegramAccount.recipient_id == world.recipient.id))
        row = await open_request(s, ctx.clock, ctx.settings, account=account, kind=kind, details=details)
        return row.id


async def test_a_correction_request_is_applied_on_the_desk_and_the_person_told(
    desk: Desk, people: People, world: World, ctx: AppContext
) -> None:
    request_id = await _request(ctx, world, PrivacyRequestKind.CORRECTION, "Nama saya Siti Aminah Rahman")
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get("/privacy") as page:
            assert f"#{request_id}" in await page.text()
        async with client.get(f"/privacy/{request_id}") as page:
            html = await page.text()
            assert "Siti Aminah Rahman" in html
        async with client.post(f"/privacy/{request_id}/apply", data={"csrf": csrf_of(html)}) as answer:
            assert answer.status == 409  # a correction needs the corrected field
        async with client.post(f"/privacy/{request_id}/apply",
                               data={"csrf": csrf_of(html), "name": "Siti Aminah Rahman"}) as answer:
            assert answer.status == 200
        async with client.post(f"/privacy/{request_id}/refuse", data={"csrf": csrf_of(html), "reason": "x"}) as a:
            assert a.status == 409  # already closed: a stale form changes nothing
    async with ctx.session_factory() as s:
        assert (await s.get(Recipient, world.recipient.id)).name == "Siti Aminah Rahman"
        assert (await s.get(PrivacyRequest, request_id)).state == PrivacyRequestState.APPLIED
        actions = set(await s.scalars(select(AuditLog.action)))
    assert {"privacy.request.view", "privacy.request.apply"} <= actions
    await people.siti.wait_for(f"#{request_id}", timeout=15)


async def test_data_requests_are_for_staff_only(desk: Desk, people: People, world: World, ctx: AppContext) -> None:
    request_id = await _request(ctx, world, PrivacyRequestKind.RESTRICTION, "Tolong batasi data saya")
    client = await desk.signed_in(people.tksk)
    async with client:
        for path in ("/privacy", f"/privacy/{request_id}"):
            async with client.get(path) as page:
                assert page.status == 404
