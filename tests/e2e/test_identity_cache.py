"""Who is writing, served from the identity cache: no SQL for a known person, and never a stale role after a
change made by the bot's own process; a change made by another process is seen within the configured time."""

from __future__ import annotations

import asyncio

from sqlalchemy import event, select

from bot.context import AppContext
from db.enums import StaffRole
from db.models import Staff
from db.session import create_engine, create_session_factory
from sandbox.runner import SandboxRun
from tests import factories


async def _caseworker(ctx: AppContext, user_id: int) -> int:
    async with ctx.session_factory.begin() as s:
        st = await factories.staff(s, ctx.clock, role=StaffRole.CASEWORKER)
        await factories.link(s, ctx.clock, user_id, staff=st)
        return st.id


async def _recipient(ctx: AppContext, user_id: int) -> None:
    async with ctx.session_factory.begin() as s:
        r = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings)
        await factories.link(s, ctx.clock, user_id, recipient=r)


async def test_a_known_person_is_answered_without_an_identity_query(sandbox: SandboxRun) -> None:
    ctx = sandbox.ctx
    await _recipient(ctx, 910001)
    person = sandbox.person(910001, "Siti")
    await person.command("help")
    await person.wait_for("Lapor usaha")
    await sandbox.settle()

    identity_queries: list[str] = []

    def watch(_conn, _cursor, statement, parameters, *_args):  # type: ignore[no-untyped-def]
        if "FROM telegram_accounts" in statement and 910001 in tuple(parameters or ()):
            identity_queries.append(statement)

    event.listen(ctx.engine.sync_engine, "before_cursor_execute", watch)
    try:
        for _ in range(3):
            await person.command("help")
            await person.wait_for("Lapor usaha")
            await person.send("apa kabar")
            await person.wait_for("Mau diapakan")  # kept and asked about (never thrown away)
        await sandbox.settle()
    finally:
        event.remove(ctx.engine.sync_engine, "before_cursor_execute", watch)
    assert identity_queries == []


async def test_a_role_change_in_the_bot_process_applies_to_the_next_update(sandbox: SandboxRun) -> None:
    ctx = sandbox.ctx
    staff_id = await _caseworker(ctx, 910002)
    person = sandbox.person(910002, "Budi")
    await person.command("help")
    await person.wait_for("/antrian")
    await sandbox.settle()
    async with ctx.session_factory.begin() as s:  # e.g. an admin deactivating them through the bot
        st = await s.get(Staff, staff_id)
        assert st is not None
        st.active = False
    await person.command("antrian")
    await person.wait_for("tidak tersedia untuk Anda")


async def test_language_follows_the_switch_at_once(sandbox: SandboxRun) -> None:
    await _recipient(sandbox.ctx, 910003)
    person = sandbox.person(910003, "Ana")
    await person.command("help")
    await person.wait_for("Lapor usaha")
    await person.command("bahasa")
    await person.wait_for("Pilih bahasa")
    await person.press("🇬🇧 English")
    await person.wait_for("Language set to English.")
    await person.command("help")
    reply = await person.wait_for("Report my business")
    assert "Lapor usaha" not in reply.text


async def test_a_change_from_another_process_is_seen_within_the_cache_time(ctx: AppContext) -> None:
    ctx.settings.telegram.identity_cache_seconds = 0.5
    run = await SandboxRun.start(ctx)
    try:
        staff_id = await _caseworker(ctx, 910004)
        person = run.person(910004, "Rina")
        await person.command("help")
        await person.wait_for("/antrian")
        await run.settle()
        # The `uep` CLI is another process: its own engine, sessions the bot's cache does not watch.
        engine = create_engine(ctx.settings.database.url)
        try:
            async with create_session_factory(engine).begin() as s:
                st = await s.scalar(select(Staff).where(Staff.id == staff_id))
                assert st is not None
                st.active = False
        finally:
            await engine.dispose()
        await asyncio.sleep(0.6)
        await person.command("antrian")
        await person.wait_for("tidak tersedia untuk Anda")
        await run.settle()
        run.emulator.assert_no_violations()
    finally:
        await run.stop()
