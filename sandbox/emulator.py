"""``TelegramEmulator``: the facade tests and tools use, and the standalone entry point.

Why: one object wires the parts together (spec, world, HTTP server, control API, flood control,
faults, webhooks, simulated people) and offers the small API tests need::

    emu = TelegramEmulator()                  # spec from /work/shared/telegram/bot-api.json
    await emu.start(port=0)                   # emu.base_url → http://127.0.0.1:<port>
    bot = emu.add_bot("123:ABC…", "aid_bot")
    alice = emu.person(1001, "Alice", language_code="id", phone="+62812…")
    await alice.command("start")
    await alice.wait_for("Selamat")
    emu.assert_no_violations()

Standalone: ``python -m sandbox.emulator --port 8081 --token 123:ABC…=aid_bot``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from .activity import Activity
from .control import ControlApi
from .events import EventBus, Subscriber
from .faults import Fault, FaultInjector
from .flood import FloodConfig, FloodControl
from .methods import BotApiMethods, MethodContext, MethodOptions
from .people import Person
from .server import MAX_BODY, ApiPipeline, BotApiServer
from .spec import BotApiSpec
from .updates import UpdateQueue
from .violations import Violation, ViolationLog
from .webhook import WebhookDelivery
from .world import BotState, User, World

log = logging.getLogger(__name__)

DEFAULT_SPEC = Path(os.environ.get("TELEGRAM_BOT_API_SPEC", "/work/shared/telegram/bot-api.json"))
_TOKEN_RE = re.compile(r"^(\d{1,20}):[A-Za-z0-9_-]{20,}$")


@functools.lru_cache(maxsize=4)
def load_spec(path: str) -> BotApiSpec:
    """Compiled specs are cached: every test builds an emulator, the JSON is ~1 MB."""
    return BotApiSpec.load(path)


def make_token(bot_id: int) -> str:
    return f"{bot_id}:AAE{'x' * 8}{bot_id:012d}emulator"


class TelegramEmulator:
    def __init__(
        self,
        spec_path: str | Path | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        flood: FloodConfig | None = None,
        options: MethodOptions | None = None,
        auto_register_bots: bool = False,
        webhook_retry_delay: float = 0.1,
        self_check: bool = False,
        rtt: float = 0.0,
    ) -> None:
        self.spec = load_spec(str(spec_path or DEFAULT_SPEC))
        self.events = EventBus()
        self.world = World(clock or (lambda: datetime.now(UTC)), self.events)
        self.flood = FloodControl(flood or FloodConfig())
        self.faults = FaultInjector()
        self.violation_log = ViolationLog()
        self.activity = Activity()
        self.auto_register_bots = auto_register_bots
        self.webhook_retry_delay = webhook_retry_delay
        self._webhooks: dict[str, WebhookDelivery] = {}
        self._webhook_targets: dict[str, list[str]] = {}
        self._people: dict[tuple[str, int], Person] = {}
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.port = 0
        self.method_context = MethodContext(self.world, self.flood, self._start_webhook, self._stop_webhook,
                                            options or MethodOptions())
        self.methods = BotApiMethods(self.method_context)
        self.pipeline = ApiPipeline(self.world, self.spec, self.methods, self.faults, self.violation_log,
                                    self.activity, self._bot_for_token)
        self.pipeline.self_check = self_check
        self.pipeline.rtt = rtt
        self.app = web.Application(client_max_size=MAX_BODY)
        BotApiServer(self.pipeline).add_routes(self.app)
        ControlApi(self).add_routes(self.app)

    # ================================================================= lifecycle
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> TelegramEmulator:
        """Serve on ``host:port`` (0 = a free port) in the current event loop."""
        self.methods.closing = False
        self.pipeline.closing = asyncio.Event()
        # Like Telegram, drop a long poll whose client went away (a restarted bot), instead of answering it later.
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=2.0,
                                     handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        self.port = sockets[0].getsockname()[1] if sockets else port
        self.base_url = f"http://{host}:{self.port}"
        return self

    async def stop(self) -> None:
        self.methods.shutdown()
        self.pipeline.closing.set()
        for delivery in list(self._webhooks.values()):
            await delivery.stop()
        self._webhooks.clear()
        if self._session:
            await self._session.close()
            self._session = None
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramEmulator:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    # ================================================================= bots and people
    def add_bot(self, token: str | None = None, username: str = "test_bot", first_name: str | None = None) -> BotState:
        if token is None:
            token = make_token(100000 + len(self.world.bots) + 1)
        m = _TOKEN_RE.match(token)
        bot_id = int(m.group(1)) if m else abs(hash(token)) % 10**10
        bot = BotState(token=token, id=bot_id, username=username.lstrip("@"), first_name=first_name or username,
                       updates=UpdateQueue(on_change=self.activity.touch))
        self.world.bots[token] = bot
        return bot

    @property
    def bots(self) -> list[BotState]:
        return list(self.world.bots.values())

    @property
    def bot(self) -> BotState:
        """The only (first) bot — convenient when a test has one."""
        if not self.world.bots:
            raise LookupError("no bot registered; call emu.add_bot(token, username) first")
        return next(iter(self.world.bots.values()))

    def _bot_for_token(self, token: str) -> BotState | None:
        bot = self.world.bots.get(token)
        if bot is None and self.auto_register_bots and _TOKEN_RE.match(token):
            bot = self.add_bot(token, f"bot{token.split(':')[0]}")
        return bot

    def _resolve_bot(self, bot: BotState | str | None) -> BotState:
        if bot is None:
            return self.bot
        if isinstance(bot, BotState):
            return bot
        found = self.world.bots.get(bot) or next(
            (b for b in self.world.bots.values() if b.username == bot.lstrip("@")), None)
        if found is None:
            raise LookupError(f"unknown bot {bot!r}")
        return found

    def person(
        self,
        user_id: int,
        first_name: str = "",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "id",
        phone: str | None = None,
        bot: BotState | str | None = None,
        started: bool = False,
    ) -> Person:
        """Get or create the person ``user_id`` in a private chat with ``bot`` (default: the first bot).

        ``started=True`` pretends the person already talked to the bot, so it may write first.
        """
        b = self._resolve_bot(bot)
        key = (b.token, user_id)
        if key in self._people:
            return self._people[key]
        user = self.world.users.get(user_id)
        if user is None:
            user = self.world.users[user_id] = User(user_id, first_name or f"User{user_id}", last_name, username,
                                                    language_code, phone)
        person = Person(self.world, b, user, lambda timeout: self.wait_until_processed(timeout, bot=b))
        if started:
            person.chat.started = True
        self._people[key] = person
        return person

    def find_person(self, user_id: int, bot: str | None = None) -> Person | None:
        for (token, uid), p in self._people.items():
            if uid == user_id and (bot is None or bot in (token, p.bot.username)):
                return p
        return None

    @property
    def people(self) -> list[Person]:
        return list(self._people.values())

    # ================================================================= observing
    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """``callback(event)`` for every bot→user message/edit/delete and user→bot update."""
        return self.events.subscribe(callback)

    async def wait_until_processed(self, timeout: float = 5.0, *, quiet: float = 0.1,
                                   bot: BotState | None = None) -> None:
        """Wait until every update was confirmed, no call is in flight and ``quiet`` s passed calmly.

        Raises TimeoutError naming what is still pending (e.g. nobody polls for updates).
        """
        bots = [bot] if bot else self.bots
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            pending = sum(b.updates.pending for b in bots)
            busy = pending or self.activity.inflight > 0
            quiet_left = quiet - self.activity.quiet_for()
            if not busy and quiet_left <= 0:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"bot still busy after {timeout}s: {pending} update(s) unconfirmed, "
                                   f"{self.activity.inflight} request(s) in flight")
            await self.activity.wait_change(min(remaining, quiet_left if not busy else 0.05))

    @property
    def stats(self) -> dict[str, Any]:
        s = self.pipeline.stats.as_json()
        s.update({
            "updates_enqueued": sum(b.updates.enqueued for b in self.bots),
            "updates_confirmed": sum(b.updates.confirmed for b in self.bots),
            "updates_pending": sum(b.updates.pending for b in self.bots),
            "webhook_delivered": sum(d.delivered for d in self._webhooks.values()),
            "webhook_failed": sum(d.failed for d in self._webhooks.values()),
            "flood_enabled": self.flood.config.enabled,
            "faults_armed": len(self.faults.faults),
            "violations": len(self.violation_log.items),
            "unexpected_violations": len(self.violation_log.unexpected),
            "poll_conflicts": self.method_context.conflicts,
        })
        return s

    # ================================================================= violations
    @property
    def violations(self) -> list[Violation]:
        return self.violation_log.items

    def expect_violation(self, pattern: str | None = None, *, method: str | None = None,
                         times: int | None = 1) -> None:
        """Declare that the next ``times`` violations matching ``pattern`` (regex) are intended."""
        self.violation_log.expect(pattern, method=method, times=times)

    def assert_no_violations(self) -> None:
        self.violation_log.assert_none()

    def clear_violations(self) -> None:
        self.violation_log.clear()

    # ================================================================= flood and faults
    def set_flood(self, enabled: bool = True, **config: Any) -> None:
        """Switch strict flood control on/off; other keys change FloodConfig fields."""
        self.flood.configure(enabled=enabled, **config)

    def set_rtt(self, seconds: float) -> None:
        """Delay every Bot API answer by ``seconds`` (a real network's round trip; 0.1 is typical)."""
        self.pipeline.rtt = max(0.0, seconds)

    def inject_fault(self, kind: str, *, method: str | None = None, chat_id: int | None = None,
                     times: int | None = 1, retry_after: int = 1, status: int = 500,
                     hang_seconds: float = 60.0, description: str | None = None,
                     contains: str | None = None, pid: int | None = None) -> Fault:
        """Arm a fault: kind is "429", "5xx", "html", "blocked", "deactivated", "hang", "error" or "kill"
        (see :mod:`sandbox.faults`)."""
        return self.faults.add(Fault(kind, method, chat_id, times, retry_after, status, hang_seconds, description,
                                     contains, pid))

    def clear_faults(self, fault: Fault | int | None = None) -> None:
        self.faults.clear(fault)

    # ================================================================= webhooks
    # Seconds Telegram waits for a webhook's answer before it gives up on that post and delivers the update again.
    webhook_timeout: float = 10.0

    def set_webhook_targets(self, urls: list[str], token: str | None = None) -> None:
        """Deliver the bot's webhooks round-robin to ``urls`` (several bot processes behind a proxy)."""
        token = token or self.bots[0].token
        self._webhook_targets[token] = list(urls)
        if token in self._webhooks:
            self._webhooks[token].targets = list(urls)

    def webhook_delivery(self, token: str | None = None) -> WebhookDelivery | None:
        return self._webhooks.get(token or self.bots[0].token)

    def _start_webhook(self, bot: BotState) -> None:
        if self._session is None:
            # Many parallel posts to a few workers: no per-host connection cap below max_connections.
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        delivery = self._webhooks.get(bot.token)
        if delivery is None:
            delivery = self._webhooks[bot.token] = WebhookDelivery(
                bot, self._session, self.world.now, self._execute_webhook_reply,
                retry_delay=self.webhook_retry_delay, timeout=self.webhook_timeout,
                targets=getattr(self, "_webhook_targets", {}).get(bot.token))
        delivery.start()

    async def _stop_webhook(self, bot: BotState) -> None:
        delivery = self._webhooks.get(bot.token)
        if delivery:
            await delivery.stop()

    async def _execute_webhook_reply(self, bot: BotState, method: str, params: dict[str, Any]) -> Any:
        return await self.pipeline.call(bot.token, method, params)


# ===================================================================================== standalone
def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m sandbox.emulator", description="Telegram Bot API emulator")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--spec", default=str(DEFAULT_SPEC))
    ap.add_argument("--token", action="append", default=[], metavar="TOKEN[=username]",
                    help="register a bot (repeatable)")
    ap.add_argument("--auto-bots", action="store_true", help="accept any well-formed token as a new bot")
    ap.add_argument("--flood", action="store_true", help="start with strict flood control on")
    ap.add_argument("--rtt-ms", type=float, default=0.0, help="delay every Bot API answer by this many ms")
    ap.add_argument("--person", action="append", default=[], metavar="ID:NAME[:LANG[:PHONE]]",
                    help="create a person in a chat with the first bot (repeatable)")
    return ap.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    emu = TelegramEmulator(args.spec, auto_register_bots=args.auto_bots or not args.token, rtt=args.rtt_ms / 1000)
    for item in args.token:
        token, _, username = item.partition("=")
        emu.add_bot(token, username or f"bot{token.split(':')[0]}")
    if args.flood:
        emu.set_flood(True)
    for spec in args.person:
        parts = spec.split(":")
        emu.person(int(parts[0]), parts[1] if len(parts) > 1 else "",
                   language_code=parts[2] if len(parts) > 2 else "id",
                   phone=parts[3] if len(parts) > 3 else None)
    await emu.start(args.host, args.port)
    print(f"Telegram Bot API emulator on {emu.base_url} ({emu.spec.version}); "
          f"bots: {[b.username for b in emu.bots] or 'auto'}; control API at {emu.base_url}/_emulator/stats",
          flush=True)
    try:
        await asyncio.Event().wait()  # serve until interrupted
    finally:
        await emu.stop()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(_serve(_parse_args(argv)))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
