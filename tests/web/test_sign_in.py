"""Signing in to the desk: a one-time link from /web, its refusals, sessions, sign-out and rate limits."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from sqlalchemy import func, select

from bot.context import AppContext
from db.models import AuditLog, WebSession
from services.desk.auth import SignInError, SignInRefused, verify_login_widget
from tests.web.conftest import Desk, People, csrf_of


async def test_link_from_the_bot_signs_a_caseworker_in_once(desk: Desk, people: People, ctx: AppContext) -> None:
    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get("/cases") as page:
            assert page.status == 200
            body = await page.text()
            assert "Budi" in body
            assert "script-src 'self'" in page.headers["Content-Security-Policy"]
            assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
        cookie = next(c for c in client.cookie_jar if c.key == "uep_desk")
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
    async with ctx.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(WebSession)) == 1
        actions = set(await s.scalars(select(AuditLog.action)))
    assert {"web.link_issued", "web.sign_in"} <= actions


async def test_a_used_link_an_expired_link_and_a_forged_link_are_refused(
    desk: Desk, people: People, ctx: AppContext
) -> None:
    path = await desk.link_for(people.budi)
    async with desk.client() as first:
        async with first.post(path, allow_redirects=False) as answer:
            assert answer.status == 303
    async with desk.client() as second:
        async with second.get(path) as page:
            assert page.status == 410
            assert "sudah dipakai" in await page.text()
        async with second.post(path, allow_redirects=False) as answer:
            assert answer.status == 410
        async with second.get("/cases", allow_redirects=False) as page:
            assert page.status == 303 and page.headers["Location"] == "/login"

    late = await desk.link_for(people.budi)
    ctx.clock.advance(timedelta(minutes=ctx.settings.web.login_link_minutes, seconds=1))  # type: ignore[attr-defined]
    async with desk.client() as third:
        async with third.post(late, allow_redirects=False) as answer:
            assert answer.status == 410
            assert "kedaluwarsa" in await answer.text()
        async with third.get("/login/not-a-real-token") as page:
            assert page.status == 404


async def test_a_recipient_gets_no_link_and_a_session_ends_with_sign_out(desk: Desk, people: People) -> None:
    await people.siti.command("web")
    await desk.run.settle()
    assert not any("/login/" in (m.text or "") for m in people.siti.messages)

    client = await desk.signed_in(people.budi)
    async with client:
        async with client.get("/sessions") as page:
            html = await page.text()
        async with client.post("/logout", data={"csrf": csrf_of(html)}, allow_redirects=False) as answer:
            assert answer.status == 303 and answer.headers["Location"] == "/login"
        async with client.get("/cases", allow_redirects=False) as page:
            assert page.status == 303


async def test_ending_another_session_from_the_list(desk: Desk, people: People, ctx: AppContext) -> None:
    laptop = await desk.signed_in(people.budi)
    phone = await desk.signed_in(people.budi)
    async with laptop, phone:
        async with laptop.get("/sessions") as page:
            html = await page.text()
        async with ctx.session_factory() as s:
            ids = sorted(await s.scalars(select(WebSession.id)))
        other = ids[1]  # the phone's
        async with laptop.post(f"/sessions/{other}/end", data={"csrf": csrf_of(html)}) as answer:
            assert answer.status == 200
        async with phone.get("/cases", allow_redirects=False) as page:
            assert page.status == 303
        async with laptop.get("/cases") as page:
            assert page.status == 200


async def test_sign_in_attempts_are_limited_per_address(desk: Desk, people: People, ctx: AppContext) -> None:
    limit = ctx.settings.web.sign_in_attempts_per_minute
    async with desk.client() as client:
        statuses = []
        for _ in range(limit + 1):
            async with client.post("/login/guessed-token", allow_redirects=False) as answer:
                statuses.append(answer.status)
    assert statuses[:limit] == [404] * limit
    assert statuses[limit] == 429


def test_login_widget_hash_is_checked_with_the_bot_token() -> None:
    from datetime import UTC, datetime

    token = "123:ABC"
    now = datetime(2026, 3, 2, tzinfo=UTC)
    data = {"id": "700020", "first_name": "Budi", "auth_date": str(int(now.timestamp()) - 60)}
    check = "\n".join(f"{k}={data[k]}" for k in sorted(data))
    data["hash"] = hmac.new(hashlib.sha256(token.encode()).digest(), check.encode(), hashlib.sha256).hexdigest()
    assert verify_login_widget(data, bot_token=token, now=now) == 700020
    forged = dict(data, id="700022")
    for bad in (forged, dict(data, hash="0" * 64), {k: v for k, v in data.items() if k != "hash"}):
        try:
            verify_login_widget(bad, bot_token=token, now=now)
        except SignInError as exc:
            assert exc.reason is SignInRefused.BAD_SIGNATURE
        else:
            raise AssertionError("a widget answer Telegram did not sign must be refused")
    try:
        verify_login_widget(data, bot_token=token, now=now + timedelta(days=2))
    except SignInError as exc:
        assert exc.reason is SignInRefused.EXPIRED
    else:
        raise AssertionError("an old widget answer must be refused")
