"""The hand-over service refuses before it writes: no photo, no location, an item not ticked, another
kecamatan, a second hand-over; and a candidate who is already a recipient is never assessed or approved."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.context import AppContext
from db.enums import WorkerRole
from db.models import AidPackage, Handover, Photo
from services.aid.assessment import AssessmentRefused, start_or_resume
from services.aid.decision import DecisionRefused, approve
from services.aid.handover import HandoverRefused, record_handover
from services.aid.lifecycle import Actor
from services.photos import PhotoRef
from tests import factories
from tests.preaid.helpers import candidate


async def test_refusals_write_nothing(ctx: AppContext) -> None:
    async with ctx.session_factory() as s:
        kec = await factories.region(s, "Kutai Barat", "Muara Pahu")
        other = await factories.region(s, "Kutai Barat", "Barong Tongkok")
        tksk = await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=kec, role=WorkerRole.PSM)
        stranger = await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=other)
        r = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=kec, business_type="kue",
                                      aid_date=None)
        package = await s.scalar(select(AidPackage).where(AidPackage.recipient_id == r.id))
        assert package is not None
        await s.refresh(package, ["items"])
        every = {i.position for i in package.items}
        photo = PhotoRef("f1", "u1")
        actor = Actor("PSM test")
        cases = [
            (stranger, every, photo, (-0.5, 117.0), "other_kecamatan"),
            (tksk, every - {3}, photo, (-0.5, 117.0), "items_missing"),
            (tksk, every, None, (-0.5, 117.0), "no_photo"),
            (tksk, every, photo, (None, None), "no_location"),
        ]
        for worker, ticked, pic, (lat, lon), code in cases:
            with pytest.raises(HandoverRefused) as err:
                await record_handover(s, ctx.clock, ctx.settings, worker, r.id, ticked=ticked, photo=pic,
                                      latitude=lat, longitude=lon, actor=actor)
            assert err.value.code == code
        assert await s.scalar(select(func.count()).select_from(Handover)) == 0
        assert await s.scalar(select(func.count()).select_from(Photo)) == 0
        assert r.aid_date is None and package.delivered_on is None
        done = await record_handover(s, ctx.clock, ctx.settings, tksk, r.id, ticked=every, photo=photo,
                                     latitude=-0.5, longitude=117.0, actor=actor)
        with pytest.raises(HandoverRefused) as err:
            await record_handover(s, ctx.clock, ctx.settings, tksk, r.id, ticked=every, photo=photo,
                                  latitude=-0.5, longitude=117.0, actor=actor)
        assert err.value.code == "already_handed_over" and err.value.details["number"] == done.number

        # A candidate whose NIK became a recipient meanwhile (the roster) is not assessed or approved.
        nik = "6402000000000099"
        c = await candidate(s, ctx.cipher, ctx.clock, kecamatan=kec, nik=nik)
        await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=kec, nik=nik)
        with pytest.raises(AssessmentRefused) as refused:
            await start_or_resume(s, ctx.clock, tksk, c.id)
        assert refused.value.code == "already_recipient"
        with pytest.raises(DecisionRefused) as denied:
            await approve(s, ctx.clock, ctx.settings, c, business_type="kue", actor=actor, is_admin=True,
                          override_reason="darurat")
        assert denied.value.code == "already_recipient"
