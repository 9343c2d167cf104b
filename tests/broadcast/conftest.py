"""Helpers of the broadcast tests: linked people in bulk, the emulator's count of messages per person."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.context import AppContext
from db.enums import StaffRole, WorkerRole
from db.models import Kecamatan
from sandbox.emulator import TelegramEmulator
from sandbox.runner import SandboxRun
from tests import factories

STAFF_ID = 700001


async def linked_recipients(
    ctx: AppContext, n: int, *, start: int = 800000, kecamatan: Kecamatan | None = None,
    business_type: str = "gorengan", language: str | None = None, **kwargs,  # type: ignore[no-untyped-def]
) -> list[int]:
    """``n`` recipients, each with a Telegram account (chat id = ``start`` + i). Returns the chat ids."""
    ids = []
    async with ctx.session_factory.begin() as s:
        kec = kecamatan
        if kec is not None:
            kec = await s.get(Kecamatan, kec.id)
        for i in range(n):
            r = await factories.recipient(
                s, ctx.cipher, ctx.clock, ctx.settings, kecamatan=kec, business_type=business_type,
                name=f"Penerima {start + i}", **kwargs,
            )
            await factories.link(s, ctx.clock, start + i, recipient=r, language=language)
            ids.append(start + i)
    return ids


async def linked_staff(ctx: AppContext, user_id: int = STAFF_ID, role: StaffRole = StaffRole.CASEWORKER,
                       language: str | None = None) -> int:
    async with ctx.session_factory.begin() as s:
        st = await factories.staff(s, ctx.clock, role=role)
        await factories.link(s, ctx.clock, user_id, staff=st, language=language)
    return user_id


async def linked_worker(ctx: AppContext, user_id: int, role: WorkerRole = WorkerRole.TKSK,
                        kecamatan: Kecamatan | None = None) -> int:
    async with ctx.session_factory.begin() as s:
        kec = await s.get(Kecamatan, kecamatan.id) if kecamatan is not None else None
        w = await factories.worker(s, ctx.cipher, ctx.clock, role=role, kecamatan=kec, nik=None)
        await factories.link(s, ctx.clock, user_id, worker=w)
    return user_id


def received(emu: TelegramEmulator, chat_ids: list[int], text: str) -> Counter[int]:
    """How many messages containing ``text`` each chat got (deleted ones included)."""
    wanted = set(chat_ids)
    counts: Counter[int] = Counter({c: 0 for c in chat_ids})
    bot = emu.bot
    for chat_id in wanted:
        chat = bot.chats.get(chat_id)
        if chat is None:
            continue
        counts[chat_id] = sum(1 for m in chat.messages.values() if m.outgoing and text in (m.content or ""))
    return counts


@pytest.fixture
def fast(ctx: AppContext) -> AppContext:
    """Broadcast settings for quick tests: high rate, short intervals (and staff may tap quickly)."""
    ctx.settings.throttling.rate = 1000
    ctx.settings.telegram.global_rate = 30
    ctx.settings.telegram.per_chat_interval = 0.0
    b = ctx.settings.broadcast
    b.progress_interval = 0.0
    b.max_attempts = 3
    return ctx


__all__ = ["SandboxRun", "STAFF_ID", "linked_recipients", "linked_staff", "linked_worker", "received"]


@pytest.fixture
async def sandbox(fast: AppContext, sandbox: SandboxRun) -> SandboxRun:  # type: ignore[no-redef]
    """The root ``sandbox`` fixture, started after the quick settings above."""
    return sandbox
