"""``/healthz`` and ``/metrics`` of a bot process (the webhook server, or ``monitoring.port``).

``/healthz`` answers 200 when the database answers, its schema is at the latest migration and Redis (when the
process uses it) answers a PING; otherwise 503. The body says which part failed, as JSON, for the load balancer
and for the person on call. Each check has a time limit, so a hung database makes the check fail, not hang.

``/metrics`` is Prometheus' text format (``services/metrics.py``), with the queue depths read at each scrape.
Serve neither to the internet: the reverse proxy forwards only the webhook path (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web
from sqlalchemy import text

from bot.context import AppContext
from db.migrate import current_revision, head_revision
from services import metrics

log = logging.getLogger("uep.monitoring")
CHECK_TIMEOUT = 5.0


async def check_health(ctx: AppContext, redis: Any | None = None) -> dict[str, str]:
    """Each part's state: ``ok`` or what is wrong (no personal data, no secrets)."""
    checks: dict[str, str] = {}

    async def database() -> None:
        async with ctx.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def migrations() -> None:
        current, head = await current_revision(ctx.engine), head_revision()
        if current != head:
            raise RuntimeError(f"at {current or 'nothing'}, expected {head}")

    async def redis_ping() -> None:
        assert redis is not None
        await redis.ping()

    parts = {"database": database, "migrations": migrations}
    if redis is not None:
        parts["redis"] = redis_ping
    for name, check in parts.items():
        try:
            await asyncio.wait_for(check(), CHECK_TIMEOUT)
            checks[name] = "ok"
        except TimeoutError:
            checks[name] = f"no answer within {CHECK_TIMEOUT:g} s"
        except Exception as exc:  # noqa: BLE001 - any failure is an unhealthy part
            checks[name] = str(exc)[:200] if isinstance(exc, RuntimeError) else type(exc).__name__
    return checks


def add_routes(app: web.Application, ctx: AppContext, redis: Any | None = None) -> None:
    async def healthz(_request: web.Request) -> web.Response:
        checks = await check_health(ctx, redis)
        healthy = all(v == "ok" for v in checks.values())
        if not healthy:
            log.warning("health check failed: %s", checks)
        body = {"status": "ok" if healthy else "unhealthy", **checks}
        return web.Response(status=200 if healthy else 503, text=json.dumps(body), content_type="application/json")

    async def metrics_page(_request: web.Request) -> web.Response:
        try:
            async with ctx.session_factory() as session:
                await asyncio.wait_for(metrics.refresh_queue_depths(session, ctx.clock.now()), CHECK_TIMEOUT)
        except Exception:  # noqa: BLE001 - the counters are still worth serving without fresh queue depths
            log.warning("queue depths could not be read for /metrics")
        return web.Response(body=metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)


def monitoring_app(ctx: AppContext, redis: Any | None = None) -> web.Application:
    app = web.Application()
    add_routes(app, ctx, redis)
    return app
