"""Showing an invitation to the person who created it: the link and its QR code, in one photo message."""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from services.dates import long_moment
from services.invitations import NewInvitation, qr_png


async def bot_username(bot: Bot) -> str:
    me = await bot.me()
    return me.username or ""


async def send_invitation(target: Message, bot: Bot, new: NewInvitation, *, who: str, settings: Settings) -> None:
    """``who`` is already HTML-escaped."""
    link = new.link(await bot_username(bot))
    expires: datetime = new.invitation.expires_at
    caption = _(
        "🔗 Invitation for {who}\n"
        "Send them this link, or let them scan the QR code with their phone camera:\n{link}\n"
        "Valid until {date} WITA. It works only once; a new invitation replaces this one."
    ).format(who=who, link=link, date=long_moment(expires, settings.program.tz))
    await target.answer_photo(BufferedInputFile(qr_png(link), filename="undangan.png"), caption=caption)
