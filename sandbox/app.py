"""``SandboxApp``: the whole product on one machine — emulated Telegram, the real bot, a web chat, a clock.

Why: a newcomer, a Dissos trainer or a reviewer without a bot token runs ``uep sandbox`` and uses the bot
in a browser within a minute. The pieces are the ones the tests use: :class:`~sandbox.emulator.TelegramEmulator`
speaks the Bot API, :class:`~sandbox.runner.SandboxRun` runs the real :class:`~bot.app.BotApp` (polling, with
the scheduler) against it, and :mod:`sandbox.webchat` serves the chat page from the emulator's own aiohttp
app. One :class:`~services.clock.OffsetClock` is shared by the emulator and the application, so moving time
forward in the clock panel moves message dates, reminders and deadlines together.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.config import Settings
from bot.context import AppContext
from db.enums import ReminderStatus
from db.migrate import upgrade_async
from db.models import Case, FieldWorker, Recipient, Reminder
from sandbox.emulator import TelegramEmulator
from sandbox.runner import SANDBOX_BOT_USERNAME, SANDBOX_TOKEN, SandboxRun
from services.clock import OffsetClock

log = logging.getLogger("uep.sandbox")

WILAYAH_FILE = "wilayah-kaltim.csv"
ROSTER_FILE = "sample-roster.csv"
WORKERS_FILE = "sample-workers.csv"
# Optional: candidates before the assessment (issue #19), so /asesmen has someone to assess.
CANDIDATES_FILE = "sample-candidates.csv"


class SandboxDataMissing(RuntimeError):
    """The folder with wilayah, roster and workers files is not there."""


@dataclass
class ImportSummary:
    lines: list[str] = field(default_factory=list)
    recipients: int = 0
    workers: int = 0


def check_data_dir(data_dir: Path) -> None:
    """Raise :class:`SandboxDataMissing` naming what is missing."""
    if not data_dir.is_dir():
        raise SandboxDataMissing(f"data folder {str(data_dir)!r} not found (pass --data DIR)")
    missing = [name for name in (WILAYAH_FILE, ROSTER_FILE, WORKERS_FILE) if not (data_dir / name).is_file()]
    if missing:
        raise SandboxDataMissing(f"data folder {str(data_dir)!r} lacks {', '.join(missing)}")


async def import_data(ctx: AppContext, data_dir: Path) -> ImportSummary:
    """Wilayah, roster, workers (and candidates, when the file is there) from ``data_dir`` through the same
    importers ``uep import`` uses.

    Skipped when the database already has recipients (``--keep`` / ``--db`` reuse a filled database).
    """
    from services.importer.reading import read_table
    from services.importer.roster import import_roster
    from services.importer.wilayah import import_wilayah
    from services.importer.workers import import_workers

    summary = ImportSummary()
    async with ctx.session_factory() as session:
        have = await session.scalar(select(func.count()).select_from(Recipient))
        if have:
            summary.recipients = have
            summary.workers = await session.scalar(select(func.count()).select_from(FieldWorker)) or 0
            summary.lines.append(f"database already has {have} recipients; nothing imported")
            return summary
    check_data_dir(data_dir)
    steps = (
        ("wilayah", WILAYAH_FILE),
        ("roster", ROSTER_FILE),
        ("workers", WORKERS_FILE),
        ("candidates", CANDIDATES_FILE),
    )
    for kind, name in steps:
        if kind == "candidates" and not (data_dir / name).is_file():
            continue
        table = await asyncio.to_thread(read_table, data_dir / name)
        async with ctx.session_factory() as session:
            if kind == "wilayah":
                result = await import_wilayah(session, table, clock=ctx.clock, dry_run=False)
            elif kind == "roster":
                result = await import_roster(session, table, program=ctx.settings.program, cipher=ctx.cipher,
                                             clock=ctx.clock, dry_run=False, progress=False)
            elif kind == "candidates":
                from services.importer.candidates import import_candidates

                result = await import_candidates(session, table, program=ctx.settings.program, cipher=ctx.cipher,
                                                 clock=ctx.clock, dry_run=False, actor="sandbox")
            else:
                result = await import_workers(session, table, cipher=ctx.cipher, clock=ctx.clock, dry_run=False)
            if result.exit_code == 2:
                await session.rollback()
            else:
                await session.commit()
        summary.lines.append(result.summary())
        if kind == "roster":
            summary.recipients = result.accepted
        elif kind == "workers":
            summary.workers = result.accepted
    return summary


class SandboxApp:
    """Emulator + bot + web chat + clock panel, started and stopped together in one event loop."""

    def __init__(
        self,
        settings: Settings,
        *,
        data_dir: Path | None,
        host: str = "127.0.0.1",
        port: int = 8080,
        clock: OffsetClock | None = None,
        with_scheduler: bool = True,
    ) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self.clock = clock or OffsetClock()
        self.with_scheduler = with_scheduler
        self.ctx: AppContext | None = None
        self.emulator: TelegramEmulator | None = None
        self.run: SandboxRun | None = None
        self.import_summary = ImportSummary()
        self._tick_lock = asyncio.Lock()
        self.webchat: Any = None
        self._desk: Any = None  # the staff web desk's runner (web/), on the port after the web chat's
        self.desk_url: str | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> SandboxApp:
        from sandbox.webchat import WebChat

        if self.data_dir is not None:
            check_data_dir(self.data_dir)
        self.ctx = AppContext.build(self.settings, clock=self.clock)
        try:
            await upgrade_async(self.ctx.engine, self.settings.database.url)
            if self.data_dir is not None:
                self.import_summary = await import_data(self.ctx, self.data_dir)
            self.emulator = TelegramEmulator(clock=self.clock.now)
            self.emulator.add_bot(SANDBOX_TOKEN, SANDBOX_BOT_USERNAME, "UEP Kaltim")
            self.webchat = WebChat(self)
            self.webchat.add_routes(self.emulator.app)
            await self.emulator.start(self.host, self.port)
            self.run = await SandboxRun.start(self.ctx, emulator=self.emulator, with_scheduler=self.with_scheduler)
            await self._start_desk()
        except BaseException:
            await self.stop()
            raise
        return self

    async def _start_desk(self) -> None:
        """The staff web desk beside the web chat (the next port, or any free one), so /web's links open."""
        from web.server import start_desk

        assert self.ctx is not None and self.run is not None and self.run.app is not None
        port = self.port + 1 if self.port else 0
        self._desk = await start_desk(self.ctx, host=self.host, port=port, i18n=self.run.app.i18n,
                                      messenger=self.run.app.messenger, bot_username=SANDBOX_BOT_USERNAME)
        bound = self._desk.addresses[0][1]
        self.ctx.settings.web.host, self.ctx.settings.web.port = self.host, bound
        self.desk_url = self.ctx.settings.web.base_url + "/"

    async def stop(self) -> None:
        if self._desk is not None:
            await self._desk.cleanup()
            self._desk = None
        if self.webchat is not None:
            await self.webchat.close()
        if self.run is not None:
            await self.run.stop()
            self.run = None
        elif self.emulator is not None:
            await self.emulator.stop()
        self.emulator = None
        if self.ctx is not None:
            await self.ctx.close()
            self.ctx = None

    @property
    def url(self) -> str:
        assert self.emulator is not None, "not started"
        return self.emulator.base_url + "/"

    @property
    def bot_username(self) -> str:
        return SANDBOX_BOT_USERNAME

    # ------------------------------------------------------------------ the clock panel
    def now(self) -> datetime:
        return self.clock.now()

    async def next_reminder_at(self) -> datetime | None:
        """When the earliest pending reminder falls due (None when nothing is pending)."""
        assert self.ctx is not None
        async with self.ctx.session_factory() as session:
            return await session.scalar(
                select(func.min(Reminder.due_at)).where(Reminder.status == ReminderStatus.PENDING)
            )

    async def next_case_deadline_at(self) -> datetime | None:
        """The earliest deadline of an open case (to be taken, or to be resolved)."""
        assert self.ctx is not None
        async with self.ctx.session_factory() as session:
            return await session.scalar(select(func.min(Case.next_due_at)).where(Case.next_due_at.is_not(None)))

    async def advance(self, delta: timedelta) -> dict[str, int]:
        """Move time forward by ``delta`` and run one scan tick at once; returns what each task handled."""
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        async with self._tick_lock:
            self.clock.advance(delta)
            return await self.tick()

    async def advance_past(self, moment: datetime) -> dict[str, int]:
        """Move to just after ``moment`` (no move when it has passed already) and run one tick."""
        return await self.advance(max(timedelta(0), moment - self.clock.now() + timedelta(seconds=1)))

    async def advance_to_next_reminder(self) -> tuple[datetime | None, dict[str, int]]:
        """Jump to the earliest pending reminder and run one tick; (None, {}) when nothing is pending."""
        due = await self.next_reminder_at()
        if due is None:
            return None, {}
        return due, await self.advance_past(due)

    async def advance_to_next_case_deadline(self) -> tuple[datetime | None, dict[str, int]]:
        """Jump past the earliest open-case deadline (escalations fire) and run one tick."""
        due = await self.next_case_deadline_at()
        if due is None:
            return None, {}
        return due, await self.advance_past(due)

    async def tick(self) -> dict[str, int]:
        from scheduler.runner import run_due

        assert self.ctx is not None and self.run is not None and self.run.app is not None
        return await run_due(self.ctx, self.run.app.messenger)
