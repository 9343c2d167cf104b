"""Shared steps of the onboarding tests: roster rows, invitations, and a person whose taps are counted."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from db.enums import InvitationKind
from db.models import Recipient, TelegramAccount
from sandbox.people import Person
from sandbox.runner import SandboxRun
from services.invitations import create_invitation
from tests import factories

LINK_RE = re.compile(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_-]+)")
NIK = "6472010101800001"


@dataclass
class CountingPerson:
    """Every press, reply-button press, shared contact, photo and opened link counts as one tap."""

    person: Person
    taps: int = 0
    log: list[str] = field(default_factory=list)

    def _tap(self, what: str) -> None:
        self.taps += 1
        self.log.append(what)

    async def open_link(self, link: str) -> None:
        m = LINK_RE.search(link)
        assert m, link
        self._tap("open link")
        await self.person.command("start", m.group(2))

    async def press(self, text: str, **kw: Any) -> None:
        self._tap(f"press {text}")
        await self.person.press(text, **kw)

    async def press_reply(self, text: str) -> None:
        self._tap(f"reply {text}")
        await self.person.press_reply(text)

    async def send_photo(self) -> None:
        self._tap("photo")
        await self.person.send_photo()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.person, name)


async def make_recipient(run: SandboxRun, **kw: Any) -> Recipient:
    ctx = run.ctx
    async with ctx.session_factory.begin() as s:
        kecamatan = kw.pop("kecamatan", None)
        if kecamatan is None:
            kecamatan = await factories.region(s)
        r = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=kecamatan, **kw)
    return r


async def make_tksk(run: SandboxRun, user_id: int, *, kecamatan_name: str = "Palaran", **kw: Any) -> Person:
    ctx = run.ctx
    async with ctx.session_factory.begin() as s:
        kec = await factories.region(s, kecamatan=kecamatan_name)
        w = await factories.worker(s, ctx.cipher, ctx.clock, kecamatan=kec, **kw)
        await factories.link(s, ctx.clock, user_id, worker=w)
    return run.person(user_id, "TKSK")


async def invitation_link(run: SandboxRun, recipient_id: int) -> str:
    ctx = run.ctx
    async with ctx.session_factory.begin() as s:
        r = await s.get(Recipient, recipient_id)
        new = await create_invitation(s, settings=ctx.settings, clock=ctx.clock, kind=InvitationKind.RECIPIENT,
                                      recipient=r)
    return new.link("uep_kaltim_bot")


async def reload_recipient(run: SandboxRun, recipient_id: int) -> Recipient:
    async with run.ctx.session_factory() as s:
        r = await s.get(Recipient, recipient_id)
        assert r is not None
        return r


async def account_of(run: SandboxRun, telegram_user_id: int) -> TelegramAccount | None:
    async with run.ctx.session_factory() as s:
        return await s.scalar(select(TelegramAccount).where(TelegramAccount.telegram_user_id == telegram_user_id))
