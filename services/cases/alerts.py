"""Telling people about cases as things happen (inside the update that caused them).

* a new case: the recipient's TKSK at once, with the voice note and photos and the action buttons; Dissos
  caseworkers too when the case is urgent or the TKSK is not reachable in the bot;
* a report added to an open case, a reopened case: the people handling it;
* Dissos asks for an update, a note, a reassignment: the other side.

Deadline alerts (escalation, reminders) are queued by the scan instead: see :mod:`services.cases.deadlines`.
"""

from __future__ import annotations

import html

from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.messenger import Messenger, SendResult
from db.enums import Urgency
from db.models import Case, TelegramAccount
from services.cases.notify import owners, send_card, staff_accounts, worker_account
from services.cases.opening import tksk_account_of


def _settings(settings: Settings | None) -> Settings:
    if settings is not None:
        return settings
    from bot.config import load_settings

    return load_settings()


async def alert_new_case(
    messenger: Messenger,
    session: AsyncSession,
    case: Case,
    *,
    settings: Settings | None = None,
    photo_file_ids: list[str] | None = None,
) -> SendResult | None:
    """Alert the TKSK of the case's kecamatan (card, buttons, voice note, photos); None when that TKSK has not
    joined the bot. Caseworkers are alerted as well when the case is urgent or the TKSK cannot be reached."""
    settings = _settings(settings)
    now = messenger.clock.now()
    _worker, account = await tksk_account_of(session, case.kecamatan_id)
    result: SendResult | None = None
    if account is not None and account.blocked_at is None:
        with messenger.speaking_to(account):
            header = _("🔔 New problem reported in your kecamatan. Please take it or pass it to Dissos.")
        result = await send_card(
            messenger, session, account, case, now=now, settings=settings, header=header, with_media=True,
            extra_photos=photo_file_ids,
        )
    tksk_reached = result is not None and result.ok
    if case.urgency == Urgency.HIGH or not tksk_reached:
        for staff in await staff_accounts(session):
            with messenger.speaking_to(staff):
                header = (
                    _("🔴 Urgent problem reported.") if tksk_reached
                    else _("🔔 New problem reported; the TKSK of this kecamatan is not reachable in the bot.")
                )
            await send_card(messenger, session, staff, case, now=now, settings=settings, header=header,
                            with_media=True, extra_photos=photo_file_ids)
    return result


async def alert_added_report(
    messenger: Messenger,
    session: AsyncSession,
    case: Case,
    *,
    settings: Settings,
    note: str | None,
    voice_file_id: str | None,
    photo_file_ids: list[str],
) -> None:
    """The recipient added to their open case: the people handling it get the addition."""
    for account in await owners(session, case):
        with messenger.speaking_to(account):
            header = _("➕ The recipient added to this case:")
            if note:
                header += "\n" + html.escape(note[:700])
        await send_card(
            messenger, session, account, case, now=messenger.clock.now(), settings=settings, header=header,
            extra_voice=[voice_file_id] if voice_file_id else [], extra_photos=photo_file_ids,
        )


async def alert_reopened(messenger: Messenger, session: AsyncSession, case: Case, *, settings: Settings) -> None:
    """A recipient says the problem is still there: the kecamatan's TKSK and any Dissos owner."""
    targets: dict[int, TelegramAccount] = {}
    _worker, tksk = await tksk_account_of(session, case.kecamatan_id)
    if tksk is not None:
        targets[tksk.id] = tksk
    if case.owner_staff_id is not None:
        for account in await staff_accounts(session, case.owner_staff_id):
            targets[account.id] = account
    if not targets:
        targets = {a.id: a for a in await staff_accounts(session)}
    for account in targets.values():
        with messenger.speaking_to(account):
            header = _("⚠️ Reopened by the recipient: the problem is still there.")
        await send_card(messenger, session, account, case, now=messenger.clock.now(), settings=settings,
                        header=header)


async def alert_update_requested(
    messenger: Messenger, session: AsyncSession, case: Case, *, settings: Settings, by: str
) -> bool:
    """Dissos asks the TKSK for an update; False when no TKSK of the kecamatan is in the bot."""
    account = await worker_account(session, case.owner_worker_id)
    if account is None:
        _worker, account = await tksk_account_of(session, case.kecamatan_id)
    if account is None:
        return False
    with messenger.speaking_to(account):
        header = _("❓ {name} (Dinas Sosial) asks for an update on this case. Press \"Add a note\" to answer.").format(
            name=html.escape(by))
    result = await send_card(messenger, session, account, case, now=messenger.clock.now(), settings=settings,
                             header=header)
    return result.ok


async def alert_note(
    messenger: Messenger,
    session: AsyncSession,
    case: Case,
    *,
    settings: Settings,
    by: str,
    note: str,
    skip_account_id: int | None,
) -> None:
    """A note on a case reaches the other side: a TKSK's note goes to the Dissos owner (or every caseworker
    when Dissos holds it unclaimed), a caseworker's note to the TKSK handling it."""
    targets: list[TelegramAccount] = []
    if case.owner_staff_id is not None:
        targets += await staff_accounts(session, case.owner_staff_id)
    elif case.with_dissos:
        targets += await staff_accounts(session)
    worker = await worker_account(session, case.owner_worker_id)
    if worker is not None:
        targets.append(worker)
    seen: set[int] = set()
    for account in targets:
        if account.id in seen or account.id == skip_account_id:
            continue
        seen.add(account.id)
        with messenger.speaking_to(account):
            header = _("📝 Note from {name}:").format(name=html.escape(by)) + "\n" + html.escape(note[:1000])
        await send_card(messenger, session, account, case, now=messenger.clock.now(), settings=settings,
                        header=header)


async def alert_reassigned(
    messenger: Messenger, session: AsyncSession, case: Case, *, settings: Settings, by: str
) -> None:
    for account in await staff_accounts(session, case.owner_staff_id):
        with messenger.speaking_to(account):
            header = _("🔀 {name} assigned this case to you.").format(name=html.escape(by))
        await send_card(messenger, session, account, case, now=messenger.clock.now(), settings=settings,
                        header=header, with_media=True)


async def alert_passed_to_dissos(
    messenger: Messenger, session: AsyncSession, case: Case, *, settings: Settings, by: str
) -> None:
    """A TKSK passed the case to Dissos: every caseworker sees it, with the media, ready to claim."""
    for account in await staff_accounts(session):
        with messenger.speaking_to(account):
            header = _("⏫ {name} passed this case to Dinas Sosial.").format(name=html.escape(by))
        await send_card(messenger, session, account, case, now=messenger.clock.now(), settings=settings,
                        header=header, with_media=True)
