"""``uep run --webhook``'s web server: a malformed update gets a logged 400 (#24 item 11), ``/healthz`` says
whether the database, migrations and Redis are fine, ``/metrics`` counts updates and messages (#23 §3)."""

from __future__ import annotations

import logging

import aiohttp
import pytest
from sqlalchemy import text

from bot.context import AppContext
from sandbox.runner import SandboxRun

SECRET = "right-secret-token"


@pytest.fixture
async def webhook_run(ctx: AppContext):  # type: ignore[no-untyped-def]
    ctx.settings.telegram.webhook_secret = SECRET
    run = await SandboxRun.start(ctx, mode="webhook")
    yield run
    await run.stop()


def _base(run: SandboxRun) -> str:
    return f"http://127.0.0.1:{run.ctx.settings.telegram.webhook_port}"


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2, 3]",
        b'{"update_id": "abc"}',
        # A message without its chat, date or id: the right shape of envelope, a broken update inside.
        b'{"update_id": 77, "message": {"text": "halo 6472010101010001", "from": {"id": 5, "is_bot": false}}}',
        "\udcff".encode("utf-8", "surrogatepass"),
    ],
    ids=["broken-json", "a-list", "bad-update-id", "message-without-chat", "not-utf8"],
)
async def test_a_malformed_update_with_the_right_secret_gets_a_logged_400(
    webhook_run: SandboxRun, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    url = _base(webhook_run) + webhook_run.ctx.settings.telegram.webhook_path
    with caplog.at_level(logging.WARNING):
        async with aiohttp.ClientSession() as http:
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
            async with http.post(url, data=body, headers=headers) as resp:
                assert resp.status == 400, await resp.text()
                assert "Traceback" not in await resp.text()
            async with http.post(url, data=body, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as resp:
                assert resp.status == 401  # the secret is still checked first
    refused = [r for r in caplog.records if r.name == "uep.webhook"]
    assert len(refused) == 1 and "refused with 400" in refused[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)  # logged, no traceback
    assert "6472010101010001" not in caplog.text  # the update's content is never logged
    # The bot still serves people after it.
    person = webhook_run.person(930001, "Rina")
    await person.command("help")
    await person.wait_for()


async def test_healthz_reports_database_migrations_and_says_503_when_one_fails(webhook_run: SandboxRun) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(_base(webhook_run) + "/healthz") as resp:
            assert resp.status == 200
            assert await resp.json() == {"status": "ok", "database": "ok", "migrations": "ok"}
        # A database left behind by a deploy that skipped `uep db upgrade`.
        async with webhook_run.ctx.engine.begin() as conn:
            real = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
            await conn.execute(text("UPDATE alembic_version SET version_num = '0000_older'"))
        try:
            async with http.get(_base(webhook_run) + "/healthz") as resp:
                assert resp.status == 503
                body = await resp.json()
                assert body["status"] == "unhealthy" and body["database"] == "ok"
                assert body["migrations"].startswith("at 0000_older, expected")
        finally:
            async with webhook_run.ctx.engine.begin() as conn:
                await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": real})


async def test_metrics_count_updates_replies_and_queue_depths(webhook_run: SandboxRun) -> None:
    async def scrape() -> dict[str, float]:
        async with aiohttp.ClientSession() as http, http.get(_base(webhook_run) + "/metrics") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain")
            page = await resp.text()
        values = {}
        for line in page.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    before = await scrape()
    person = webhook_run.person(930002, "Sari")
    for _ in range(3):
        await person.command("help")
        await person.wait_for()
    await webhook_run.settle()
    after = await scrape()

    def delta(key: str) -> float:
        return after.get(key, 0) - before.get(key, 0)

    assert delta('uep_updates_total{outcome="handled",type="message"}') == 3
    assert delta('uep_update_seconds_count{type="message"}') == 3
    assert delta('uep_messages_sent_total{kind="reply",outcome="sent"}') >= 3
    for queue in ("due_reminders", "broadcast_deliveries", "case_deadlines_passed"):
        assert f'uep_queue_depth{{queue="{queue}"}}' in after
    # A 429 on a reply is counted, whichever kind of message met it.
    webhook_run.emulator.inject_fault("429", method="sendMessage", times=1, retry_after=1)
    await person.command("help")
    await webhook_run.settle()
    last = await scrape()
    assert last.get('uep_telegram_429_total{method="sendMessage"}', 0) - after.get(
        'uep_telegram_429_total{method="sendMessage"}', 0) == 1
    assert last.get('uep_messages_sent_total{kind="reply",outcome="retry_after"}', 0) - after.get(
        'uep_messages_sent_total{kind="reply",outcome="retry_after"}', 0) == 1
