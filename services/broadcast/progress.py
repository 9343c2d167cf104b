"""What the sender of a broadcast sees: one progress message edited as it goes (at most every
``broadcast.progress_interval`` seconds, never with the same text twice) and the final report, with a button to
download the list of people who could not be reached. In the sender's language. Edits wait for the shared
pacer at priority ``ROUTINE``: one message every few seconds, ahead of the broadcast's own messages (``BULK``),
so the sender sees the progress while it goes; each is made with no transaction open, and a lost one is only a
late figure. The final report is durable: an outbox row (:func:`queue_final_report`, kind ``broadcast_report``)
written in the transaction that marks the broadcast done, an edit of the progress message (a new message when
there is none yet), its words and counts built just before it is sent."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.i18n import CatalogI18n
from db.models import Broadcast, OutboxMessage, TelegramAccount
from services.broadcast import deliveries as dl
from services.clock import Clock
from services.outgoing.outbox import Refreshed, enqueue, refresher
from services.outgoing.pacer import Pacer
from services.outgoing.priority import Priority

log = logging.getLogger("uep.broadcast")


class FailedListCb(CallbackData, prefix="bcf"):
    """The final report's download button (callback data ``bcf:<id>``)."""

    broadcast_id: int


def _bar(done: int, total: int, width: int = 10) -> str:
    filled = round(width * done / total) if total else width
    return "▓" * filled + "░" * (width - filled)


def progress_text(broadcast_id: int, c: dl.Counts) -> str:
    total = c.total
    percent = int(100 * c.done / total) if total else 100
    return "\n".join([
        _("📣 <b>Broadcast #{id}</b> is being sent…").format(id=broadcast_id),
        f"{_bar(c.done, total)} {percent}%",
        _("Sent: {sent} of {total}").format(sent=c.sent, total=total),
        _("Unreachable: {blocked}").format(blocked=c.blocked),
        _("Failed: {failed}").format(failed=c.failed),
    ])


def final_text(broadcast_id: int, c: dl.Counts) -> str:
    lines = [
        _("✅ <b>Broadcast #{id}</b> finished.").format(id=broadcast_id),
        _("Sent: {sent} of {total}").format(sent=c.sent, total=c.total),
        _("Unreachable (blocked the bot or deleted their account): {blocked}").format(blocked=c.blocked),
        _("Failed after retries: {failed}").format(failed=c.failed),
    ]
    if c.total == 0:
        lines.append(_("Nobody in this audience has joined the bot, so nothing was sent."))
    return "\n".join(lines)


