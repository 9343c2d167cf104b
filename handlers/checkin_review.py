"""The TKSK's review of a check-in whose photo looks reused (the buttons under the photo the scan sends).

Who may review is decided on the server (:func:`services.checkins.review_checkin`): only the TKSK of the
recipient's kecamatan, once. A recipient or a TKSK of another kecamatan pressing a forwarded or stale button is
refused and nothing changes.
"""

from __future__ import annotations

import html

from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.routing import Router
from db.models import TelegramAccount
from services.checkins import Review, review_checkin
from services.clock import Clock

router = Router(name="checkin_review")


class ReviewCb(CallbackData, prefix="cirv"):
    checkin_id: int
    verdict: str  # "ok" | "visit"


@router.callback_query(ReviewCb.filter())
async def reviewed(query: CallbackQuery, callback_data: ReviewCb, session: AsyncSession, settings: Settings,
                   clock: Clock, account: TelegramAccount | None) -> None:
    if callback_data.verdict not in ("ok", "visit"):
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    visit = callback_data.verdict == "visit"
    result = await review_checkin(
        session, checkin_id=callback_data.checkin_id, worker=account.worker if account else None, visit=visit,
        settings=settings, now=clock.now(), actor_account_id=account.id if account else None,
        visit_description=_("The photo in a business report looks reused: a visit to check the business."),
    )
    if result.outcome is Review.NOT_YOURS or result.outcome is Review.NOT_FOUND:
        await query.answer(_("Sorry, only the TKSK of this recipient's kecamatan can review this report."),
                           show_alert=True)
        return
    if result.outcome is Review.ALREADY:
        await query.answer(_("This report was already reviewed."), show_alert=True)
        return
    if visit and result.case is not None:
        note = _("🏠 Noted: visit to check. Case {number} is open for it.").format(number=result.case.number)
    else:
        note = _("✅ Reviewed: the report is fine.")
    await query.answer(note)
    if isinstance(query.message, Message):
        caption = html.escape(query.message.caption or "") + "\n\n" + note
        await query.message.edit_caption(caption=caption[:1024], reply_markup=None)
