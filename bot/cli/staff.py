"""``uep staff add``: register a Dissos admin or caseworker by Telegram id."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from bot.cli.app import app, run_async
from bot.context import AppContext

staff_app = typer.Typer(help="Dinas Sosial staff accounts.", no_args_is_help=True)
app.add_typer(staff_app, name="staff")


class _RoleChoice(StrEnum):
    admin = "admin"
    caseworker = "caseworker"


@staff_app.command("add")
def add(
    telegram_id: Annotated[int, typer.Option("--telegram-id", help="The person's numeric Telegram user id.")],
    name: Annotated[str, typer.Option("--name", help="Full name as shown to colleagues.")],
    role: Annotated[_RoleChoice, typer.Option("--role", help="admin or caseworker.")],
) -> None:
    """Create (or update) a staff member and link their Telegram account."""
    from services.staff import add_staff

    async def _do(ctx: AppContext) -> str:
        async with ctx.session_factory.begin() as session:
            staff = await add_staff(session, ctx.clock, telegram_id=telegram_id, name=name, role=role.value)
            return f"staff #{staff.id} {staff.name} ({staff.role}) linked to Telegram id {telegram_id}"

    typer.echo(run_async(_do))
