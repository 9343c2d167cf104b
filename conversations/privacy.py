"""``/privasi``: the recipient's rights under UU PDP 27/2022 — see what is held, ask for a correction (text or
voice), restriction or deletion, withdraw consent (the withdrawal itself lives in conversations/onboarding.py).

```mermaid
stateDiagram-v2
    [*] --> menu: /privasi (a linked recipient)
    menu --> [*]: 📄 see my data (summary + file; recorded as an answered request)
    menu --> correction: ✏️ correct my data
    correction --> [*]: text or voice note → correction request (TKSK + Dinas Sosial told)
    correction --> [*]: /batal
    menu --> confirm_restrict: ⏸ restrict
    confirm_restrict --> [*]: yes → restriction request / no
    menu --> confirm_delete: 🗑 delete (what is kept is said first)
    confirm_delete --> [*]: yes → deletion request / no
    menu --> [*]: ✖ cancel one of my open requests
```

Every button is re-checked on the server: only a linked recipient whose data still exists, only their own
requests (a forged or old request id is refused), one open request of a kind at a time.
"""

from __future__ import annotations

import html

from aiogram import F
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.routing import Router
from db.enums import PrivacyRequestKind, PrivacyRequestState, Role
from db.models import PrivacyRequest, TelegramAccount
from services.clock import Clock
from services.crypto import NikCipher
from services.privacy import held
from services.privacy import requests as rules
from services.privacy.kept import kept_after

router = Router(name="privacy")


class PrivCb(CallbackData, prefix="pdp"):
    action: str
    rid: int = 0


class PrivacyFlow(StatesGroup):
    correction = State()  # waiting for the words or the voice note of a correction


def _btn(text: str, action: str, rid: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=PrivCb(action=action, rid=rid).pack())


def menu_rows() -> list[list[InlineKeyboardButton]]:
    """The rights, one big button each (the withdrawal button is added by /privasi itself)."""
    return [
        [_btn(_("📄 See my data"), "see")],
        [_btn(_("✏️ Correct my data"), "fix")],
        [_btn(_("⏸ Stop using my data"), "rst")],
        [_btn(_("🗑 Delete my data"), "del")],
    ]


def dpo_text(settings: Settings) -> str:
    p = settings.privacy
    contact = " · ".join(html.escape(x) for x in (p.dpo_email, p.dpo_phone) if x)
    text = _("Data protection officer: {name}").format(name=html.escape(p.dpo_name))
    return text + (f"\n{contact}" if contact else "")


async def open_requests_text(session: AsyncSession, account: TelegramAccount, settings: Settings
                             ) -> tuple[str, list[list[InlineKeyboardButton]]]:
    """The person's open requests with a cancel button each (for /privasi)."""
    assert account.recipient_id is not None
    lines: list[str] = []
    rows: list[list[InlineKeyboardButton]] = []
    for r in await rules.requests_of(session, account.recipient_id):
        if r.state != PrivacyRequestState.OPEN:
            continue
        lines.append(_("• Request #{id}: {kind}, answer by {due} WITA").format(
            id=r.id, kind=rules.kind_label(r.kind), due=rules.wita(r.due_at, settings)))
        rows.append([_btn(_("✖ Cancel request #{id}").format(id=r.id), "cancel", r.id)])
    if not lines:
        return "", []
    return _("Your open requests:") + "\n" + "\n".join(lines), rows


REFUSALS = {
    "not_recipient": lambda: _("Only the recipient themselves can make this request, from their own linked "
                               "account. A TKSK or a relative can help them press the buttons."),
    "already_deleted": lambda: _("Your data has already been deleted. There is nothing more to delete."),
    "already_restricted": lambda: _("The use of your data is already stopped."),
    "not_yours": lambda: _("This request is not yours."),
    "closed": lambda: _("This request has already been answered."),
    "empty": lambda: _("Please write what is wrong, or send a voice note."),
}


