"""A "correct my data" case resolved on its case page by editing the profile: the same correction service as
the privacy requests (services/profile.py: normalised, audited), a case event, the case resolved through the
Resolve action, the recipient told in the bot through the outbox. Refused for anyone who is not staff."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.context import AppContext
from db.enums import CaseKind, CaseState, Urgency
from db.models import AuditLog, Case, CaseEvent, OutboxMessage, Recipient
from services.cases.opening import open_case
from tests.web.conftest import Desk, People, World, csrf_of

SHOWN = {"name": "Siti Aminah", "address": "Jl. Damai RT 1", "desa": "Rawa Makmur", "birth_date": "1980-05-17",
         "sex": "P", "phone": ""}


async def _correction_case(ctx: AppContext, recipient: Recipient, kind: CaseKind = CaseKind.PROFILE_CORRECTION) -> Case:
    async with ctx.session_factory.begin() as s:
        r = await s.get(Recipient, recipient.id)
        opened = await open_case(s, recipient=r, kind=kind, urgency=Urgency.NORMAL, source="onboarding",
                                 description="Data profil tidak sesuai menurut penerima. Catatan: nama saya Siti "
                                             "Aminah Rahayu, desa Bukuan", settings=ctx.settings, clock=ctx.clock)
        return opened.case


async def _state(ctx: AppContext, case_id: int, recipient_id: int) -> tuple[Case, Recipient]:
    async with ctx.session_factory() as s:
        return await s.get(Case, case_id), await s.get(Recipient, recipient_id)


async def test_a_caseworker_corrects_the_profile_and_the_case_is_resolved_and_the_recipient_told(
    desk: Desk, people: People, world: World, ctx: AppContext
) -> None:
    case = await _correction_case(ctx, world.recipient)
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get(f"/cases/{case.id}") as page:
            html = await page.text()
        assert "Perbaiki data" in html and 'value="Rawa Makmur"' in html
        assert "+6281234567890" not in html  # the phone is looked up with its own audited press, not prefilled
        form = {**SHOWN, "name": "Siti Aminah Rahayu", "desa": "Bukuan", "phone": "0813-5555-0101",
                "note": "Nama dan desa diperbaiki sesuai KTP", "csrf": csrf_of(html)}
        async with client.post(f"/cases/{case.id}/correct", data=form) as answer:
            assert answer.status == 200
            html = await answer.text()
        assert "Profil sudah diperbaiki dan kasus diselesaikan" in html
        assert "memperbaiki profil — nama, nomor HP, desa" in html
    stored, person = await _state(ctx, case.id, world.recipient.id)
    assert stored.state == CaseState.RESOLVED and stored.resolution == "Nama dan desa diperbaiki sesuai KTP"
    assert (person.name, person.desa, person.phone) == ("Siti Aminah Rahayu", "Bukuan", "+6281355550101")
    assert (person.address, person.birth_date, person.sex) == ("Jl. Damai RT 1", date(1980, 5, 17), "P")
    async with ctx.session_factory() as s:
        events = [e.action for e in await s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                                       .order_by(CaseEvent.id))]
        assert events == ["opened", "profile_corrected", "resolve"]
        audit = (await s.scalars(select(AuditLog).where(AuditLog.action == "recipient.corrected"))).one()
        assert audit.target == f"recipient:{world.recipient.id}" and audit.actor_account_id is not None
        assert audit.details["fields"] == ["name", "phone", "desa"]
        assert "Bukuan" not in str(audit.details)  # field names, never values
        notice = (await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "case_notice"))).one()
        assert case.number in notice.text
    told = await people.siti.wait_for(case.number, timeout=10)
    assert "Nama dan desa diperbaiki sesuai KTP" in (told.text or "")


async def test_an_unacceptable_value_changes_nothing(desk: Desk, people: People, world: World,
                                                    ctx: AppContext) -> None:
    case = await _correction_case(ctx, world.recipient)
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get(f"/cases/{case.id}") as page:
            csrf = csrf_of(await page.text())
        form = {**SHOWN, "desa": "Bukuan", "birth_date": "2099-01-01", "note": "Diperbaiki", "csrf": csrf}
        async with client.post(f"/cases/{case.id}/correct", data=form) as answer:
            assert answer.status == 422
            assert "tanggal lahir" in await answer.text()
    stored, person = await _state(ctx, case.id, world.recipient.id)
    assert stored.state == CaseState.NEW and person.desa == "Rawa Makmur"


async def test_only_staff_may_correct_and_only_with_the_forms_token(desk: Desk, people: People, world: World,
                                                                    ctx: AppContext) -> None:
    case = await _correction_case(ctx, world.recipient)
    form = {**SHOWN, "desa": "Bukuan", "note": "Diperbaiki"}
    tksk = await desk.signed_in(people.tksk)  # the recipient's own TKSK: a read-only view of the desk
    async with tksk:
        async with tksk.get(f"/cases/{case.id}") as page:
            html = await page.text()
        assert "Perbaiki data" not in html
        async with tksk.post(f"/cases/{case.id}/correct", data={**form, "csrf": csrf_of(html)}) as answer:
            assert answer.status == 409
    outsider = await desk.signed_in(people.other_tksk)
    async with outsider:
        async with outsider.get("/cases") as page:
            csrf = csrf_of(await page.text())
        async with outsider.post(f"/cases/{case.id}/correct", data={**form, "csrf": csrf}) as answer:
            assert answer.status == 404
    budi = await desk.signed_in(people.budi)
    async with budi:
        async with budi.post(f"/cases/{case.id}/correct", data=form) as answer:
            assert answer.status == 403
    stored, person = await _state(ctx, case.id, world.recipient.id)
    assert stored.state == CaseState.NEW and person.desa == "Rawa Makmur"


async def test_another_kind_of_case_has_no_correction_form(desk: Desk, people: People, world: World,
                                                           ctx: AppContext) -> None:
    case = await _correction_case(ctx, world.recipient, CaseKind.EQUIPMENT)
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get(f"/cases/{case.id}") as page:
            html = await page.text()
        assert "Perbaiki data" not in html
        form = {**SHOWN, "desa": "Bukuan", "note": "Diperbaiki", "csrf": csrf_of(html)}
        async with client.post(f"/cases/{case.id}/correct", data=form) as answer:
            assert answer.status == 409
    stored, person = await _state(ctx, case.id, world.recipient.id)
    assert stored.state == CaseState.NEW and person.desa == "Rawa Makmur"
