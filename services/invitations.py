"""Personal invitation links: ``https://t.me/<bot>?start=<token>``.

A token is unguessable (``services.crypto.new_token``, 144 bits) and stored only as its SHA-256
(``Invitation.token_hash``), so a copy of the database yields no working link. An invitation is single-use
and expires after ``onboarding.invitation_ttl_hours``. It is *claimed* by the first Telegram account that
opens it (``used_at`` / ``used_by_account_id``, one atomic UPDATE, so two people opening the same link at once
cannot both get it); the same account may open it again to resume, anyone else is refused. A new invitation
for the same person retires the older unused ones, so only the latest link given out works.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.enums import InvitationKind, StaffRole
from db.models import FieldWorker, Invitation, Recipient
from services.audit import audit
from services.clock import Clock
from services.crypto import new_token, token_digest

# Deep-link payloads allow A-Z, a-z, 0-9, _ and - (at most 64 characters).
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class InvitationProblem(StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


@dataclass(slots=True)
class NewInvitation:
    invitation: Invitation
    token: str

    def link(self, bot_username: str) -> str:
        return invite_link(bot_username, self.token)


@dataclass(slots=True)
class ClaimResult:
    invitation: Invitation | None
    problem: InvitationProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def invite_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={token}"


def qr_png(link: str) -> bytes:
    """The link as a QR code (PNG), large enough to scan from another phone's screen or a printout."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(link)
    qr.make(fit=True)
    image = qr.make_image(fill_color="black", back_color="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def create_invitation(
    session: AsyncSession,
    *,
    settings: Settings,
    clock: Clock,
    kind: InvitationKind,
    recipient: Recipient | None = None,
    worker: FieldWorker | None = None,
    staff_role: StaffRole | None = None,
    staff_name: str | None = None,
    created_by_account_id: int | None = None,
    actor: str = "system",
) -> NewInvitation:
    """A fresh invitation; older unused invitations for the same recipient or worker stop working."""
    kind = InvitationKind(kind)
    if kind is InvitationKind.RECIPIENT and recipient is None:
        raise ValueError("a recipient invitation needs the recipient")
    if kind is InvitationKind.WORKER and worker is None:
        raise ValueError("a worker invitation needs the worker")
    if kind is InvitationKind.STAFF:
        staff_name = " ".join((staff_name or "").split())
        if staff_role is None or not staff_name:
            raise ValueError("a staff invitation needs a role and a name")
        staff_role = StaffRole(staff_role)
    now = clock.now()
    if recipient is not None or worker is not None:
        column = Invitation.recipient_id if recipient is not None else Invitation.worker_id
        target_id = recipient.id if recipient is not None else worker.id  # type: ignore[union-attr]
        await session.execute(
            update(Invitation)
            .where(column == target_id, Invitation.used_at.is_(None), Invitation.expires_at > now)
            .values(expires_at=now)
        )
    token = new_token()
    invitation = Invitation(
        token_hash=token_digest(token), kind=kind,
        recipient_id=recipient.id if recipient else None, worker_id=worker.id if worker else None,
        staff_role=staff_role if kind is InvitationKind.STAFF else None,
        staff_name=staff_name if kind is InvitationKind.STAFF else None,
        created_by_account_id=created_by_account_id, created_at=now,
        expires_at=now + timedelta(hours=settings.onboarding.invitation_ttl_hours),
    )
    session.add(invitation)
    await session.flush()
    target = (
        f"recipient:{recipient.id}" if recipient else f"worker:{worker.id}" if worker else f"staff_role:{staff_role}"
    )
    audit(session, clock, actor=actor, actor_account_id=created_by_account_id, action="invitation.create",
          target=target, details={"invitation_id": invitation.id, "kind": kind.value})
    return NewInvitation(invitation, token)


async def find_invitation(session: AsyncSession, token: str) -> Invitation | None:
    if not TOKEN_RE.match(token):
        return None
    return await session.scalar(select(Invitation).where(Invitation.token_hash == token_digest(token)))


async def claim_invitation(session: AsyncSession, token: str, *, account_id: int, now: datetime) -> ClaimResult:
    """Claim the invitation for this account, or say why not. Re-opening by the claiming account is allowed."""
    invitation = await find_invitation(session, token)
    if invitation is None:
        return ClaimResult(None, InvitationProblem.UNKNOWN)
    if invitation.used_at is not None:
        if invitation.used_by_account_id == account_id:
            return ClaimResult(invitation)
        return ClaimResult(invitation, InvitationProblem.USED)
    if invitation.expires_at <= now:
        return ClaimResult(invitation, InvitationProblem.EXPIRED)
    result = await session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None))
        .values(used_at=now, used_by_account_id=account_id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # someone else claimed it a moment ago
        return ClaimResult(invitation, InvitationProblem.USED)
    await session.refresh(invitation)
    return ClaimResult(invitation)


async def pending_recipient_invitation(session: AsyncSession, recipient_id: int, now: datetime) -> Invitation | None:
    """The latest invitation for a recipient that can still be used (for the TKSK's overview)."""
    return await session.scalar(
        select(Invitation)
        .where(Invitation.recipient_id == recipient_id, Invitation.used_at.is_(None), Invitation.expires_at > now)
        .order_by(Invitation.id.desc())
        .limit(1)
    )
