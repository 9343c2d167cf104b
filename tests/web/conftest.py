"""The web desk under test: the real aiohttp application on a real port, beside the real bot and the
Telegram emulator, with the case tests' people (tests/cases/conftest.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.context import AppContext
from sandbox.people import Person
from sandbox.runner import SandboxRun
from tests.cases.conftest import (  # noqa: F401  (fixtures shared with the case tests)
    People,
    World,
    build_world,
    people,
    settings,
    world,
)
from web.app import create_web_app

LINK = re.compile(r"https?://[^/\s\"]+(/login/[A-Za-z0-9_\-]+)")


@dataclass
class Desk:
    server: TestServer
    run: SandboxRun

    @property
    def base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def client(self) -> aiohttp.ClientSession:
        # The desk runs on 127.0.0.1: aiohttp keeps cookies for an IP address only with an unsafe jar.
        return aiohttp.ClientSession(base_url=self.base, cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def link_for(self, person: Person) -> str:
        """The path of a fresh sign-in link, asked for in the bot with /web."""
        await person.command("web")
        message = await person.wait_for("/login/", timeout=10)
        found = LINK.search(message.text or "")
        assert found, message.text
        return found.group(1)

    async def signed_in(self, person: Person) -> aiohttp.ClientSession:
        client = self.client()
        path = await self.link_for(person)
        async with client.get(path) as page:
            assert page.status == 200, await page.text()
        async with client.post(path, allow_redirects=False) as answer:
            assert answer.status == 303, await answer.text()
            assert answer.headers["Location"] == "/cases"
        return client


@pytest.fixture
async def desk(sandbox: SandboxRun, ctx: AppContext) -> Desk:
    app = create_web_app(ctx, i18n=sandbox.app.i18n, messenger=sandbox.app.messenger)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield Desk(server, sandbox)
    finally:
        await server.close()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)
