"""``/web``: a one-time sign-in link to the web desk, for Dinas Sosial staff (and TKSK/PSM, read-only).

The link is committed before it is sent, so it always works when it arrives; it is sent as text, not as a
button, because a desk on a local address is not a URL Telegram accepts for buttons.
"""

from __future__ import annotations

import html

from aiogram.filters import Command
from aiogram.types import LinkPreviewOptions, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import STAFF_ROLES, WORKER_ROLES, RoleFilter
from bot.routing import Router
from db.models import TelegramAccount
from services.clock import Clock
from services.desk.auth import issue_link

router = Router(name="staff_web")
router.message.filter(RoleFilter(*STAFF_ROLES, *WORKER_ROLES))


@router.message(Command("web"))
async def web_link(message: Message, session: AsyncSession, account: TelegramAccount, settings: Settings,
                   clock: Clock) -> None:
    token = await issue_link(session, account, now=clock.now(), settings=settings)
    await session.commit()
    url = f"{settings.web.base_url}/login/{token}"
    minutes = int(settings.web.login_link_minutes)
    await message.answer(
        _("🖥 Your sign-in link to the web desk (works once, for {minutes} minutes):\n{link}").format(
            minutes=minutes, link=f'<a href="{html.escape(url)}">{html.escape(url)}</a>'
        ),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
