"""The identity cache's rules, against the real database: what it keeps, and every way it must let go."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from bot.context import AppContext
from db.account_cache import AccountCache
from db.models import Recipient, Staff
from services.identity import get_account, role_of
from tests import factories

USER = 700001


async def _linked_recipient(ctx: AppContext) -> int:
    async with ctx.session_factory.begin() as s:
        r = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings)
        await factories.link(s, ctx.clock, USER, recipient=r)
        return r.id


async def _read_and_offer(ctx: AppContext, cache: AccountCache) -> None:
    async with ctx.session_factory() as s:
        epoch = cache.epoch
        account = await get_account(s, USER)
        assert account is not None
        cache.offer(s, account, epoch)
        await s.commit()


def _new_cache(
    ctx: AppContext, ttl: float = 60, now: list[float] | None = None, draw: float | None = None
) -> AccountCache:
    clock = now if now is not None else [0.0]
    if draw is None:
        cache = AccountCache(ttl, monotonic=lambda: clock[0])
    else:
        cache = AccountCache(ttl, monotonic=lambda: clock[0], uniform=lambda: draw)
    cache.install(ctx.session_factory)
    return cache


async def test_a_committed_read_is_cached_and_merged_without_sql(ctx: AppContext) -> None:
    await _linked_recipient(ctx)
    cache = _new_cache(ctx)
    await _read_and_offer(ctx, cache)
    assert len(cache) == 1

    statements: list[str] = []
    from sqlalchemy import event

    def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(ctx.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with ctx.session_factory() as s:
            account = await cache.attach(s, USER)
            assert account is not None and account in s
            assert role_of(account).value == "recipient"
            assert account.recipient is not None and account.recipient.kecamatan.kabupaten.name
            await s.commit()
    finally:
        event.remove(ctx.engine.sync_engine, "before_cursor_execute", count)
    assert statements == [], "a cached account costs no SQL"
    cache.uninstall()


async def test_a_change_to_the_linked_record_drops_the_entry(ctx: AppContext) -> None:
    recipient_id = await _linked_recipient(ctx)
    cache = _new_cache(ctx)
    await _read_and_offer(ctx, cache)
    async with ctx.session_factory.begin() as s:
        r = await s.get(Recipient, recipient_id)
        assert r is not None
        r.business_status = "stopped"
    assert cache.get(USER) is None
    cache.uninstall()


async def test_a_read_racing_with_a_change_is_not_cached(ctx: AppContext) -> None:
    recipient_id = await _linked_recipient(ctx)
    cache = _new_cache(ctx)
    async with ctx.session_factory() as reader:
        epoch = cache.epoch
        account = await get_account(reader, USER)
        assert account is not None
        # Another update changes the recipient after the read and commits first.
        async with ctx.session_factory.begin() as writer:
            r = await writer.get(Recipient, recipient_id)
            assert r is not None
            r.onboarding_state = "withdrawn"
        cache.offer(reader, account, epoch)
        await reader.commit()
    assert len(cache) == 0, "what was read may already be out of date"
    cache.uninstall()


async def test_an_unrelated_change_does_not_stop_caching(ctx: AppContext) -> None:
    await _linked_recipient(ctx)
    async with ctx.session_factory.begin() as s:
        other = await factories.recipient(s, ctx.cipher, ctx.clock, ctx.settings)
        other_id = other.id
    cache = _new_cache(ctx)
    async with ctx.session_factory() as reader:
        epoch = cache.epoch
        account = await get_account(reader, USER)
        assert account is not None
        async with ctx.session_factory.begin() as writer:
            r = await writer.get(Recipient, other_id)
            assert r is not None
            r.business_status = "running"
        cache.offer(reader, account, epoch)
        await reader.commit()
    assert len(cache) == 1
    cache.uninstall()


async def test_own_bookkeeping_is_cached_but_a_new_link_is_not(ctx: AppContext) -> None:
    await _linked_recipient(ctx)
    cache = _new_cache(ctx)
    async with ctx.session_factory() as s:
        epoch = cache.epoch
        account = await get_account(s, USER)
        assert account is not None
        account.language = "en"
        account.commands_role = "recipient"
        cache.offer(s, account, epoch)
        await s.commit()
    cached = cache.get(USER)
    assert cached is not None and cached.language == "en", "the committed state is what is cached"

    async with ctx.session_factory() as s:
        epoch = cache.epoch
        account = await get_account(s, USER)
        assert account is not None
        st = await factories.staff(s, ctx.clock)
        account.recipient, account.staff = None, st
        cache.offer(s, account, epoch)
        await s.commit()
    assert cache.get(USER) is None, "a change of who the account is never comes from the cache"
    cache.uninstall()


async def test_rollback_keeps_nothing(ctx: AppContext) -> None:
    await _linked_recipient(ctx)
    cache = _new_cache(ctx)
    async with ctx.session_factory() as s:
        epoch = cache.epoch
        account = await get_account(s, USER)
        assert account is not None
        cache.offer(s, account, epoch)
        await s.rollback()
    assert len(cache) == 0
    cache.uninstall()


async def test_bulk_update_clears_everything(ctx: AppContext) -> None:
    await _linked_recipient(ctx)
    cache = _new_cache(ctx)
    await _read_and_offer(ctx, cache)
    async with ctx.session_factory.begin() as s:
        await s.execute(update(Staff).values(active=False))
    assert len(cache) == 0
    cache.uninstall()


@pytest.mark.parametrize(("draw", "lives_for"), [(0.0, 60), (0.5, 52.5), (1.0, 45)])
async def test_entries_expire_within_the_ttl_at_a_random_point_of_its_last_quarter(
    ctx: AppContext, draw: float, lives_for: float
) -> None:
    # The random point spreads out the re-reads of people cached in the same second (one reminder's answers).
    await _linked_recipient(ctx)
    now = [100.0]
    cache = _new_cache(ctx, ttl=60, now=now, draw=draw)
    await _read_and_offer(ctx, cache)
    now[0] += lives_for - 1
    assert cache.get(USER) is not None
    now[0] += 2
    assert cache.get(USER) is None, "a change made by another process is seen within the TTL"
    cache.uninstall()


async def test_an_uninstalled_cache_answers_nothing(ctx: AppContext) -> None:
    await _linked_recipient(ctx)
    cache = _new_cache(ctx)
    await _read_and_offer(ctx, cache)
    cache.uninstall()
    assert cache.get(USER) is None
