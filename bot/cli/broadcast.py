"""``uep broadcast send|status|failed``: announcements from the command line, with the bot's own engine.

``send`` creates the broadcast (audited, actor ``cli``) and, unless it is scheduled (``--at``) or ``--no-wait``,
sends it from this process at the configured rate, printing progress; a running bot would share the work
safely (claims), but each process keeps its own rate, so prefer one sender at a time.
"""

from __future__ import annotations

import csv
import getpass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import app, fail, run_async
from bot.context import AppContext

broadcast_app = typer.Typer(help="Announcements to recipients, TKSK and PSM.", no_args_is_help=True)
app.add_typer(broadcast_app, name="broadcast")

PHOTO_MAX_BYTES = 10 * 1024 * 1024  # Telegram's limit for photos


def _parse_at(value: str, tz) -> datetime:  # type: ignore[no-untyped-def]
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--at: {value!r} is not an ISO 8601 time such as 2026-03-05T08:00 (WITA)") from None
    return (at.replace(tzinfo=tz) if at.tzinfo is None else at).astimezone(UTC)


class _PrintProgress:
    def __init__(self) -> None:
        self.last = ""

    async def progress(self, broadcast_id: int, counts) -> None:  # type: ignore[no-untyped-def]
        line = (f"broadcast {broadcast_id}: sent {counts.sent}/{counts.total}, unreachable {counts.blocked}, "
                f"failed {counts.failed}, pending {counts.pending}")
        if line != self.last:
            typer.echo(line)
            self.last = line

    async def finished(self, broadcast_id: int, counts) -> None:  # type: ignore[no-untyped-def]
        typer.echo(f"broadcast {broadcast_id} done: sent {counts.sent}, unreachable {counts.blocked}, "
                   f"failed {counts.failed} (of {counts.total})")


@broadcast_app.command("send")
def send(
    text: Annotated[str, typer.Option("--text", help="The message (Indonesian; HTML formatting allowed).")],
    text_en: Annotated[str | None, typer.Option("--text-en", help="English version for people who chose English.")]
    = None,
    photo: Annotated[Path | None, typer.Option("--photo", help="A photo (JPEG/PNG, ≤10 MB); --text is its caption.")]
    = None,
    kabupaten: Annotated[list[str] | None, typer.Option("--kabupaten", help="Kabupaten name or code (repeatable).")]
    = None,
    kecamatan: Annotated[list[str] | None, typer.Option("--kecamatan", help="Kecamatan name or code (repeatable).")]
    = None,
    business_type: Annotated[list[str] | None, typer.Option("--business-type", help="Business type code.")] = None,
    onboarding_state: Annotated[list[str] | None, typer.Option("--onboarding-state", help="Onboarding state.")]
    = None,
    business_status: Annotated[list[str] | None, typer.Option("--business-status", help="Business status.")] = None,
    workers: Annotated[bool, typer.Option("--workers", help="Also TKSK and PSM (in the chosen region).")] = False,
    workers_only: Annotated[bool, typer.Option("--workers-only", help="Only TKSK and PSM, no recipients.")] = False,
    at: Annotated[str | None, typer.Option("--at", help="Send later: ISO time, WITA unless a zone is given.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show whom it would reach.")] = False,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Create it and let the running bot send it.")] = False,
) -> None:
    """Send an announcement now (or at --at), to everybody or to a filtered audience."""
    from sqlalchemy import or_, select

    from bot.config import BUSINESS_TYPE_CODES
    from db.enums import BusinessStatus, OnboardingState
    from db.models import Kabupaten, Kecamatan
    from services.broadcast import deliveries as dl
    from services.broadcast.audience import Audience, count_audience
    from services.broadcast.sender import PHOTO_PATH_PREFIX

    for values, allowed, option in (
        (business_type, BUSINESS_TYPE_CODES, "--business-type"),
        (onboarding_state, [s.value for s in OnboardingState if s != OnboardingState.DECLINED], "--onboarding-state"),
        (business_status, [s.value for s in BusinessStatus], "--business-status"),
    ):
        for v in values or []:
            if v not in allowed:
                raise fail(f"{option}: unknown value {v!r}; allowed: {', '.join(allowed)}")
    if photo is not None:
        if not photo.is_file():
            raise fail(f"--photo: file {str(photo)!r} not found")
        if photo.stat().st_size > PHOTO_MAX_BYTES:
            raise fail("--photo: larger than Telegram's 10 MB limit for photos")
        if len(text) > 1024 or (text_en and len(text_en) > 1024):
            raise fail("--text/--text-en: a photo caption has at most 1024 characters")
    elif len(text) > 4096 or (text_en and len(text_en) > 4096):
        raise fail("--text/--text-en: a message has at most 4096 characters")
    if not text.strip():
        raise fail("--text: empty")

    async def _do(ctx: AppContext) -> int:
        tz = ctx.settings.program.tz
        scheduled = _parse_at(at, tz) if at else None
        if scheduled is not None and scheduled <= ctx.clock.now():
            raise fail("--at: that time has already passed")
        async with ctx.session_factory() as session:
            kab_ids, kec_ids = [], []
            for name in kabupaten or []:
                kid = await session.scalar(select(Kabupaten.id).where(
                    or_(Kabupaten.name.ilike(name), Kabupaten.code == name)))
                if kid is None:
                    raise fail(f"--kabupaten: {name!r} not found")
                kab_ids.append(kid)
            for name in kecamatan or []:
                found = (await session.scalars(select(Kecamatan.id).where(
                    or_(Kecamatan.name.ilike(name), Kecamatan.code == name)))).all()
                if not found:
                    raise fail(f"--kecamatan: {name!r} not found")
                if len(found) > 1:
                    raise fail(f"--kecamatan: {name!r} exists in several kabupaten; use its code")
                kec_ids.append(found[0])
            audience = Audience(
                recipients=not workers_only, workers=workers or workers_only, kabupaten_ids=kab_ids,
                kecamatan_ids=kec_ids, business_types=list(business_type or []),
                onboarding_states=list(onboarding_state or []), business_statuses=list(business_status or []),
            )
            count = await count_audience(session, audience)
        typer.echo(f"audience: {count.people} people ({count.recipients} recipients, {count.workers} TKSK/PSM); "
                   f"reachable on Telegram: {count.reachable}; not joined yet: {count.not_joined}; "
                   f"blocked the bot earlier: {count.blocked}")
        if dry_run:
            return 0
        if count.reachable == 0 and scheduled is None:
            raise fail("nobody in this audience can be reached yet; nothing sent", 1)
        actor = f"cli:{getpass.getuser()}"
        async with ctx.session_factory.begin() as session:
            broadcast = await dl.create_broadcast(
                session, ctx.clock, actor=actor, actor_account_id=None, text_id=text, text_en=text_en,
                photo_file_id=f"{PHOTO_PATH_PREFIX}{photo.resolve()}" if photo else None, audience=audience,
                scheduled_at=scheduled, via="cli",
            )
            bid, total = broadcast.id, broadcast.total
        if scheduled is not None:
            typer.echo(f"broadcast {bid} scheduled for {scheduled.astimezone(tz):%Y-%m-%d %H:%M} WITA "
                       "(the running bot starts it)")
            return 0
        typer.echo(f"broadcast {bid}: {total} deliveries created")
        if no_wait:
            return 0
        return await _send_now(ctx, bid)

    raise typer.Exit(run_async(_do))


