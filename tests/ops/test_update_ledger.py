"""A redelivered update changes nothing twice (#23 §2, §5): Telegram posts an update again when it got no 200
(a webhook worker killed after its commit, before its answer). The update's transaction records its id."""

from __future__ import annotations

import logging
import time

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.context import AppContext
from db.models import ProcessedUpdate, TelegramAccount
from sandbox.runner import SandboxRun

SECRET = "ledger-secret"


@pytest.fixture
async def webhook_run(ctx: AppContext):  # type: ignore[no-untyped-def]
    ctx.settings.telegram.webhook_secret = SECRET
    run = await SandboxRun.start(ctx, mode="webhook")
    yield run
    await run.stop()


async def test_the_same_update_delivered_twice_is_handled_once(
    webhook_run: SandboxRun, caplog: pytest.LogCaptureFixture
) -> None:
    person = webhook_run.person(940001, "Ani")
    update = {
        "update_id": 990_001,
        "message": {
            "message_id": 1, "date": int(time.time()), "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            "chat": {"id": person.id, "type": "private", "first_name": "Ani"},
            "from": {"id": person.id, "is_bot": False, "first_name": "Ani", "language_code": "id"},
        },
    }
    tg = webhook_run.ctx.settings.telegram
    url = f"http://127.0.0.1:{tg.webhook_port}{tg.webhook_path}"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    with caplog.at_level(logging.INFO, logger="uep.updates"):
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=update, headers=headers) as resp:
                assert resp.status == 200
            await webhook_run.settle()
            replies = len(person.texts)
            assert replies >= 1
            async with http.post(url, json=update, headers=headers) as resp:  # the redelivery
                assert resp.status == 200  # answered, so Telegram stops retrying
            await webhook_run.settle()
    assert len(person.texts) == replies  # not handled again: no second welcome
    assert "update 990001 was handled before (a redelivery): skipped" in caplog.text
    async with webhook_run.ctx.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(TelegramAccount)) == 1
        assert await s.get(ProcessedUpdate, 990_001) is not None


async def test_an_update_that_changes_nothing_writes_no_ledger_row(webhook_run: SandboxRun) -> None:
    person = webhook_run.person(940002, "Budi")
    await person.command("help")
    await person.wait_for()
    await person.command("help")  # the account exists and was seen today: nothing to write
    await person.wait_for()
    await webhook_run.settle()
    async with webhook_run.ctx.session_factory() as s:
        rows = await s.scalar(select(func.count()).select_from(ProcessedUpdate))
    assert rows == 1  # only the first /help, which created the account
