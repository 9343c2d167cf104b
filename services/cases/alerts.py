"""Telling people about cases: the recipient's TKSK at once when a case opens."""

from __future__ import annotations

import html

from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messenger import Messenger, SendResult
from db.models import Case
from services.cases.opening import tksk_account_of
from services.i18n_labels import case_kind_label


async def alert_new_case(messenger: Messenger, session: AsyncSession, case: Case) -> SendResult | None:
    """Send the TKSK of the case's kecamatan a short alert; None when that TKSK has not joined the bot."""
    _worker, account = await tksk_account_of(session, case.kecamatan_id)
    if account is None:
        return None
    recipient = case.recipient
    with messenger.speaking_to(account):
        text = _("🔔 New case {number}: {kind}\nRecipient: {name}, {desa}").format(
            number=case.number,
            kind=case_kind_label(case.kind),
            name=html.escape(recipient.name) if recipient else "-",
            desa=html.escape(recipient.desa) if recipient else "-",
        )
        if case.description:
            text += "\n" + html.escape(case.description[:500])
        return await messenger.send(account, text)
