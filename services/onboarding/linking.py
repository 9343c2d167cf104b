"""Linking Telegram accounts to recipients, field workers and staff, and the rules that guard it.

- One Telegram account per recipient and one recipient per account; an account linked to a field worker or
  staff member cannot become a recipient and the other way round (``TelegramAccount`` unique keys back this
  up in the database).
- A recipient already linked to another account is refused and their TKSK gets an ``ACCOUNT_CONFLICT`` case.
- Phone check: only the sender's own contact counts. The shared number is kept on the account
  (``contact_phone``). Same as the roster: done. No roster number: the shared one becomes the recipient's
  number. Different: the person says whether it is their new number (a ``PHONE_MISMATCH`` case; the TKSK
  confirms with a button and only then is ``Recipient.phone`` replaced) or a relative's phone they use to
  reach us (``is_proxy``: the account is the recipient's contact channel, the roster number stays, the TKSK is
  told in the join notice).
- A field worker's shared number must match the worker roster (``FieldWorker.phone``).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.enums import CaseKind, OnboardingState, StaffRole
from db.models import Case, FieldWorker, Invitation, Recipient, Staff, TelegramAccount
from services.audit import audit
from services.cases.opening import OpenedCase, open_case
from services.clock import Clock
from services.phone import InvalidPhone, normalize_phone, same_phone

# States in which a recipient has not (yet) agreed to join: identification may (re)start.
NOT_LINKABLE_YET = (OnboardingState.NOT_JOINED, OnboardingState.CONSENT, OnboardingState.DECLINED)


class LinkProblem(StrEnum):
    ACCOUNT_TAKEN = "account_taken"        # this account already belongs to another person or role
    RECIPIENT_TAKEN = "recipient_taken"    # the recipient is already linked to another account
    WORKER_TAKEN = "worker_taken"
    WORKER_INACTIVE = "worker_inactive"


def recipient_link_problem(account: TelegramAccount, recipient: Recipient, holder: TelegramAccount | None) -> (
    LinkProblem | None
):
    """Why ``account`` may not become ``recipient``'s account; None when it may (or already is)."""
    if account.recipient_id == recipient.id:
        return None
    if account.recipient_id is not None or account.worker_id is not None or account.staff_id is not None:
        return LinkProblem.ACCOUNT_TAKEN
    if holder is not None and holder.id != account.id:
        return LinkProblem.RECIPIENT_TAKEN
    return None


async def account_of_recipient(session: AsyncSession, recipient_id: int) -> TelegramAccount | None:
    return await session.scalar(select(TelegramAccount).where(TelegramAccount.recipient_id == recipient_id))


async def report_account_conflict(
    session: AsyncSession, *, recipient: Recipient, settings: Settings, clock: Clock, via: str
) -> OpenedCase:
    """Someone else tried to join as a recipient who already has an account: the TKSK must look into it."""
    return await open_case(
        session, recipient=recipient, kind=CaseKind.ACCOUNT_CONFLICT, source="onboarding",
        description=(
            "Akun Telegram lain mencoba bergabung sebagai penerima ini "
            f"(lewat {'tautan undangan' if via == 'invite' else 'NIK dan tanggal lahir'}). "
            "Penerima sudah terhubung dengan akun lain. Mohon pastikan dengan penerima."
        ),
        settings=settings, clock=clock,
    )


def link_recipient(account: TelegramAccount, recipient: Recipient) -> None:
    account.recipient = recipient
    account.recipient_id = recipient.id


def contact_phone(raw: str) -> str:
    """A shared contact's number as E.164: Indonesian numbers normalised, others kept as +digits."""
    try:
        normalized = normalize_phone(raw)
    except InvalidPhone:
        normalized = None
    if normalized:
        return normalized
    digits = "".join(ch for ch in raw if ch.isdigit())
    return ("+" + digits)[:20]


class PhoneOutcome(StrEnum):
    MATCH = "match"          # same as the roster
    STORED = "stored"        # the roster had no number; the shared one is now the recipient's
    MISMATCH = "mismatch"    # differs from the roster: ask whose phone it is


def check_recipient_phone(account: TelegramAccount, recipient: Recipient, shared_raw: str) -> PhoneOutcome:
    phone = contact_phone(shared_raw)
    account.contact_phone = phone
    if recipient.phone is None:
        recipient.phone = phone
        return PhoneOutcome.STORED
    if same_phone(recipient.phone, phone):
        return PhoneOutcome.MATCH
    return PhoneOutcome.MISMATCH


async def report_new_number(
    session: AsyncSession, *, account: TelegramAccount, recipient: Recipient, settings: Settings, clock: Clock
) -> OpenedCase:
    """The person says the shared number is their new one: the TKSK confirms before the roster changes."""
    return await open_case(
        session, recipient=recipient, kind=CaseKind.PHONE_MISMATCH, source="onboarding",
        description=(
            f"Nomor HP di daftar: {recipient.phone}. Nomor yang dibagikan penerima: {account.contact_phone}. "
            "Penerima menyatakan ini nomor barunya. Mohon konfirmasi."
        ),
        actor_account_id=account.id, settings=settings, clock=clock,
    )