async def _refuse(query: CallbackQuery, reason: str) -> None:
    await query.answer(REFUSALS.get(reason, REFUSALS["not_recipient"])(), show_alert=True)


def _is_recipient(role: Role, account: TelegramAccount | None) -> bool:
    return role is Role.RECIPIENT and account is not None and account.recipient is not None


def _already_open_text(request: PrivacyRequest, settings: Settings) -> str:
    return _("You already asked for this on {date} (request #{id}). Dinas Sosial answers by {due} WITA.").format(
        date=rules.wita(request.created_at, settings), id=request.id, due=rules.wita(request.due_at, settings))


def _opened_text(request: PrivacyRequest, settings: Settings) -> str:
    text = _("✅ Your request #{id} ({kind}) is recorded. Dinas Sosial answers by {due} WITA "
             "(within 3×24 hours).").format(id=request.id, kind=rules.kind_label(request.kind),
                                              due=rules.wita(request.due_at, settings))
    if request.kind == PrivacyRequestKind.CORRECTION:
        text += "\n" + _("Your TKSK and Dinas Sosial have been told.")
    return text


# ---------------------------------------------------------------------------------------------- see
@router.callback_query(PrivCb.filter(F.action == "see"))
async def see(query: CallbackQuery, role: Role, account: TelegramAccount | None, session: AsyncSession,
              settings: Settings, clock: Clock, cipher: NikCipher, i18n: I18n) -> None:
    if not _is_recipient(role, account) or account.recipient.anonymised_at is not None:  # type: ignore[union-attr]
        await _refuse(query, "not_recipient")
        return
    assert account is not None and account.recipient is not None and isinstance(query.message, Message)
    await query.answer()
    recipient = account.recipient
    data = await held.collect(session, recipient, cipher=cipher)
    locale = i18n.current_locale
    await rules.record_done(session, clock, account=account, recipient=recipient,
                            kind=PrivacyRequestKind.ACCESS, answer="summary and file sent in the chat")
    await session.commit()
    await query.message.answer(held.summary_text(data, settings, locale))
    stamp = clock.now().astimezone(settings.program.tz).strftime("%Y%m%d")
    await query.message.answer_document(
        BufferedInputFile(held.full_text(data, settings, locale).encode(), filename=f"data-saya-{stamp}.txt"),
        caption=_("All your data held by the UEP program."),
    )


# ---------------------------------------------------------------------------------------------- correct
@router.callback_query(PrivCb.filter(F.action == "fix"))
async def ask_correction(query: CallbackQuery, role: Role, account: TelegramAccount | None, state: FSMContext,
                         session: AsyncSession, settings: Settings) -> None:
    if not _is_recipient(role, account):
        await _refuse(query, "not_recipient")
        return
    assert account is not None and account.recipient is not None and isinstance(query.message, Message)
    existing = await rules.open_request_of(session, account.recipient.id, PrivacyRequestKind.CORRECTION)
    await query.answer()
    if existing is not None:
        await query.message.answer(_already_open_text(existing, settings))
        return
    await state.set_state(PrivacyFlow.correction)
    await query.message.answer(_("✏️ What is wrong, and what is right? Write it, or send a voice note 🎤.\n"
                                 "Do not write your NIK. /batal to stop."))


@router.message(PrivacyFlow.correction, F.text & ~F.text.startswith("/") | F.voice)
async def correction_given(message: Message, role: Role, account: TelegramAccount | None, state: FSMContext,
                           session: AsyncSession, settings: Settings, clock: Clock) -> None:
    await state.clear()
    try:
        request = await rules.open_request(
            session, clock, settings, account=account if role is Role.RECIPIENT else None,
            kind=PrivacyRequestKind.CORRECTION, details=message.text,
            voice_file_id=message.voice.file_id if message.voice else None)
    except rules.RequestRefused as refused:
        text = (_already_open_text(refused.request, settings) if refused.reason == "already_open" and refused.request
                else REFUSALS.get(refused.reason, REFUSALS["not_recipient"])())
        await message.answer(text)
        return
    masked = message.text is not None and request.details != message.text.strip()
    await session.commit()
    text = _opened_text(request, settings)
    if masked:
        text += "\n" + _("The NIK you wrote was hidden; Dinas Sosial checks it in its own records.")
    await message.answer(text)


