"""Telling people about cases as things happen, in the transaction of the update that caused them.

Every alert is a case card queued in the outbox (:func:`services.cases.notify.queue_card`): it is sent after
the update commits, retried if Telegram fails, and never undoes the report.

* a new case: the recipient's TKSK, with the voice note and photos and the action buttons; Dissos
  caseworkers too when the case is urgent or the TKSK is not reachable in the bot (not joined, or known to
  have blocked it). :class:`Told` says who, so the recipient is told the truth;
* a report added to an open case, a reopened case: the people handling it;
* Dissos asks for an update, a note, a reassignment: the other side.

Deadline alerts (escalation, reminders) are queued by the scan instead: see :mod:`services.cases.deadlines`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.messenger import Messenger
from db.enums import Urgency
from db.models import Case, FieldWorker, TelegramAccount
from services.cases.notify import owners, queue_card, staff_accounts, worker_account
from services.cases.opening import tksk_account_of
from services.outgoing.priority import Priority


def _settings(settings: Settings | None) -> Settings:
    if settings is not None:
        return settings
    from bot.config import load_settings

    return load_settings()


def reachable(account: TelegramAccount | None) -> bool:
    """In the bot and not known to have blocked it."""
    return account is not None and account.blocked_at is None


@dataclass(slots=True)
class Told:
    """Who was alerted about a new case, as known when the alert was written (in the same transaction)."""

    tksk: FieldWorker | None  # the TKSK, when their alert was queued
    dissos: bool              # caseworkers were alerted too


async def alert_new_case(
    messenger: Messenger,
    session: AsyncSession,
    case: Case,
    *,
    settings: Settings | None = None,
    photo_file_ids: list[str] | None = None,
) -> Told:
    """Queue the alert for the TKSK of the case's kecamatan (card, buttons, voice note, photos) when they are
    reachable; caseworkers as well when the case is urgent or the TKSK is not reachable. Should the TKSK's
    alert fail for good after the commit (blocked the bot since), the caseworkers get it then."""
    settings = _settings(settings)
    now = messenger.clock.now()
    await session.flush()
    worker, account = await tksk_account_of(session, case.kecamatan_id)
    tksk_reached = reachable(account)
    if tksk_reached:
        assert account is not None
        with messenger.speaking_to(account):
            header = _("🔔 New problem reported in your kecamatan. Please take it or pass it to Dinas Sosial.")
        await queue_card(session, messenger, account, case, now=now, settings=settings, header=header, what="new",
                         event_id=0, with_media=True, extra_photos=photo_file_ids, to_tksk=True)
    dissos = case.urgency == Urgency.HIGH or not tksk_reached
    if dissos:
        for staff in await staff_accounts(session):
            with messenger.speaking_to(staff):
                header = (
                    _("🔴 Urgent problem reported.") if tksk_reached
                    else _("🔔 New problem reported; the TKSK of this kecamatan is not reachable in the bot.")
                )
            await queue_card(session, messenger, staff, case, now=now, settings=settings, header=header,
                             what="new", event_id=0, with_media=True, extra_photos=photo_file_ids,
                             priority=Priority.URGENT)
    return Told(tksk=worker if tksk_reached else None, dissos=dissos)


async def alert_added_report(
    messenger: Messenger,
    session: AsyncSession,
    case: Case,
    *,
    settings: Settings,
    note: str | None,
    voice_file_id: str | None,
    photo_file_ids: list[str],
    video_note_file_id: str | None = None,
) -> None:
    """The recipient added to their open case: the people handling it get the addition."""
    for account in await owners(session, case):
        with messenger.speaking_to(account):
            header = _("➕ The recipient added to this case:")
            if note:
                header += "\n" + html.escape(note[:700])
        await queue_card(
            session, messenger, account, case, now=messenger.clock.now(), settings=settings, header=header,
            extra_voice=[voice_file_id] if voice_file_id else [], extra_photos=photo_file_ids,
            extra_video_notes=[video_note_file_id] if video_note_file_id else None,
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
        await queue_card(session, messenger, account, case, now=messenger.clock.now(), settings=settings,
                         header=header, to_tksk=account is tksk)


async def alert_update_requested(
    messenger: Messenger, session: AsyncSession, case: Case, *, settings: Settings, by: str
) -> bool:
    """Dissos asks the TKSK for an update; False when no TKSK of the kecamatan is reachable in the bot."""
    account = await worker_account(session, case.owner_worker_id)
    if account is None:
        _worker, account = await tksk_account_of(session, case.kecamatan_id)
    if not reachable(account):
        return False
    assert account is not None
    with messenger.speaking_to(account):
        header = _("❓ {name} (Dinas Sosial) asks for an update on this case. Press \"Add a note\" to answer.").format(
            name=html.escape(by))
    await queue_card(session, messenger, account, case, now=messenger.clock.now(), settings=settings,
                     header=header)
    return True


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
        await queue_card(session, messenger, account, case, now=messenger.clock.now(), settings=settings,
                         header=header)


async def alert_reassigned(
    messenger: Messenger, session: AsyncSession, case: Case, *, settings: Settings, by: str
) -> None:
    for account in await staff_accounts(session, case.owner_staff_id):
        with messenger.speaking_to(account):
            header = _("🔀 {name} assigned this case to you.").format(name=html.escape(by))
        await queue_card(session, messenger, account, case, now=messenger.clock.now(), settings=settings,
                         header=header, with_media=True)


async def alert_passed_to_dissos(
    messenger: Messenger, session: AsyncSession, case: Case, *, settings: Settings, by: str,
    reason: str | None = None, voice_file_id: str | None = None,
) -> None:
    """A TKSK passed the case to Dinas Sosial: every caseworker sees it with the TKSK's reason (words, or the
    voice note first among the media), ready to claim."""
    for account in await staff_accounts(session):
        with messenger.speaking_to(account):
            header = _("⏫ {name} passed this case to Dinas Sosial.").format(name=html.escape(by))
            if reason:
                header += "\n" + _("Reason: {label}").format(label=html.escape(reason[:500]))
        await queue_card(session, messenger, account, case, now=messenger.clock.now(), settings=settings,
                         header=header, with_media=True, extra_voice=[voice_file_id] if voice_file_id else None)
