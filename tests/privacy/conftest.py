"""People of the privacy tests: the case tests' world (a recipient in Palaran with her TKSK, another recipient
in Loa Janan with his TKSK, a PSM, two caseworkers and an admin), with consent recorded for both recipients,
and helpers to run a scan tick and read rows."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.config import Settings
from bot.context import AppContext
from db.enums import ConsentDecision
from db.models import ConsentRecord, PrivacyRequest, TelegramAccount
from sandbox.runner import SandboxRun
from scheduler.runner import run_due
from tests.cases.conftest import (
    ADMIN_TG,
    CASEWORKER2_TG,
    CASEWORKER_TG,
    OTHER_RECIPIENT_TG,
    OTHER_TKSK_TG,
    PSM_TG,
    RECIPIENT_TG,
    TKSK_TG,
    People,
    World,
    build_world,
)

CONFIG = str(Path(__file__).resolve().parents[2] / "config.toml")

__all__ = ["ADMIN_TG", "CASEWORKER2_TG", "CASEWORKER_TG", "OTHER_RECIPIENT_TG", "OTHER_TKSK_TG", "PSM_TG",
           "RECIPIENT_TG", "TKSK_TG", "People", "World"]


@pytest.fixture
def settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    settings.throttling.rate = 100
    # The data protection officer's contact, for the bot here and for the CLI (which reads the environment).
    for key, value in (("dpo_email", "ppdp@example.go.id"), ("dpo_phone", "0541-111222")):
        setattr(settings.privacy, key, value)
        monkeypatch.setenv(f"UEP_PRIVACY__{key.upper()}", value)
    return settings


async def _consent(ctx: AppContext, world: World) -> None:
    async with ctx.session_factory.begin() as s:
        for r in (world.recipient, world.other_recipient):
            account = await s.scalar(select(TelegramAccount).where(TelegramAccount.recipient_id == r.id))
            s.add(ConsentRecord(telegram_account_id=account.id, recipient_id=r.id, decision=ConsentDecision.AGREE,
                                text_version=ctx.settings.onboarding.consent_version, language="id",
                                at=ctx.clock.now()))


@pytest.fixture
async def world(ctx: AppContext) -> World:
    w = await build_world(ctx)
    await _consent(ctx, w)
    return w


@pytest.fixture
async def people(sandbox: SandboxRun, world: World) -> People:
    return People(
        siti=sandbox.person(RECIPIENT_TG, "Siti"), rahma=sandbox.person(OTHER_RECIPIENT_TG, "Rahma"),
        tksk=sandbox.person(TKSK_TG, "Nurhayati"), other_tksk=sandbox.person(OTHER_TKSK_TG, "Yusuf"),
        psm=sandbox.person(PSM_TG, "Sari"), budi=sandbox.person(CASEWORKER_TG, "Budi"),
        dewi=sandbox.person(CASEWORKER2_TG, "Dewi"), admin=sandbox.person(ADMIN_TG, "Admin"),
    )


async def tick(sandbox: SandboxRun, at: datetime | None = None) -> dict[str, int]:
    """One scan tick at ``at`` (default: the frozen clock's now)."""
    if at is not None:
        sandbox.ctx.clock.set(at)  # type: ignore[attr-defined]
    handled = await run_due(sandbox.ctx, sandbox.app.messenger, at or sandbox.ctx.clock.now())
    await sandbox.settle()
    return handled


async def answer_to(person, query_id: str, timeout: float = 30.0) -> str:  # type: ignore[no-untyped-def]
    """The text the bot answered a callback query with (a generous hang guard: the machine is shared)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        for answer in person.callback_answers:
            if answer.get("callback_query_id") == query_id:
                return answer.get("text") or ""
        if loop.time() > deadline:
            raise AssertionError(f"callback query {query_id} was never answered")
        await asyncio.sleep(0.02)


async def requests(ctx: AppContext) -> list[PrivacyRequest]:
    async with ctx.session_factory() as s:
        return list(await s.scalars(select(PrivacyRequest).order_by(PrivacyRequest.id)))


@pytest.fixture(autouse=True)
def _generous_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bot answer is waited for up to 30 s, not 5: a hang guard on a shared two-core machine, where a
    PostgreSQL round of several updates took over 5 s; it never makes a passing test faster or slower."""
    from sandbox.people import Person

    monkeypatch.setattr(Person.wait_for, "__defaults__", (None, 30.0))


@pytest.fixture(autouse=True)
def _cli_on_the_test_clock(monkeypatch: pytest.MonkeyPatch, clock) -> None:  # type: ignore[no-untyped-def]
    """The CLI builds its own context; give it the test's frozen clock, so what it queues is due when the
    test's scan tick runs (the CLI's own engine and event loop stay its own)."""
    import importlib

    cli_app = importlib.import_module("bot.cli.app")  # not ``bot.cli.app``: the package exports its Typer ``app``

    real = cli_app.context

    def context() -> AppContext:
        built = real()
        built.clock = clock
        return built

    monkeypatch.setattr(cli_app, "context", context)


async def uep(*args: str, env: dict[str, Any] | None = None) -> tuple[int, str]:
    """The ``uep`` CLI in a thread (it runs its own event loop) against the test database."""
    from bot.cli import app

    result = await asyncio.to_thread(CliRunner().invoke, app, ["--config", CONFIG, *args], env=env or {})
    return result.exit_code, result.output