@router.message(PrivacyFlow.correction)
async def correction_other(message: Message) -> None:
    await message.answer(_("Please write what is wrong, or send a voice note. /batal to stop."))


# ---------------------------------------------------------------------------------------------- restrict, delete
_CONFIRM = {"rst": ("rstok", PrivacyRequestKind.RESTRICTION), "del": ("delok", PrivacyRequestKind.DELETION)}
_DO = {ok: kind for ok, kind in _CONFIRM.values()}


@router.callback_query(PrivCb.filter(F.action.in_(set(_CONFIRM))))
async def confirm(query: CallbackQuery, callback_data: PrivCb, role: Role, account: TelegramAccount | None,
                  session: AsyncSession, settings: Settings) -> None:
    if not _is_recipient(role, account) or account.recipient.anonymised_at is not None:  # type: ignore[union-attr]
        await _refuse(query, "not_recipient")
        return
    assert account is not None and account.recipient is not None and isinstance(query.message, Message)
    ok, kind = _CONFIRM[callback_data.action]
    await query.answer()
    existing = await rules.open_request_of(session, account.recipient.id, kind)
    if existing is not None:
        await query.message.answer(_already_open_text(existing, settings))
        return
    if kind is PrivacyRequestKind.RESTRICTION:
        head = _("⏸ Stop using your data? We will send you no more reminders or announcements.")
    else:
        head = _("🗑 Delete your data? You will leave the bot and get no more help through it.")
    await query.message.answer(
        head + "\n\n" + kept_after(kind) + "\n\n" + _("Dinas Sosial answers within 3×24 hours."),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[
            _btn(_("Yes, send the request"), ok), _btn(_("No"), "no"),
        ]]),
    )


@router.callback_query(PrivCb.filter(F.action.in_(set(_DO))))
async def send_request(query: CallbackQuery, callback_data: PrivCb, role: Role, account: TelegramAccount | None,
                       session: AsyncSession, settings: Settings, clock: Clock) -> None:
    try:
        request = await rules.open_request(session, clock, settings,
                                           account=account if role is Role.RECIPIENT else None,
                                           kind=_DO[callback_data.action])
    except rules.RequestRefused as refused:
        if refused.reason == "already_open" and refused.request is not None and isinstance(query.message, Message):
            await query.answer()
            await query.message.answer(_already_open_text(refused.request, settings))
            return
        await _refuse(query, refused.reason)
        return
    await session.commit()
    await query.answer()
    if isinstance(query.message, Message):
        await _drop(query)
        await query.message.answer(_opened_text(request, settings))


@router.callback_query(PrivCb.filter(F.action == "no"))
async def said_no(query: CallbackQuery) -> None:
    await query.answer()
    await _drop(query)
    if isinstance(query.message, Message):
        await query.message.answer(_("Good, nothing has changed."))


@router.callback_query(PrivCb.filter(F.action == "cancel"))
async def cancel_request(query: CallbackQuery, callback_data: PrivCb, role: Role, account: TelegramAccount | None,
                         session: AsyncSession, clock: Clock) -> None:
    try:
        request = await rules.cancel_by_person(session, clock, account=account if role is Role.RECIPIENT else None,
                                               request_id=callback_data.rid)
    except rules.RequestRefused as refused:
        await _refuse(query, refused.reason)
        return
    await session.commit()
    await query.answer()
    await _drop(query)
    if isinstance(query.message, Message):
        await query.message.answer(_("Request #{id} is cancelled.").format(id=request.id))


async def _drop(query: CallbackQuery) -> None:
    import contextlib

    from aiogram.exceptions import TelegramAPIError

    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramAPIError):
            await query.message.edit_reply_markup(reply_markup=None)