def mark_proxy(account: TelegramAccount) -> None:
    """The account belongs to a relative whose phone the recipient uses; the roster number stays."""
    account.is_proxy = True


async def settle_phone_case(
    session: AsyncSession, *, case_id: int, confirmed: bool, account: TelegramAccount, settings: Settings,
    clock: Clock,
) -> str | None:
    """The TKSK's answer on a PHONE_MISMATCH case, resolved through the case state machine (which checks that
    the account may resolve it: the TKSK of the case's kecamatan, or Dissos staff). Raises
    ``CaseActionRefused`` and changes nothing otherwise. Returns the number now on the roster (None: unchanged).
    """
    from services.cases.transitions import Action, Actor, CaseActionRefused, Refusal, apply

    case = await session.get(Case, case_id)
    if case is None or case.kind != CaseKind.PHONE_MISMATCH:
        raise CaseActionRefused(Refusal.NOT_FOUND)
    holder = await account_of_recipient(session, case.recipient_id) if case.recipient_id else None
    new_phone = holder.contact_phone if confirmed and holder is not None else None
    resolution = (
        "Nomor baru dikonfirmasi TKSK dan dicatat di daftar." if new_phone
        else "TKSK tidak mengonfirmasi nomor baru; nomor di daftar tetap."
    )
    await apply(session, case.id, Action.RESOLVE, Actor.of(account), now=clock.now(), settings=settings,
                note=resolution)
    recipient = case.recipient
    if new_phone and recipient is not None:
        recipient.phone = new_phone
        recipient.updated_at = clock.now()
    audit(session, clock, actor=f"account:{account.id}", actor_account_id=account.id,
          action="recipient.phone_confirmed" if new_phone else "recipient.phone_rejected",
          target=f"recipient:{case.recipient_id}", details={"case_id": case.id})
    await session.flush()
    return new_phone


class WorkerLinkOutcome(StrEnum):
    LINKED = "linked"
    PHONE_MISMATCH = "phone_mismatch"
    NO_ROSTER_PHONE = "no_roster_phone"
    WORKER_TAKEN = "worker_taken"
    ACCOUNT_TAKEN = "account_taken"
    INACTIVE = "inactive"


async def link_worker(
    session: AsyncSession, clock: Clock, *, account: TelegramAccount, worker: FieldWorker, shared_raw: str
) -> WorkerLinkOutcome:
    """Link a TKSK/PSM whose own shared number matches the worker roster."""
    if account.worker_id == worker.id:
        return WorkerLinkOutcome.LINKED
    if not worker.active:
        return WorkerLinkOutcome.INACTIVE
    if account.recipient_id is not None or account.worker_id is not None or account.staff_id is not None:
        return WorkerLinkOutcome.ACCOUNT_TAKEN
    holder = await session.scalar(select(TelegramAccount).where(TelegramAccount.worker_id == worker.id))
    if holder is not None:
        return WorkerLinkOutcome.WORKER_TAKEN
    if not worker.phone:
        return WorkerLinkOutcome.NO_ROSTER_PHONE
    phone = contact_phone(shared_raw)
    if not same_phone(worker.phone, phone):
        audit(session, clock, actor=f"account:{account.id}", actor_account_id=account.id,
              action="worker.link_refused", target=f"worker:{worker.id}", details={"reason": "phone_mismatch"})
        return WorkerLinkOutcome.PHONE_MISMATCH
    account.contact_phone = phone
    account.worker = worker
    account.worker_id = worker.id
    audit(session, clock, actor=f"account:{account.id}", actor_account_id=account.id, action="worker.linked",
          target=f"worker:{worker.id}")
    await session.flush()
    return WorkerLinkOutcome.LINKED


async def link_staff(
    session: AsyncSession, clock: Clock, *, account: TelegramAccount, invitation: Invitation
) -> Staff | None:
    """Create the invited staff member and link the account; None when the account already has another role."""
    if account.staff_id is not None and invitation.used_by_account_id == account.id and account.staff is not None:
        return account.staff  # the link was opened again by the person it already made staff
    if account.recipient_id is not None or account.worker_id is not None or account.staff_id is not None:
        return None
    staff = Staff(name=invitation.staff_name or "", role=StaffRole(invitation.staff_role or StaffRole.CASEWORKER),
                  active=True, created_at=clock.now())
    session.add(staff)
    await session.flush()
    account.staff = staff
    account.staff_id = staff.id
    audit(session, clock, actor=f"account:{account.id}", actor_account_id=account.id, action="staff.linked",
          target=f"staff:{staff.id}", details={"role": staff.role, "invitation_id": invitation.id})
    await session.flush()
    return staff