async def _send_now(ctx: AppContext, broadcast_id: int) -> int:
    from bot.factory import create_bot
    from services.broadcast import deliveries as dl
    from services.broadcast.sender import DeliveryEngine

    bot = create_bot(ctx)
    sink = _PrintProgress()
    try:
        engine = DeliveryEngine(ctx.session_factory, bot, ctx.clock, ctx.settings.broadcast, sink=sink,
                                broadcast_id=broadcast_id, pacer=ctx.pacer)
        await engine.run(until_idle=True)
    finally:
        await bot.session.close()
    async with ctx.session_factory() as session:
        counts = await dl.counts(session, broadcast_id)
    return 0 if counts.failed == 0 else 1


@broadcast_app.command("status")
def status(broadcast_id: Annotated[int, typer.Argument(help="Broadcast number.")]) -> None:
    """Where a broadcast stands: sent, unreachable, failed, pending."""
    from db.models import Broadcast
    from services.broadcast import deliveries as dl

    async def _do(ctx: AppContext) -> None:
        async with ctx.session_factory() as session:
            b = await session.get(Broadcast, broadcast_id)
            if b is None:
                raise fail(f"broadcast {broadcast_id} not found", 1)
            counts = await dl.counts(session, broadcast_id)
        tz = ctx.settings.program.tz

        def wita(t: datetime | None) -> str:
            return f"{t.astimezone(tz):%Y-%m-%d %H:%M:%S} WITA" if t else "-"

        typer.echo(f"broadcast {b.id}: {b.status}; by {b.created_by}; created {wita(b.created_at)}; "
                   f"scheduled {wita(b.scheduled_at)}; started {wita(b.started_at)}; finished {wita(b.finished_at)}")
        typer.echo(f"total {counts.total}: sent {counts.sent}, unreachable {counts.blocked}, failed {counts.failed}, "
                   f"pending {counts.pending}")

    run_async(_do)


@broadcast_app.command("failed")
def failed(
    broadcast_id: Annotated[int, typer.Argument(help="Broadcast number.")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
) -> None:
    """Write the people a broadcast did not reach (failed or unreachable) to a CSV file (no NIK, no phone)."""
    from db.models import Broadcast
    from services.audit import audit
    from services.broadcast import deliveries as dl

    async def _do(ctx: AppContext) -> int:
        n = 0
        async with ctx.session_factory() as session:
            if await session.get(Broadcast, broadcast_id) is None:
                raise fail(f"broadcast {broadcast_id} not found", 1)
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("w", newline="", encoding="utf-8-sig") as fh:
                writer = csv.writer(fh)
                writer.writerow(dl.FAILED_CSV_HEADER)
                async for rows in dl.failed_rows(session, broadcast_id):
                    writer.writerows(rows)
                    n += len(rows)
        async with ctx.session_factory.begin() as session:
            audit(session, ctx.clock, actor=f"cli:{getpass.getuser()}", action="broadcast.failed_list",
                  target=f"broadcast:{broadcast_id}", details={"rows": n})
        return n

    n = run_async(_do)
    typer.echo(f"{n} row(s) written to {out}")


__all__ = ["broadcast_app"]
