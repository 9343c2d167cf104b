from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from bot.config import Settings
from bot.context import AppContext
from db.enums import WorkerRole
from db.models import Recipient
from sandbox.people import Person
from sandbox.runner import SandboxRun
from services.schedule import schedule_next_checkin
from tests import factories

SITI_TG, RAHMA_TG, TKSK_TG = 930001, 930002, 930003


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.throttling.rate = 100  # the tests tap faster than people do
    return settings


@dataclass
class World:
    siti: Person
    rahma: Person
    tksk: Person
    siti_id: int
    rahma_id: int


@pytest.fixture
async def world(ctx: AppContext, sandbox: SandboxRun) -> World:
    async with ctx.session_factory.begin() as s:
        kec = await factories.region(s)
        siti = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=kec, name="Siti Aminah",
                                         aid_date=date(2026, 2, 20))
        rahma = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=kec, name="Rahma",
                                          aid_date=date(2026, 2, 20))
        tksk = await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=kec, role=WorkerRole.TKSK)
        await factories.link(s, ctx.clock, SITI_TG, recipient=siti)
        await factories.link(s, ctx.clock, RAHMA_TG, recipient=rahma)
        await factories.link(s, ctx.clock, TKSK_TG, worker=tksk)
        for r in (siti, rahma):
            await schedule_next_checkin(s, r, settings=ctx.settings, now=ctx.clock.now())
        ids = (siti.id, rahma.id)
    world = World(sandbox.person(SITI_TG, "Siti"), sandbox.person(RAHMA_TG, "Rahma"),
                  sandbox.person(TKSK_TG, "Nur"), *ids)
    for person in (world.siti, world.rahma):
        await person.command("start")  # as after onboarding: the main menu is on screen
        await person.wait_for("Apa yang ingin Anda lakukan?")
    return world


async def recipient(ctx: AppContext, recipient_id: int) -> Recipient:
    async with ctx.session_factory() as s:
        r = await s.get(Recipient, recipient_id)
        assert r is not None
        return r
