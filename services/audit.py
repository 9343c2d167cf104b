"""The audit log: who did what to which record, for UU PDP accountability."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditLog
from services.clock import Clock


def audit(
    session: AsyncSession,
    clock: Clock,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    actor_account_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    entry = AuditLog(
        at=clock.now(), actor=actor, actor_account_id=actor_account_id, action=action, target=target, details=details
    )
    session.add(entry)
    return entry
