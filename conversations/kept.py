"""Nothing a recipient sends outside a flow is thrown away.

A joined recipient who types a sentence, records a voice note or a video note, or sends a photo (or an image
as a file) at the main menu gets one question with big buttons: report it as a problem, use it for the
business report, or neither. What they sent waits in the conversation state (JSON, in the database, so a
restart keeps it) until they choose. "Problem" starts the obstacle report with it attached, so the report
asks only what is still missing (the kind, then the urgency); "business report" starts the check-in with the
photo (or the words as its note).

```mermaid
stateDiagram-v2
    [*] --> choose: text / voice / video note / photo / image file at the main menu
    choose --> choose: more of the same (added; an album is answered once)
    choose --> obstacle: 🆘 report as a problem (or the 🆘 menu button)
    choose --> checkin: 📋 use for my business report (or the 📋 menu button; active recipients only)
    choose --> [*]: ✖ neither, /batal
```

Taps for a problem by voice from the main menu: the voice note, "report as a problem", the kind, the urgency
= 3 after the voice note (``tests/fieldfit/test_kept.py`` counts them).
"""

from __future__ import annotations

import html
from typing import Any

from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.filters import ButtonText, RoleFilter
from bot.routing import Router
from conversations.questions import asks
from db.enums import OnboardingState, Role
from db.models import TelegramAccount
from handlers.keyboards import MENU_HELP, MENU_PROBLEM, MENU_REPORT, MENU_STATUS, recipient_menu
from services.photos import PhotoTooLarge, best_photo_size, image_document

router = Router(name="kept")
router.message.filter(RoleFilter(Role.RECIPIENT))
router.callback_query.filter(RoleFilter(Role.RECIPIENT))

MAX_TEXT = 2000
MAX_PHOTOS = 10
# Who may use it: joined recipients, and those whose aid is on its way (they can report a problem).
KEEPING_STATES = (OnboardingState.ACTIVE, OnboardingState.AID_WAITING)


class Kept(StatesGroup):
    choose = State()


class KeptCb(CallbackData, prefix="kp"):
    use: str  # problem | checkin | neither


def _recipient_state(account: TelegramAccount | None) -> OnboardingState | None:
    if account is None or account.recipient is None:
        return None
    return OnboardingState(account.recipient.onboarding_state)


def empty_kept() -> dict[str, Any]:
    return {"text": "", "voice": None, "video_note": None, "photos": []}


async def kept_items(state: FSMContext) -> dict[str, Any] | None:
    """What the person sent at the menu and has not yet said what to do with (None when nothing waits)."""
    if await state.get_state() != Kept.choose.state:
        return None
    kept = (await state.get_data()).get("kept")
    return kept if isinstance(kept, dict) else None


def kept_keyboard(can_checkin: bool) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=_("🆘 Report it as a problem"), callback_data=KeptCb(use="problem").pack())]]
    if can_checkin:
        rows.append([InlineKeyboardButton(text=_("📋 Use it for my business report"),
                                          callback_data=KeptCb(use="checkin").pack())])
    rows.append([InlineKeyboardButton(text=_("✖️ Neither"), callback_data=KeptCb(use="neither").pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _what(kept: dict[str, Any]) -> str:
    if kept.get("voice"):
        return _("🎤 I have your voice note.")
    if kept.get("video_note"):
        return _("🎥 I have your video message.")
    if kept.get("photos"):
        return _("📷 I have your photo.")
    return _("✍️ I have your message.")


@asks(Kept.choose)
async def _kept_question(message: Message, state: FSMContext, data: dict[str, Any]) -> None:
    await ask_what_to_do(message, state, data.get("account"))


async def ask_what_to_do(message: Message, state: FSMContext, account: TelegramAccount | None) -> None:
    kept = await kept_items(state) or empty_kept()
    can_checkin = _recipient_state(account) == OnboardingState.ACTIVE
    question = _("What should I do with it?")
    await message.answer(f"{_what(kept)} {question}", reply_markup=kept_keyboard(can_checkin))


def _is_keepable(message: Message) -> bool:
    if message.text is not None:
        return not message.text.startswith("/")
    return bool(message.voice or message.video_note or message.photo or message.document)


@router.message(StateFilter(None, Kept.choose), _is_keepable,
                ~ButtonText(MENU_REPORT, MENU_PROBLEM, MENU_STATUS, MENU_HELP))
async def keep(message: Message, state: FSMContext, account: TelegramAccount | None, settings: Settings) -> None:
    """Registered just before the fallback: whatever no feature took is kept and answered with one question."""
    if _recipient_state(account) not in KEEPING_STATES:
        from handlers.fallback import not_understood

        await not_understood(message, Role.RECIPIENT, account)
        return
    kept = await kept_items(state) or empty_kept()
    data = await state.get_data() if await state.get_state() == Kept.choose.state else {}
    album = message.media_group_id
    same_album = album is not None and data.get("album") == album
    if message.photo or message.document:
        try:
            ref = (best_photo_size(message.photo, settings.storage.max_download_bytes) if message.photo
                   else image_document(message.document, settings.storage.max_download_bytes))  # type: ignore[arg-type]
        except PhotoTooLarge:
            await message.answer(_("This photo is too large for me to receive. Please send a smaller photo."),
                                 reply_markup=recipient_menu(account))
            return
        if ref is None:  # a file that is not a picture: nothing here can use it
            from handlers.fallback import not_understood

            await not_understood(message, Role.RECIPIENT, account)
            return
        photos = kept["photos"]
        if len(photos) < MAX_PHOTOS and all(p["file_unique_id"] != ref.file_unique_id for p in photos):
            photos.append({**ref.as_dict(), "as_file": bool(message.document)})
        if message.caption:
            kept["text"] = (kept["text"] + "\n" + message.caption.strip()).strip()[:MAX_TEXT]
    elif message.voice:
        kept["voice"] = kept["voice"] or message.voice.file_id
    elif message.video_note:
        kept["video_note"] = kept["video_note"] or message.video_note.file_id
    else:
        kept["text"] = (kept["text"] + "\n" + (message.text or "").strip()).strip()[:MAX_TEXT]
    await state.set_state(Kept.choose)
    await state.set_data({"kept": kept, "album": album})
    if same_album:
        return  # one answer per album
    await ask_what_to_do(message, state, account)


@router.callback_query(KeptCb.filter())
async def chose(
    query: CallbackQuery, callback_data: KeptCb, state: FSMContext, account: TelegramAccount | None, **data: Any
) -> None:
    kept = await kept_items(state)
    message = query.message
    if kept is None or not isinstance(message, Message) or _recipient_state(account) not in KEEPING_STATES:
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    if callback_data.use == "checkin" and _recipient_state(account) != OnboardingState.ACTIVE:
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    await query.answer()
    if callback_data.use == "problem":
        from conversations.obstacle import begin_obstacle_report

        await message.edit_text(html.escape(_what(kept)) + " " + _("→ a problem report."))
        await begin_obstacle_report(message, state, kept=kept, account=account, **data)
    elif callback_data.use == "checkin":
        from conversations.checkin import begin_checkin

        settings: Settings = data["settings"]
        kept = {**kept, "photos": list(kept.get("photos") or [])[: settings.checkin.max_photos]}
        await message.edit_text(html.escape(_what(kept)) + " " + _("→ my business report."))
        await begin_checkin(message, state, account, kept=kept)
    else:
        await state.clear()
        await message.edit_text(_("OK, I did not pass it on to anyone."))
        await message.answer(_("Choose a button below when you need me."), reply_markup=recipient_menu(account))
