"""``uep workers invite NIK [--qr FILE]``: a personal invitation link for a TKSK or PSM on the worker list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import app, fail, run_async
from bot.context import AppContext

workers_app = typer.Typer(help="TKSK and PSM accounts.", no_args_is_help=True)
app.add_typer(workers_app, name="workers")


@workers_app.command("invite")
def invite(
    nik: Annotated[str, typer.Argument(help="The worker's NIK (16 digits), as on the worker list.")],
    qr: Annotated[Path | None, typer.Option("--qr", help="Also write the link as a QR code PNG to this file.")] = None,
    bot_username: Annotated[
        str | None, typer.Option("--bot-username", help="The bot's @username (default: asked from Telegram).")
    ] = None,
) -> None:
    """Create a single-use invitation (valid onboarding.invitation_ttl_hours) and print its link."""
    from sqlalchemy import select

    from db.enums import InvitationKind
    from db.models import FieldWorker, TelegramAccount
    from services.crypto import mask_nik
    from services.invitations import create_invitation
    from services.onboarding.identity import parse_nik

    clean = parse_nik(nik)
    if clean is None:
        raise fail("NIK: must be 16 digits")

    async def _username(ctx: AppContext) -> str:
        if bot_username:
            return bot_username.lstrip("@")
        from bot.factory import create_bot

        try:
            bot = create_bot(ctx)
        except Exception as exc:  # no token configured
            raise fail(f"{exc}; or pass --bot-username") from None
        try:
            me = await bot.get_me()
        except Exception as exc:
            raise fail(f"cannot ask Telegram for the bot's username ({type(exc).__name__}); pass --bot-username")\
                from None
        finally:
            await bot.session.close()
        return me.username or ""

    async def _do(ctx: AppContext) -> tuple[str, str]:
        username = await _username(ctx)
        async with ctx.session_factory.begin() as session:
            worker = await session.scalar(
                select(FieldWorker).where(FieldWorker.nik_hash == ctx.cipher.blind_index(clean))
            )
            if worker is None or not worker.active:
                raise fail(f"no active TKSK/PSM with NIK {mask_nik(clean)} on the worker list", code=1)
            if await session.scalar(select(TelegramAccount.id).where(TelegramAccount.worker_id == worker.id)):
                raise fail(f"{worker.name} is already registered in the bot", code=1)
            new = await create_invitation(session, settings=ctx.settings, clock=ctx.clock,
                                          kind=InvitationKind.WORKER, worker=worker, actor="cli")
            expires = new.invitation.expires_at.astimezone(ctx.settings.program.tz).strftime("%Y-%m-%d %H:%M")
            who = f"{worker.name} ({worker.role.upper()}, {worker.kecamatan.name}), valid until {expires} WITA"
            return new.link(username), who

    link, who = run_async(_do)
    if qr is not None:
        from services.invitations import qr_png

        try:
            qr.write_bytes(qr_png(link))
        except OSError as exc:
            raise fail(f"--qr: cannot write {qr}: {exc.strerror}") from None
    typer.echo(f"Invitation for {who}:")
    typer.echo(link)
    if qr is not None:
        typer.echo(f"QR code written to {qr}")
