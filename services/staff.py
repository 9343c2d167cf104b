"""Dissos staff accounts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import StaffRole
from db.models import Staff, TelegramAccount
from services.audit import audit
from services.clock import Clock


async def add_staff(session: AsyncSession, clock: Clock, *, telegram_id: int, name: str, role: str) -> Staff:
    """Create a staff member linked to ``telegram_id``, or update the one already linked there."""
    role = StaffRole(role)
    name = " ".join(name.split())
    if not name:
        raise ValueError("name must not be empty")
    now = clock.now()
    account = await session.scalar(select(TelegramAccount).where(TelegramAccount.telegram_user_id == telegram_id))
    if account is None:
        account = TelegramAccount(telegram_user_id=telegram_id, chat_id=telegram_id, created_at=now)
        session.add(account)
    if account.recipient_id is not None or account.worker_id is not None:
        raise ValueError("this Telegram account already belongs to a recipient or field worker")
    if account.staff is not None:
        staff = account.staff
        staff.name, staff.role, staff.active = name, role, True
    else:
        staff = Staff(name=name, role=role, active=True, created_at=now)
        session.add(staff)
        await session.flush()
        account.staff_id = staff.id
        account.staff = staff
    audit(session, clock, actor="cli", action="staff.add", target=f"staff:{staff.id}", details={"role": role})
    await session.flush()
    return staff
