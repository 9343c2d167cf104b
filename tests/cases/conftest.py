"""People of the case tests: a recipient in Palaran (Kota Samarinda) with their TKSK, a TKSK of another
kecamatan, a PSM, two Dissos caseworkers and an admin, each with a linked Telegram account."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.config import Settings
from bot.context import AppContext
from db.enums import StaffRole, WorkerRole
from db.models import FieldWorker, Recipient, Staff
from sandbox.people import Person
from sandbox.runner import SandboxRun
from tests import factories

RECIPIENT_TG = 700001
OTHER_RECIPIENT_TG = 700002
TKSK_TG = 700010
OTHER_TKSK_TG = 700011
PSM_TG = 700012
CASEWORKER_TG = 700020
CASEWORKER2_TG = 700021
ADMIN_TG = 700022


@dataclass
class World:
    recipient: Recipient
    other_recipient: Recipient
    tksk: FieldWorker
    other_tksk: FieldWorker
    psm: FieldWorker
    caseworker: Staff
    caseworker2: Staff
    admin: Staff


async def build_world(ctx: AppContext) -> World:
    async with ctx.session_factory.begin() as s:
        palaran = await factories.region(s, "Kota Samarinda", "Palaran")
        loa_janan = await factories.region(s, "Kutai Kartanegara", "Loa Janan")
        r = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=palaran)
        other = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=loa_janan,
                                          name="Rahmawati", phone="+6281300000001")
        tksk = await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=palaran, name="Nurhayati")
        other_tksk = await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=loa_janan, name="Yusuf",
                                            phone="+6285700000002")
        psm = await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=palaran, role=WorkerRole.PSM,
                                     name="Sari PSM", phone="+6285700000003")
        cw = await factories.staff(s, ctx.clock, name="Budi")
        cw2 = await factories.staff(s, ctx.clock, name="Dewi")
        admin = await factories.staff(s, ctx.clock, role=StaffRole.ADMIN, name="Admin Dissos")
        await factories.link(s, ctx.clock, RECIPIENT_TG, recipient=r)
        await factories.link(s, ctx.clock, OTHER_RECIPIENT_TG, recipient=other)
        await factories.link(s, ctx.clock, TKSK_TG, worker=tksk)
        await factories.link(s, ctx.clock, OTHER_TKSK_TG, worker=other_tksk)
        await factories.link(s, ctx.clock, PSM_TG, worker=psm)
        await factories.link(s, ctx.clock, CASEWORKER_TG, staff=cw)
        await factories.link(s, ctx.clock, CASEWORKER2_TG, staff=cw2)
        await factories.link(s, ctx.clock, ADMIN_TG, staff=admin)
    return World(r, other, tksk, other_tksk, psm, cw, cw2, admin)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A caseworker in these tests presses a dozen buttons within seconds; people do not, and the throttle
    (tested with the bot core) would slow the test down, not check anything about cases."""
    settings.throttling.rate = 100
    return settings


@pytest.fixture
async def world(ctx: AppContext) -> World:
    return await build_world(ctx)


@dataclass
class People:
    """The same world's people in the Telegram emulator (every chat exists before the bot writes to it)."""

    siti: Person
    rahma: Person
    tksk: Person
    other_tksk: Person
    psm: Person
    budi: Person
    dewi: Person
    admin: Person


@pytest.fixture
async def people(sandbox: SandboxRun, world: World) -> People:
    return People(
        siti=sandbox.person(RECIPIENT_TG, "Siti"), rahma=sandbox.person(OTHER_RECIPIENT_TG, "Rahma"),
        tksk=sandbox.person(TKSK_TG, "Nurhayati"), other_tksk=sandbox.person(OTHER_TKSK_TG, "Yusuf"),
        psm=sandbox.person(PSM_TG, "Sari"), budi=sandbox.person(CASEWORKER_TG, "Budi"),
        dewi=sandbox.person(CASEWORKER2_TG, "Dewi"), admin=sandbox.person(ADMIN_TG, "Admin"),
    )


async def case_when(ctx: AppContext, case_id: int, ready, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    """The case once ``ready(case)`` holds. An update's transaction commits just after its last request to
    Telegram, so "the bot went quiet" does not yet mean "the change is in the database"."""
    import asyncio

    from db.models import Case

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with ctx.session_factory() as s:
            case = await s.get(Case, case_id)
        if case is not None and ready(case):
            return case
        if loop.time() > deadline:
            raise AssertionError(f"case {case_id} never got ready; state {case.state if case else None}")
        await asyncio.sleep(0.02)