def final_keyboard(broadcast_id: int, c: dl.Counts) -> InlineKeyboardMarkup | None:
    if not (c.failed or c.blocked):
        return None
    button = InlineKeyboardButton(
        text=_("⬇️ Download the list of people not reached (CSV)"),
        callback_data=FailedListCb(broadcast_id=broadcast_id).pack(),
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


FINAL_REPORT_KIND = "broadcast_report"


def _report_key(broadcast_id: int) -> str:
    return f"{FINAL_REPORT_KIND}:{broadcast_id}"


async def queue_final_report(session: AsyncSession, broadcast_id: int) -> bool:
    """In the transaction that marks the broadcast done: its sender's final report, as an outbox row (sent after
    the commit, retried from its row). False when the broadcast has no progress chat of a known account."""
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None or broadcast.progress_chat_id is None or broadcast.created_by_account_id is None:
        return False
    account = await session.get(TelegramAccount, broadcast.created_by_account_id)
    if account is None or account.chat_id != broadcast.progress_chat_id:
        return False
    payload: dict[str, int] = {"broadcast_id": broadcast_id}
    if broadcast.progress_message_id is not None:
        payload["edit_message_id"] = broadcast.progress_message_id
    await enqueue(session, account=account, kind=FINAL_REPORT_KIND, text="", priority=Priority.ROUTINE,
                  dedupe_key=_report_key(broadcast_id), payload=payload)
    return True


@refresher(FINAL_REPORT_KIND)
async def _final_report(session: AsyncSession, row: OutboxMessage, account: TelegramAccount,
                        **_: object) -> Refreshed | None:
    broadcast_id = int((row.payload or {}).get("broadcast_id", 0))
    counts = await dl.counts(session, broadcast_id)
    keyboard = final_keyboard(broadcast_id, counts)
    return Refreshed(final_text(broadcast_id, counts),
                     keyboard.model_dump(mode="json", exclude_none=True) if keyboard is not None else None)


class TelegramProgress:
    """The engine's progress sink in the bot: edits the sender's progress message."""

    def __init__(
        self, bot: Bot, i18n: CatalogI18n, session_factory: async_sessionmaker[AsyncSession], clock: Clock,
        settings: Settings, pacer: Pacer | None = None,
    ) -> None:
        self.pacer = pacer
        self.bot = bot
        self.i18n = i18n
        self.sf = session_factory
        self.clock = clock
        self.settings = settings
        self._last: dict[int, str] = {}

    async def _target(self, session: AsyncSession, broadcast_id: int) -> tuple[Broadcast | None, str]:
        broadcast = await session.get(Broadcast, broadcast_id)
        locale = self.settings.i18n.default_locale
        if broadcast is not None and broadcast.created_by_account_id is not None:
            language = await session.scalar(
                select(TelegramAccount.language).where(TelegramAccount.id == broadcast.created_by_account_id)
            )
            if language in self.i18n.available_locales:
                locale = language
        return broadcast, locale

    async def progress(self, broadcast_id: int, counts: dl.Counts) -> None:
        async with self.sf.begin() as session:
            broadcast, locale = await self._target(session, broadcast_id)
            if broadcast is None or broadcast.progress_chat_id is None:
                return
            if not await dl.take_progress_turn(
                session, broadcast_id, self.clock.now(), self.settings.broadcast.progress_interval
            ):
                return
            chat_id, message_id = broadcast.progress_chat_id, broadcast.progress_message_id
        with self.i18n.context(), self.i18n.use_locale(locale):
            text = progress_text(broadcast_id, counts)
            if message_id is not None and broadcast_id not in self._last:
                # The composer's first progress message: "0 of N".
                self._last[broadcast_id] = progress_text(broadcast_id, dl.Counts(pending=broadcast.total))
        await self._show(broadcast_id, chat_id, message_id, text, None)

    async def finished(self, broadcast_id: int, counts: dl.Counts) -> None:
        """After the commit that marked it done: nothing to send when its final report is an outbox row
        (:func:`queue_final_report`); otherwise (a progress chat of no known account) the report is sent here."""
        async with self.sf() as session:
            broadcast, locale = await self._target(session, broadcast_id)
            queued = await session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.dedupe_key == _report_key(broadcast_id)))
        if queued is not None:
            self._last.pop(broadcast_id, None)
            return
        if broadcast is None or broadcast.progress_chat_id is None:
            return
        with self.i18n.context(), self.i18n.use_locale(locale):
            text = final_text(broadcast_id, counts)
            keyboard = final_keyboard(broadcast_id, counts)
        await self._show(broadcast_id, broadcast.progress_chat_id, broadcast.progress_message_id, text, keyboard)
        self._last.pop(broadcast_id, None)

    async def _show(
        self, broadcast_id: int, chat_id: int, message_id: int | None, text: str,
        keyboard: InlineKeyboardMarkup | None,
    ) -> None:
        if self._last.get(broadcast_id) == text:
            return  # Telegram refuses an edit that changes nothing ("message is not modified")
        slot = self.pacer.slot(chat_id, Priority.ROUTINE) if self.pacer is not None else contextlib.nullcontext()
        try:
            async with slot:
                await self._edit_or_send(broadcast_id, chat_id, message_id, text, keyboard)
            self._last[broadcast_id] = text
        except TelegramBadRequest as exc:
            if "not modified" in (exc.message or ""):
                self._last[broadcast_id] = text
            else:
                log.warning("progress message of broadcast %s: %s", broadcast_id, exc.message)
        except TelegramAPIError as exc:
            log.warning("progress message of broadcast %s: %s", broadcast_id, type(exc).__name__)

    async def _edit_or_send(
        self, broadcast_id: int, chat_id: int, message_id: int | None, text: str,
        keyboard: InlineKeyboardMarkup | None,
    ) -> None:
        if message_id is not None:
            await self.bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id, reply_markup=keyboard)
            return
        msg = await self.bot.send_message(chat_id, text, reply_markup=keyboard)
        async with self.sf.begin() as session:
            await session.execute(
                update(Broadcast).where(Broadcast.id == broadcast_id).values(progress_message_id=msg.message_id)
            )
