"""Who is writing: the Telegram account and the role it has in the program."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import Role, StaffRole, WorkerRole
from db.models import TelegramAccount
from services.clock import Clock

# last_seen_at is refreshed at most this often, so reading an update does not mean writing a row.
# Fine enough for checkin.quiet_hours_grace_minutes (services/schedule.py recently_active).
_SEEN_RESOLUTION = timedelta(minutes=5)


def role_of(account: TelegramAccount | None) -> Role:
    if account is None:
        return Role.UNKNOWN
    if account.staff is not None and account.staff.active:
        return Role.ADMIN if account.staff.role == StaffRole.ADMIN else Role.CASEWORKER
    if account.worker is not None and account.worker.active:
        return Role.TKSK if account.worker.role == WorkerRole.TKSK else Role.PSM
    if account.recipient is not None:
        return Role.RECIPIENT
    return Role.UNKNOWN


async def get_account(session: AsyncSession, telegram_user_id: int) -> TelegramAccount | None:
    return await session.scalar(select(TelegramAccount).where(TelegramAccount.telegram_user_id == telegram_user_id))


async def touch_account(
    session: AsyncSession,
    clock: Clock,
    *,
    telegram_user_id: int,
    chat_id: int,
    first_name: str,
    known: TelegramAccount | None = None,
) -> TelegramAccount:
    """Find the account of this Telegram user (``known`` when it is already in the session), creating it at
    first contact; note when they were last seen and that they can be reached."""
    now = clock.now()
    account = known if known is not None else await get_account(session, telegram_user_id)
    if account is None:
        account = TelegramAccount(
            telegram_user_id=telegram_user_id, chat_id=chat_id, first_name=first_name[:200],
            created_at=now, last_seen_at=now,
        )
        session.add(account)
        await session.flush()
        return account
    if account.last_seen_at is None or now - account.last_seen_at > _SEEN_RESOLUTION:
        account.last_seen_at = now
    if account.blocked_at is not None:
        account.blocked_at = None  # they wrote to us, so they no longer block the bot
    if account.chat_id != chat_id:
        account.chat_id = chat_id
    return account
