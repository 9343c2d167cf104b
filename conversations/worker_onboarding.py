"""TKSK, PSM and Dissos staff join from an invitation an admin created (``/undang`` or ``uep workers invite``).

```mermaid
stateDiagram-v2
    [*] --> Contact: worker invitation opened (claimed by this account)
    Contact --> Contact: someone else's contact / typed number (refused)
    Contact --> Linked: own contact, number matches FieldWorker.phone
    Contact --> [*]: number differs from the worker roster (refused; open the link again once fixed)
    [*] --> Linked: staff invitation opened (Staff row created with the invited name and role)
```

A field worker proves it is them by sharing their own contact, whose number must match the worker roster;
staff are invited by an admin who knows them, so opening the personal link is enough. The admin who created
the invitation is told when it is used.
"""

from __future__ import annotations

import html

from aiogram import Bot, F
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import KeyboardButton, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_
from bot.messenger import Messenger
from bot.routing import Router
from db.enums import InvitationKind, StaffRole
from db.models import FieldWorker, Invitation, TelegramAccount
from services.clock import Clock
from services.onboarding.linking import WorkerLinkOutcome, link_staff, link_worker
from services.outgoing.outbox import enqueue
from services.outgoing.priority import Priority

router = Router(name="worker_onboarding")

BTN_SHARE_PHONE = N_("📱 Send my phone number")
STAFF_ROLE_LABELS = {StaffRole.ADMIN: N_("Dinas Sosial admin"), StaffRole.CASEWORKER: N_("Dinas Sosial caseworker")}


class WorkerJoin(StatesGroup):
    contact = State()  # data: inv (invitation id), wid (worker id)


def _contact_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_(BTN_SHARE_PHONE), request_contact=True)]],
        resize_keyboard=True, is_persistent=True, input_field_placeholder=_("Press the button below"),
    )


async def _tell_inviter(session: AsyncSession, messenger: Messenger, invitation: Invitation, who: str) -> None:
    if invitation.created_by_account_id is None:
        return
    inviter = await session.get(TelegramAccount, invitation.created_by_account_id)
    if inviter is None:
        return
    with messenger.speaking_to(inviter):
        text = _("✅ {who} opened your invitation and is now registered.").format(who=who)
    await enqueue(session, account=inviter, kind="invitation_used", text=text, priority=Priority.ROUTINE)


async def begin_from_invitation(
    message: Message, state: FSMContext, account: TelegramAccount, invitation: Invitation, session: AsyncSession,
    clock: Clock, bot: Bot, messenger: Messenger,
) -> None:
    await state.clear()
    if invitation.kind == InvitationKind.STAFF:
        staff = await link_staff(session, clock, account=account, invitation=invitation)
        if staff is None:
            await message.answer(_("This Telegram account is already registered for another role, so this "
                                   "invitation cannot be used here. Please ask the admin."))
            return
        role_label = _(STAFF_ROLE_LABELS[StaffRole(staff.role)])
        await message.answer(
            _("Welcome, {name}! You are now registered as {role}. Send /help to see what you can do.").format(
                name=html.escape(staff.name), role=role_label),
            reply_markup=ReplyKeyboardRemove(),
        )
        await _tell_inviter(session, messenger, invitation, f"{html.escape(staff.name)} ({role_label})")
        return
    worker = await session.get(FieldWorker, invitation.worker_id)
    if worker is None or not worker.active:
        await message.answer(_("This invitation link is not valid any more. Please ask the admin for a new one."))
        return
    if account.worker_id == worker.id:
        await message.answer(_("You are already registered. Send /help to see what you can do."))
        return
    if account.recipient_id is not None or account.worker_id is not None or account.staff_id is not None:
        await message.answer(_("This Telegram account is already registered for another role, so this "
                               "invitation cannot be used here. Please ask the admin."))
        return
    await state.set_state(WorkerJoin.contact)
    await state.set_data({"inv": invitation.id, "wid": worker.id})
    await message.answer(
        _("Hello, {name}! You are invited as {role} of Kecamatan {kecamatan}.\n"
          "To confirm it is you, press <b>Send my phone number</b> below. It must be the number Dinas Sosial "
          "has for you.").format(name=html.escape(worker.name), role=worker.role.upper(),
                                 kecamatan=html.escape(worker.kecamatan.name)),
        reply_markup=_contact_keyboard(),
    )


@router.message(StateFilter(WorkerJoin.contact), F.contact)
async def worker_contact(
    message: Message, state: FSMContext, account: TelegramAccount, session: AsyncSession, clock: Clock,
    messenger: Messenger,
) -> None:
    contact = message.contact
    assert contact is not None and message.from_user is not None
    if contact.user_id != message.from_user.id:
        await message.answer(_("That is someone else's contact. I can only accept your own number: press the "
                               "button <b>Send my phone number</b> below."), reply_markup=_contact_keyboard())
        return
    data = await state.get_data()
    worker = await session.get(FieldWorker, data.get("wid")) if isinstance(data.get("wid"), int) else None
    invitation = await session.get(Invitation, data.get("inv")) if isinstance(data.get("inv"), int) else None
    await state.clear()
    if worker is None or invitation is None or invitation.used_by_account_id != account.id:
        await message.answer(_("This invitation link is not valid any more. Please ask the admin for a new one."),
                             reply_markup=ReplyKeyboardRemove())
        return
    outcome = await link_worker(session, clock, account=account, worker=worker, shared_raw=contact.phone_number)
    texts = {
        WorkerLinkOutcome.PHONE_MISMATCH: _(
            "This number does not match the number Dinas Sosial has for you, so I cannot register you. "
            "Please ask the admin to check your number on the worker list, then open the link again."),
        WorkerLinkOutcome.NO_ROSTER_PHONE: _(
            "Dinas Sosial has no phone number for you on the worker list yet, so I cannot confirm it is you. "
            "Please ask the admin to add it, then open the link again."),
        WorkerLinkOutcome.WORKER_TAKEN: _(
            "This worker is already registered with another Telegram account. Please contact the admin."),
        WorkerLinkOutcome.ACCOUNT_TAKEN: _(
            "This Telegram account is already registered for another role, so this invitation cannot be used "
            "here. Please ask the admin."),
        WorkerLinkOutcome.INACTIVE: _("This invitation link is not valid any more. Please ask the admin for a "
                                      "new one."),
    }
    if outcome is not WorkerLinkOutcome.LINKED:
        await message.answer(texts[outcome], reply_markup=ReplyKeyboardRemove())
        return
    await message.answer(
        _("✅ You are registered as {role} of Kecamatan {kecamatan}.\n"
          "/penerima shows the recipients of your kecamatan, their progress and invitation links. "
          "/help shows everything you can do.").format(role=worker.role.upper(),
                                                       kecamatan=html.escape(worker.kecamatan.name)),
        reply_markup=ReplyKeyboardRemove(),
    )
    await _tell_inviter(session, messenger, invitation,
                        f"{html.escape(worker.name)} ({worker.role.upper()}, {html.escape(worker.kecamatan.name)})")


@router.message(StateFilter(WorkerJoin.contact), ~F.text.startswith("/"))
async def worker_contact_needed(message: Message) -> None:
    await message.answer(_("Please do not type the number. Press the button <b>Send my phone number</b> below: "
                           "that way we know the number really belongs to this phone."),
                         reply_markup=_contact_keyboard())
