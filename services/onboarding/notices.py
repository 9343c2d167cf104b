"""What the recipient's TKSK is told during onboarding, in the TKSK's own language.

Each notice is an outbox row (kind ``onboarding_notice``), written in the update's transaction and sent after
its commit (:mod:`services.outgoing.outbox`)."""

from __future__ import annotations

import html

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messenger import Messenger
from db.models import Case, OutboxMessage, Recipient, TelegramAccount
from services.cases.opening import tksk_account_of
from services.outgoing.outbox import enqueue
from services.outgoing.priority import Priority

KIND = "onboarding_notice"


class PhoneConfirmCb(CallbackData, prefix="obpm"):
    """The TKSK's answer on a phone-number confirmation (case id; the number is read from the database)."""

    ok: bool
    case_id: int


async def _send_to_tksk(  # type: ignore[no-untyped-def]
    messenger: Messenger, session: AsyncSession, recipient: Recipient, build
) -> OutboxMessage | None:
    _worker, account = await tksk_account_of(session, recipient.kecamatan_id)
    if account is None:
        return None
    with messenger.speaking_to(account):
        text, markup = build()
    return await enqueue(session, account=account, kind=KIND, text=text, reply_markup=markup,
                         priority=Priority.ROUTINE)


def _who(recipient: Recipient) -> str:
    return f"<b>{html.escape(recipient.name)}</b> ({html.escape(recipient.desa or '-')})"


async def notify_joined(
    messenger: Messenger, session: AsyncSession, recipient: Recipient, account: TelegramAccount
) -> OutboxMessage | None:
    def build():  # type: ignore[no-untyped-def]
        text = _("✅ {who} has joined the bot and finished registration.").format(who=_who(recipient))
        if account.is_proxy:
            text += "\n" + _("They use a relative's phone to reach the bot; the roster number stays as it was.")
        return text, None

    return await _send_to_tksk(messenger, session, recipient, build)


async def notify_withdrawn(messenger: Messenger, session: AsyncSession, recipient: Recipient) -> OutboxMessage | None:
    def build():  # type: ignore[no-untyped-def]
        return _(
            "⚠️ {who} has withdrawn their consent and left the bot. They get no more reminders. "
            "Please visit them if the program still needs to follow their business."
        ).format(who=_who(recipient)), None

    return await _send_to_tksk(messenger, session, recipient, build)


async def ask_phone_confirmation(
    messenger: Messenger, session: AsyncSession, recipient: Recipient, account: TelegramAccount, case: Case
) -> OutboxMessage | None:
    def build():  # type: ignore[no-untyped-def]
        text = _(
            "📱 {who} says their phone number has changed.\n"
            "On the roster: {old}\nShared in the bot: {new}\n"
            "Please check with them, then confirm (case {number})."
        ).format(who=_who(recipient), old=html.escape(recipient.phone or "-"),
                 new=html.escape(account.contact_phone or "-"), number=case.number)
        markup = InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text=_("✅ Use the new number"),
                                 callback_data=PhoneConfirmCb(ok=True, case_id=case.id).pack()),
            InlineKeyboardButton(text=_("❌ Keep the old number"),
                                 callback_data=PhoneConfirmCb(ok=False, case_id=case.id).pack()),
        ]])
        return text, markup

    return await _send_to_tksk(messenger, session, recipient, build)
