"""Recipient onboarding: from an invitation link (or NIK + date of birth) to the main menu.

```mermaid
stateDiagram-v2
    [*] --> Identify: /start TOKEN, /start NIK DATE, or "I am a recipient"
    Identify --> Identify: wrong NIK/date (5 per 24 h, then locked)
    Identify --> CONSENT: identified
    CONSENT --> DECLINED: decline (only the decline is stored)
    DECLINED --> CONSENT: /start or the link again
    CONSENT --> PHONE: agree (account linked)
    PHONE --> PHONE: someone else's contact / typed number (refused)
    PHONE --> PROFILE: own contact (different number: new number → TKSK confirms, or relative's phone → proxy)
    PROFILE --> AID_WAITING: aid not handed over yet
    PROFILE --> AID_RECEIPT: confirmed, or correction sent to the TKSK
    AID_WAITING --> AID_RECEIPT: roster gets the aid date (scan task)
    AID_RECEIPT --> ACTIVE: all received (or item by item) + photo or "later"
    ACTIVE --> DECLINED: /privasi withdraw
```

The step a linked recipient is on is ``Recipient.onboarding_state`` (in the database), so a restart or a
``/start`` resumes exactly there. The FSM holds only what comes before consent (the identified recipient's id,
the keyed hash of a NIK typed in two steps: never the NIK itself) and the optional profile note.

Taps from an invitation to the main menu on the happy path: open the link, agree, share contact, profile
right, all received, photo = 6.
"""

from __future__ import annotations

import contextlib
import html
from datetime import date, datetime
from typing import Any

from aiogram import Bot, F
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, CommandStart, Filter, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    TelegramObject,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.answers import typed_yes
from bot.config import Settings
from bot.i18n import N_
from bot.messenger import Messenger
from bot.routing import Router
from db.enums import ConsentDecision, InvitationKind, OnboardingState, Role
from db.models import AidPackage, ConsentRecord, Recipient, TelegramAccount
from handlers.keyboards import recipient_main_menu, recipient_waiting_menu
from services.cases.alerts import alert_new_case
from services.clock import Clock
from services.crypto import NikCipher
from services.dates import long_date, long_moment
from services.i18n_labels import business_type_label
from services.invitations import InvitationProblem, claim_invitation
from services.onboarding import aid as aid_rules
from services.onboarding import consent as consent_rules
from services.onboarding import linking
from services.onboarding.identity import (
    IdentityOutcome,
    lockout_state,
    looks_like_identity,
    parse_birth_date,
    parse_identity,
    parse_nik,
    report_nik_guessing,
    verify_identity,
)
from services.onboarding.notices import ask_phone_confirmation, notify_joined

router = Router(name="onboarding")

BTN_SHARE_PHONE = N_("📱 Send my phone number")
MAX_NOTE = 1000


class Onboarding(StatesGroup):
    nik = State()           # waiting for the NIK ("I am a recipient")
    birth_date = State()    # waiting for the date of birth (data: nik_hash)
    consent = State()       # identified; consent question shown (data: rid, via)
    profile_note = State()  # "not right": what is wrong (optional)


class OnbCb(CallbackData, prefix="ob"):
    action: str
    item: int = 0
    yes: bool = False


class RecipientStep(Filter):
    """Passes for a linked recipient whose onboarding is at one of these steps (read from the database)."""

    def __init__(self, *steps: OnboardingState) -> None:
        self.steps = frozenset(steps)

    async def __call__(self, event: TelegramObject, account: TelegramAccount | None = None, **_: Any) -> bool:
        return bool(account and account.recipient and account.recipient.onboarding_state in self.steps)


def _btn(text: str, action: str, **kw: Any) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=OnbCb(action=action, **kw).pack())


def _local_today(settings: Settings, clock: Clock):  # type: ignore[no-untyped-def]
    return clock.now().astimezone(settings.program.tz).date()


def _wita(moment: datetime, settings: Settings) -> str:
    return long_moment(moment, settings.program.tz)


async def _drop_buttons(query: CallbackQuery) -> None:
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramAPIError):
            await query.message.edit_reply_markup(reply_markup=None)


async def _forget_message(message: Message) -> None:
    """Delete a message that carried a NIK, so it does not stay on a shared phone's screen."""
    with contextlib.suppress(TelegramAPIError):
        await message.delete()


async def _stale(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)


# ------------------------------------------------------------------------------------------------ prompts
def intro_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_btn(_("🙋 I am a UEP recipient"), "iam")]])


def consent_keyboard(*, full_text_button: bool = True) -> InlineKeyboardMarkup:
    rows = [[_btn(_("✅ I agree"), "agree"), _btn(_("❌ I do not agree"), "decline")]]
    if full_text_button:
        rows.append([_btn(_("📄 Read it all"), "consentfull")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def contact_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_(BTN_SHARE_PHONE), request_contact=True)]],
        resize_keyboard=True, is_persistent=True, input_field_placeholder=_("Press the button below"),
    )


async def ask_consent(target: Message, recipient: Recipient) -> None:
    """A short summary on the phone's screen; the full text behind "Read it all" (and under /privasi)."""
    await target.answer(
        _("Hello, {name}! You are on the list of UEP recipients in Kecamatan {kecamatan}.").format(
            name=html.escape(recipient.name), kecamatan=html.escape(recipient.kecamatan.name)
        ) + "\n" + consent_rules.consent_summary() + "\n" + _("Do you agree?"),
        reply_markup=consent_keyboard(),
    )


@router.callback_query(OnbCb.filter(F.action == "consentfull"))
async def consent_full_text(query: CallbackQuery, state: FSMContext) -> None:
    if await state.get_state() != Onboarding.consent.state or not isinstance(query.message, Message):
        await _stale(query)
        return
    await query.answer()
    await query.message.answer(consent_rules.consent_text() + "\n\n" + _("Do you agree?"),
                               reply_markup=consent_keyboard(full_text_button=False))


async def ask_phone(target: Message) -> None:
    await target.answer(
        _("📱 Now please press the button <b>Send my phone number</b> below, so we know how to reach you."),
        reply_markup=contact_keyboard(),
    )


async def ask_profile(target: Message, recipient: Recipient, settings: Settings, locale: str) -> None:
    await target.answer(
        _("Your details: <b>{name}</b>, desa {desa}, kecamatan {kecamatan}, business: {business}.\n"
          "Is this right?").format(
            name=html.escape(recipient.name), desa=html.escape(recipient.desa or "-"),
            kecamatan=html.escape(recipient.kecamatan.name),
            business=html.escape(business_type_label(recipient.business_type, settings, locale)),
        ),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[
            _btn(_("✅ Yes, right"), "pok"), _btn(_("✏️ Something is wrong"), "pbad"),
        ]]),
    )


def _aid_keyboard(*, list_button: bool) -> InlineKeyboardMarkup:
    rows = [[_btn(_("📄 See the items"), "aidlist")]] if list_button else []
    rows += [[_btn(_("✅ Yes, all received"), "aidall")], [_btn(_("❌ Something is missing"), "aidsome")]]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def aid_prompt(package: AidPackage) -> tuple[str, InlineKeyboardMarkup]:
    """A short summary of the aid package (how many items, their value) with the list one tap away, and
    'all received' / 'something is missing' (also sent by the scan task). A phone shows it in three lines."""
    from services.aid.catalog import rupiah
    from services.aid.packages import package_total

    total = package_total(package)
    n = len(package.items)
    if total is not None:
        summary = _("🎁 Your aid package: {n} items, worth {total}.").format(n=n, total=rupiah(total))
    else:
        summary = _("🎁 Your aid package: {n} items.").format(n=n)
    return summary + "\n" + _("Have you received all of it?"), _aid_keyboard(list_button=True)


def aid_list_prompt(package: AidPackage) -> tuple[str, InlineKeyboardMarkup]:
    """The whole list, asked for with "See the items"."""
    from services.aid.packages import item_line, package_value_line

    lines = "\n".join(f"{i}. {item_line(item)}" for i, item in enumerate(package.items, 1))
    lines += package_value_line(package)
    text = _("🎁 Your aid package:\n{items}\n\nHave you received all of it?").format(items=lines)
    return text, _aid_keyboard(list_button=False)


def item_prompt(package: AidPackage, item_id: int) -> tuple[str, InlineKeyboardMarkup]:
    index = next(i for i, item in enumerate(package.items, 1) if item.id == item_id)
    item = package.items[index - 1]
    from services.aid.packages import item_line

    text = _("Item {n} of {total}: <b>{item}</b>\nHave you received it?").format(
        n=index, total=len(package.items), item=item_line(item)
    )
    markup = InlineKeyboardMarkup(inline_keyboard=[[
        _btn(_("✅ Yes"), "item", item=item_id, yes=True), _btn(_("❌ No"), "item", item=item_id, yes=False),
    ]])
    return text, markup


async def ask_photo(target: Message) -> None:
    await target.answer(
        _("📷 Last step: send a photo of the aid you received (tools and materials together).\n"
          "If you cannot take a photo now, press Later."),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[_btn(_("⏭ Later"), "later")]]),
    )


def aid_waiting_text() -> str:
    return _("⏳ According to our list your aid has not been handed over yet. "
             "I will send you a message as soon as it has. There is nothing else to do for now.") + "\n" + _(
        "Aid not arrived or not as promised? Press 🆘 I have a problem.")


async def show_aid_step(
    target: Message, session: AsyncSession, recipient: Recipient, settings: Settings
) -> None:
    """The aid-receipt step wherever the person left it: first question, an item, or the photo."""
    package = await aid_rules.ensure_package(session, recipient, settings)
    answered = [item for item in package.items if item.received is not None]
    pending = aid_rules.next_unanswered(package)
    if pending is None:
        await ask_photo(target)
        return
    if answered:
        text, markup = item_prompt(package, pending.id)
    else:
        text, markup = aid_prompt(package)
    await target.answer(text, reply_markup=markup)


async def prompt_current_step(
    target: Message, session: AsyncSession, recipient: Recipient, settings: Settings, locale: str
) -> None:
    step = recipient.onboarding_state
    if step == OnboardingState.PHONE:
        await ask_phone(target)
    elif step == OnboardingState.PROFILE:
        await ask_profile(target, recipient, settings, locale)
    elif step == OnboardingState.AID_WAITING:
        await target.answer(aid_waiting_text(), reply_markup=recipient_waiting_menu())
    elif step == OnboardingState.AID_RECEIPT:
        await show_aid_step(target, session, recipient, settings)


async def resume_onboarding(
    message: Message, state: FSMContext, role: Role, account: TelegramAccount | None, data: dict[str, Any]
) -> bool:
    """Plain /start: a recipient who has not finished goes back to their step; someone the bot does not know
    is told how to join (with the 'I am a recipient' button). False when /start should show the home screen."""
    session: AsyncSession = data["session"]
    settings: Settings = data["settings"]
    i18n: I18n = data["i18n"]
    if role is Role.RECIPIENT and account and account.recipient:
        if account.recipient.onboarding_state == OnboardingState.ACTIVE:
            return False
        await state.clear()
        await message.answer(_("Welcome back! Let's continue where you left off."), reply_markup=ReplyKeyboardRemove())
        await prompt_current_step(message, session, account.recipient, settings, i18n.current_locale)
        return True
    if role is not Role.UNKNOWN or account is None:
        return False
    if await state.get_state() == Onboarding.consent.state:
        recipient = await _pending_recipient(state, session)
        if recipient is not None:
            await ask_consent(message, recipient)
            return True
    await state.clear()
    from handlers.common import help_text

    await message.answer(help_text(Role.UNKNOWN), reply_markup=ReplyKeyboardRemove())
    await message.answer(_("Are you a recipient of UEP aid? Press the button:"), reply_markup=intro_keyboard())
    return True


async def _pending_recipient(state: FSMContext, session: AsyncSession) -> Recipient | None:
    rid = (await state.get_data()).get("rid")
    return await session.get(Recipient, rid) if isinstance(rid, int) else None


# ------------------------------------------------------------------------------------ identification
@router.message(CommandStart(deep_link=True))
async def start_with_payload(
    message: Message, command: CommandObject, state: FSMContext, account: TelegramAccount | None, role: Role,
    session: AsyncSession, settings: Settings, clock: Clock, cipher: NikCipher, messenger: Messenger, i18n: I18n,
    bot: Bot,
) -> None:
    payload = (command.args or "").strip()
    if account is None:
        return
    if looks_like_identity(payload):
        await _forget_message(message)
        await state.clear()
        await _identity_text(message, payload, state, account, role, session, settings, clock, cipher, messenger,
                             i18n, from_start=True)
        return
    claim = await claim_invitation(session, payload, account_id=account.id, now=clock.now())
    if not claim.ok:
        await state.clear()
        problem_text = {
            InvitationProblem.UNKNOWN: _("This invitation link is not valid. Please ask your TKSK for a new link, "
                                         "or join with your NIK: send /start NIK DATE-OF-BIRTH."),
            InvitationProblem.EXPIRED: _("This invitation link has expired. Please ask your TKSK for a new link."),
            InvitationProblem.USED: _("This invitation link has already been used. Each link works only once. "
                                      "Please ask your TKSK for a new link."),
        }[claim.problem]  # type: ignore[index]
        await message.answer(problem_text)
        return
    invitation = claim.invitation
    assert invitation is not None
    if invitation.kind != InvitationKind.RECIPIENT:
        from conversations.worker_onboarding import begin_from_invitation

        await begin_from_invitation(message, state, account, invitation, session, clock, bot, messenger)
        return
    recipient = await session.get(Recipient, invitation.recipient_id)
    if recipient is None:
        await message.answer(_("This invitation link is not valid. Please ask your TKSK for a new link."))
        return
    await begin_consent(message, state, account, recipient, "invite", session, settings, clock, messenger, i18n)


@router.callback_query(OnbCb.filter(F.action == "iam"))
async def i_am_a_recipient(
    query: CallbackQuery, state: FSMContext, role: Role, account: TelegramAccount | None, session: AsyncSession,
    settings: Settings, clock: Clock,
) -> None:
    if not isinstance(query.message, Message) or account is None:
        await _stale(query)
        return
    await query.answer()
    if role is not Role.UNKNOWN:
        await query.message.answer(_("You are already registered. Send /start to see your menu."))
        return
    _left, locked_until = await lockout_state(session, account.telegram_user_id, settings=settings, now=clock.now())
    if locked_until is not None:
        await query.message.answer(_locked_text(locked_until, settings))
        return
    await state.set_state(Onboarding.nik)
    await state.set_data({})
    await query.message.answer(
        _("Please type your <b>NIK</b>: the 16-digit number on your KTP or family card (KK)."),
        reply_markup=ReplyKeyboardRemove(),
    )


@router.message(StateFilter(Onboarding.nik), F.text, ~F.text.startswith("/"))
async def nik_entered(
    message: Message, state: FSMContext, account: TelegramAccount, role: Role, session: AsyncSession,
    settings: Settings, clock: Clock, cipher: NikCipher, messenger: Messenger, i18n: I18n,
) -> None:
    await _forget_message(message)
    await _identity_text(message, message.text or "", state, account, role, session, settings, clock, cipher,
                         messenger, i18n, from_start=False)


@router.message(StateFilter(Onboarding.birth_date), F.text, ~F.text.startswith("/"))
async def birth_date_entered(
    message: Message, state: FSMContext, account: TelegramAccount, role: Role, session: AsyncSession,
    settings: Settings, clock: Clock, messenger: Messenger, i18n: I18n,
) -> None:
    birth = parse_birth_date(message.text or "", today=_local_today(settings, clock))
    if birth is None:
        await message.answer(_date_format_text())
        return
    nik_hash = (await state.get_data()).get("nik_hash")
    if not isinstance(nik_hash, str):
        await state.set_state(Onboarding.nik)
        await message.answer(_("Please type your <b>NIK</b>: the 16-digit number on your KTP or family card (KK)."))
        return
    await _verify(message, nik_hash, birth, state, account, session, settings, clock, messenger, i18n)


def _typed_identity(message: Message, role: Role = Role.UNKNOWN, **_: Any) -> bool:
    """Someone the bot does not know types a NIK (spaces, dots or dashes allowed), a NIK and a date, or a
    date of birth at the welcome, without /start."""
    text = (message.text or "").strip()
    if role is not Role.UNKNOWN or not text or text.startswith("/"):
        return False
    return looks_like_identity(text) or parse_birth_date(text) is not None


@router.message(StateFilter(None), F.text, _typed_identity)
async def identity_typed_at_welcome(
    message: Message, state: FSMContext, account: TelegramAccount | None, role: Role, session: AsyncSession,
    settings: Settings, clock: Clock, cipher: NikCipher, messenger: Messenger, i18n: I18n,
) -> None:
    """A NIK starts the NIK path (the date of birth is asked next); a date alone asks for the NIK and is kept
    for it (in the conversation state: a date of birth alone identifies nobody)."""
    if account is None:
        return
    text = message.text or ""
    birth = parse_birth_date(text, today=_local_today(settings, clock))
    if birth is not None and parse_nik(text) is None:
        _left, locked_until = await lockout_state(session, account.telegram_user_id, settings=settings,
                                                  now=clock.now())
        if locked_until is not None:
            await message.answer(_locked_text(locked_until, settings))
            return
        await state.set_state(Onboarding.nik)
        await state.set_data({"birth_date": birth.isoformat()})
        await message.answer(_("Thank you. Now type your <b>NIK</b>: the 16-digit number on your KTP or "
                               "family card (KK)."), reply_markup=ReplyKeyboardRemove())
        return
    await _forget_message(message)
    await _identity_text(message, text, state, account, role, session, settings, clock, cipher, messenger,
                         i18n, from_start=False)


@router.message(StateFilter(Onboarding.nik, Onboarding.birth_date), ~F.text.startswith("/"))
async def identity_not_text(message: Message, state: FSMContext) -> None:
    if await state.get_state() == Onboarding.nik.state:
        await message.answer(_("Please type your NIK as numbers (16 digits). Send /batal to stop."))
    else:
        await message.answer(_date_format_text())


def _date_format_text() -> str:
    return _("Please type your date of birth like this: <code>17-05-1980</code> (day-month-year).")


def _locked_text(until: datetime, settings: Settings) -> str:
    return _(
        "For your safety, joining with a NIK is paused after too many wrong tries. You can try again after "
        "{time} WITA. Please contact your TKSK: they can send you a personal invitation link."
    ).format(time=_wita(until, settings))


async def _identity_text(
    message: Message, text: str, state: FSMContext, account: TelegramAccount, role: Role, session: AsyncSession,
    settings: Settings, clock: Clock, cipher: NikCipher, messenger: Messenger, i18n: I18n, *, from_start: bool,
) -> None:
    if role is not Role.UNKNOWN:
        if account.recipient is not None:
            await message.answer(_("You are already registered. Send /start to see your menu."))
        else:
            await message.answer(_("This Telegram account is already registered for another role."))
        return
    _left, locked_until = await lockout_state(session, account.telegram_user_id, settings=settings, now=clock.now())
    if locked_until is not None:
        await state.clear()
        await message.answer(_locked_text(locked_until, settings))
        return
    parsed = parse_identity(text, today=_local_today(settings, clock))
    if parsed.nik is None:
        await state.set_state(Onboarding.nik)
        await message.answer(
            _("A NIK has exactly 16 digits. Please check your KTP or family card (KK) and type it again.")
        )
        return
    nik_hash = cipher.blind_index(parsed.nik)
    typed_before = (await state.get_data()).get("birth_date")  # a date typed at the welcome, before the NIK
    if parsed.birth_date is None and isinstance(typed_before, str):
        await _verify(message, nik_hash, date.fromisoformat(typed_before), state, account, session, settings,
                      clock, messenger, i18n)
        return
    if parsed.birth_date is None:
        # Only the keyed hash waits in the conversation state, never the NIK.
        await state.set_state(Onboarding.birth_date)
        await state.set_data({"nik_hash": nik_hash})
        note = _("(I deleted your message with the NIK from this chat, for your safety.)")
        if parsed.has_date_text:
            await message.answer(_date_format_text() + "\n" + note)
        else:
            await message.answer(_("Thank you. Now type your <b>date of birth</b>, for example "
                                   "<code>17-05-1980</code>.") + "\n" + note)
        return
    await _verify(message, nik_hash, parsed.birth_date, state, account, session, settings, clock, messenger, i18n)


async def _verify(
    message: Message, nik_hash: str, birth_date: Any, state: FSMContext, account: TelegramAccount,
    session: AsyncSession, settings: Settings, clock: Clock, messenger: Messenger, i18n: I18n,
) -> None:
    result = await verify_identity(
        session, telegram_user_id=account.telegram_user_id, nik_hash=nik_hash, birth_date=birth_date,
        settings=settings, now=clock.now(),
    )
    await state.set_data({})  # the NIK's hash is not needed any more
    if result.outcome is IdentityOutcome.LOCKED:
        await state.clear()
        await message.answer(_locked_text(result.locked_until, settings))  # type: ignore[arg-type]
        return
    if result.outcome is IdentityOutcome.NIK_CLOSED:
        # The same answer whether the NIK is in the roster or not.
        await state.clear()
        if result.closed_recipient is not None:
            opened = await report_nik_guessing(session, recipient=result.closed_recipient, nik_hash=nik_hash,
                                               settings=settings, clock=clock)
            if opened.created:
                await alert_new_case(messenger, session, opened.case)
        await message.answer(_("Joining with this NIK is closed after too many wrong tries. Please ask your TKSK "
                               "for an invitation link: it lets you join without typing your NIK."))
        return
    if result.outcome is IdentityOutcome.MISMATCH:
        # The same answer for an unknown NIK and a wrong date of birth.
        await state.set_state(Onboarding.nik)
        await message.answer(
            _("The NIK and date of birth do not match our list. Please check your KTP and type your NIK again. "
              "Tries left: {left}.").format(left=result.attempts_left)
        )
        return
    assert result.recipient is not None
    await begin_consent(message, state, account, result.recipient, "nik", session, settings, clock, messenger, i18n)


async def begin_consent(
    message: Message, state: FSMContext, account: TelegramAccount, recipient: Recipient, via: str,
    session: AsyncSession, settings: Settings, clock: Clock, messenger: Messenger, i18n: I18n,
) -> None:
    """The person is identified as ``recipient``: check the linking rules, then ask for consent."""
    holder = await linking.account_of_recipient(session, recipient.id)
    problem = linking.recipient_link_problem(account, recipient, holder)
    await state.clear()
    if problem is linking.LinkProblem.ACCOUNT_TAKEN:
        await message.answer(_("This Telegram account is already registered for someone else, so it cannot be "
                               "used for another recipient. Please contact your TKSK."))
        return
    if problem is linking.LinkProblem.RECIPIENT_TAKEN:
        opened = await linking.report_account_conflict(session, recipient=recipient, settings=settings, clock=clock,
                                                       via=via)
        if opened.created:
            await alert_new_case(messenger, session, opened.case)
        await message.answer(_("This recipient is already registered with another Telegram account, so I cannot "
                               "register you here. Your TKSK has been told and will contact you."))
        return
    if account.recipient_id == recipient.id:
        if recipient.onboarding_state == OnboardingState.ACTIVE:
            await message.answer(_("You are already registered. Here is your menu."),
                                 reply_markup=recipient_main_menu())
        else:
            await message.answer(_("Welcome back! Let's continue where you left off."))
            await prompt_current_step(message, session, recipient, settings, i18n.current_locale)
        return
    if recipient.onboarding_state in (OnboardingState.NOT_JOINED, OnboardingState.DECLINED):
        recipient.onboarding_state = OnboardingState.CONSENT
        recipient.updated_at = clock.now()
    await state.set_state(Onboarding.consent)
    await state.set_data({"rid": recipient.id, "via": via})
    await ask_consent(message, recipient)


# ----------------------------------------------------------------------------------------------- consent
@router.callback_query(OnbCb.filter(F.action.in_({"agree", "decline"})))
async def consent_answer(
    query: CallbackQuery, callback_data: OnbCb, state: FSMContext, account: TelegramAccount | None,
    session: AsyncSession, settings: Settings, clock: Clock, messenger: Messenger, i18n: I18n,
) -> None:
    if account is None or await state.get_state() != Onboarding.consent.state or not isinstance(query.message,
                                                                                                   Message):
        await _stale(query)
        return
    recipient = await _pending_recipient(state, session)
    if recipient is None:
        await _stale(query)
        return
    await query.answer()
    await _drop_buttons(query)
    await _consent_answered(query.message, callback_data.action == "agree", state, account, recipient, session,
                            settings, clock, messenger, i18n)


@router.message(StateFilter(Onboarding.consent), F.text, typed_yes)
async def consent_typed_yes(
    message: Message, state: FSMContext, account: TelegramAccount | None, session: AsyncSession,
    settings: Settings, clock: Clock, messenger: Messenger, i18n: I18n,
) -> None:
    """ "iya", "setuju", "oke", "siap" at the consent question mean "I agree"."""
    recipient = await _pending_recipient(state, session)
    if account is None or recipient is None:
        await message.answer(_("Please answer with the buttons."))
        return
    await _consent_answered(message, True, state, account, recipient, session, settings, clock, messenger, i18n)


async def _consent_answered(
    target: Message, agreed: bool, state: FSMContext, account: TelegramAccount, recipient: Recipient,
    session: AsyncSession, settings: Settings, clock: Clock, messenger: Messenger, i18n: I18n,
) -> None:
    await state.clear()
    locale = i18n.current_locale
    if not agreed:
        await consent_rules.decline(session, clock, settings, account=account, recipient=recipient, language=locale)
        await target.answer(_(
            "We respect your choice. Nothing about you has been stored except this answer. "
            "If you change your mind, send /start. Your TKSK can still help you in person."
        ))
        return
    # The account may have been taken in the meantime (another phone was faster): check again.
    holder = await linking.account_of_recipient(session, recipient.id)
    if linking.recipient_link_problem(account, recipient, holder) is not None:
        await begin_consent(target, state, account, recipient, "invite", session, settings, clock, messenger, i18n)
        return
    await consent_rules.agree(session, clock, settings, account=account, recipient=recipient, language=locale)
    await target.answer(_("Thank you! Your consent has been recorded."))
    await ask_phone(target)


# ------------------------------------------------------------------------------------------------- phone
@router.message(RecipientStep(OnboardingState.PHONE), StateFilter(None), F.contact)
async def contact_shared(
    message: Message, account: TelegramAccount, session: AsyncSession, settings: Settings, clock: Clock,
    i18n: I18n,
) -> None:
    contact = message.contact
    assert contact is not None and message.from_user is not None
    if contact.user_id != message.from_user.id:
        await message.answer(
            _("That is someone else's contact. I can only accept your own number: press the button "
              "<b>Send my phone number</b> below."),
            reply_markup=contact_keyboard(),
        )
        return
    recipient = account.recipient
    assert recipient is not None
    outcome = linking.check_recipient_phone(account, recipient, contact.phone_number)
    if outcome is linking.PhoneOutcome.MISMATCH:
        await message.answer(_("✅ Number received."), reply_markup=ReplyKeyboardRemove())
        await message.answer(
            _("This number is different from the one on our list. Whose phone is this?"),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[
                [_btn(_("📱 My own new number"), "newnum")],
                [_btn(_("👪 A relative's phone that I use"), "relnum")],
            ]),
        )
        return
    await _to_profile(message, recipient, settings, clock, i18n, received=True)


@router.callback_query(OnbCb.filter(F.action.in_({"newnum", "relnum"})), RecipientStep(OnboardingState.PHONE))
async def whose_phone(
    query: CallbackQuery, callback_data: OnbCb, account: TelegramAccount, session: AsyncSession,
    settings: Settings, clock: Clock, messenger: Messenger, i18n: I18n,
) -> None:
    recipient = account.recipient
    if recipient is None or not account.contact_phone or not isinstance(query.message, Message):
        await _stale(query)
        return
    await query.answer()
    await _drop_buttons(query)
    if callback_data.action == "relnum":
        linking.mark_proxy(account)
        await query.message.answer(_("Noted: you use a relative's phone. Your TKSK will know."))
    else:
        opened = await linking.report_new_number(session, account=account, recipient=recipient, settings=settings,
                                                 clock=clock)
        await ask_phone_confirmation(messenger, session, recipient, account, opened.case)
        await query.message.answer(_("Noted. Your TKSK will confirm your new number."))
    await _to_profile(query.message, recipient, settings, clock, i18n, received=False)


@router.message(RecipientStep(OnboardingState.PHONE), StateFilter(None), ~F.text.startswith("/"))
async def phone_not_contact(message: Message) -> None:
    if message.text and any(ch.isdigit() for ch in message.text):
        text = _("Please do not type the number. Press the button <b>Send my phone number</b> below: "
                 "that way we know the number really belongs to this phone.")
    else:
        text = _("Please press the button <b>Send my phone number</b> below.")
    await message.answer(text, reply_markup=contact_keyboard())


async def _to_profile(
    target: Message, recipient: Recipient, settings: Settings, clock: Clock, i18n: I18n, *, received: bool
) -> None:
    recipient.onboarding_state = OnboardingState.PROFILE
    recipient.updated_at = clock.now()
    if received:
        await target.answer(_("✅ Number received."), reply_markup=ReplyKeyboardRemove())
    await ask_profile(target, recipient, settings, i18n.current_locale)


# ----------------------------------------------------------------------------------------------- profile
@router.callback_query(OnbCb.filter(F.action.in_({"pok", "pbad"})), RecipientStep(OnboardingState.PROFILE))
async def profile_answer(
    query: CallbackQuery, callback_data: OnbCb, state: FSMContext, account: TelegramAccount,
    session: AsyncSession, settings: Settings, clock: Clock,
) -> None:
    if not isinstance(query.message, Message):
        await _stale(query)
        return
    await query.answer()
    await _drop_buttons(query)
    if callback_data.action == "pbad":
        await state.set_state(Onboarding.profile_note)
        await query.message.answer(
            _("What is not right? Write it in a short message, or send a voice note. "
              "If you prefer, press Skip and your TKSK will ask you."),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[_btn(_("⏭ Skip"), "skipnote")]]),
        )
        return
    await _after_profile(query.message, session, account.recipient, settings, clock)  # type: ignore[arg-type]


@router.message(StateFilter(Onboarding.profile_note), RecipientStep(OnboardingState.PROFILE),
                F.text | F.voice, ~F.text.startswith("/"))
async def profile_note(
    message: Message, state: FSMContext, account: TelegramAccount, session: AsyncSession, settings: Settings,
    clock: Clock, messenger: Messenger,
) -> None:
    note = (message.text or "").strip()[:MAX_NOTE] or None
    voice = message.voice.file_id if message.voice else None
    await _profile_correction(message, state, account, session, settings, clock, messenger, note, voice)


@router.callback_query(OnbCb.filter(F.action == "skipnote"), StateFilter(Onboarding.profile_note),
                       RecipientStep(OnboardingState.PROFILE))
async def profile_note_skipped(
    query: CallbackQuery, state: FSMContext, account: TelegramAccount, session: AsyncSession, settings: Settings,
    clock: Clock, messenger: Messenger,
) -> None:
    if not isinstance(query.message, Message):
        await _stale(query)
        return
    await query.answer()
    await _drop_buttons(query)
    await _profile_correction(query.message, state, account, session, settings, clock, messenger, None, None)


async def _profile_correction(
    target: Message, state: FSMContext, account: TelegramAccount, session: AsyncSession, settings: Settings,
    clock: Clock, messenger: Messenger, note: str | None, voice: str | None,
) -> None:
    from db.enums import CaseKind
    from services.cases.opening import open_case

    recipient = account.recipient
    assert recipient is not None
    await state.clear()
    opened = await open_case(
        session, recipient=recipient, kind=CaseKind.PROFILE_CORRECTION, source="onboarding",
        description=("Data profil tidak sesuai menurut penerima. Catatan: " + note) if note
        else ("Data profil tidak sesuai menurut penerima (pesan suara)." if voice
              else "Data profil tidak sesuai menurut penerima (tanpa catatan)."),
        voice_file_id=voice, actor=f"recipient:{recipient.id}", actor_account_id=account.id,
        settings=settings, clock=clock,
    )
    if opened.created:
        await alert_new_case(messenger, session, opened.case)
    await target.answer(_("Thank you. Your TKSK will check your details and correct them. Let's continue."))
    await _after_profile(target, session, recipient, settings, clock)


async def _after_profile(
    target: Message, session: AsyncSession, recipient: Recipient, settings: Settings, clock: Clock
) -> None:
    recipient.updated_at = clock.now()
    if recipient.aid_date is None:
        recipient.onboarding_state = OnboardingState.AID_WAITING
        await target.answer(aid_waiting_text(), reply_markup=recipient_waiting_menu())
        return
    recipient.onboarding_state = OnboardingState.AID_RECEIPT
    await show_aid_step(target, session, recipient, settings)


@router.message(RecipientStep(OnboardingState.PROFILE), StateFilter(None), F.text, typed_yes)
async def profile_typed_yes(
    message: Message, account: TelegramAccount, session: AsyncSession, settings: Settings, clock: Clock
) -> None:
    """ "iya", "benar", "oke" at "Is this right?" mean yes."""
    await _after_profile(message, session, account.recipient, settings, clock)  # type: ignore[arg-type]


@router.message(RecipientStep(OnboardingState.PROFILE), StateFilter(None), ~F.text.startswith("/"))
async def profile_needs_button(message: Message, account: TelegramAccount, settings: Settings, i18n: I18n) -> None:
    await message.answer(_("Please answer with the buttons."))
    await ask_profile(message, account.recipient, settings, i18n.current_locale)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------- aid
# While the aid is on its way, whatever the recipient sends is kept and offered as a problem report
# (conversations/kept.py); the pre-aid menu has 🆘 and 📂.


@router.callback_query(OnbCb.filter(F.action == "aidlist"), RecipientStep(OnboardingState.AID_RECEIPT))
async def aid_list(query: CallbackQuery, account: TelegramAccount, session: AsyncSession, settings: Settings) -> None:
    recipient = account.recipient
    if recipient is None or not isinstance(query.message, Message):
        await _stale(query)
        return
    package = await aid_rules.ensure_package(session, recipient, settings)
    await query.answer()
    await _drop_buttons(query)
    text, markup = aid_list_prompt(package)
    await query.message.answer(text, reply_markup=markup)


@router.callback_query(OnbCb.filter(F.action.in_({"aidall", "aidsome", "item"})),
                       RecipientStep(OnboardingState.AID_RECEIPT))
async def aid_answer(
    query: CallbackQuery, callback_data: OnbCb, account: TelegramAccount, session: AsyncSession,
    settings: Settings, clock: Clock, messenger: Messenger,
) -> None:
    recipient = account.recipient
    if recipient is None or not isinstance(query.message, Message):
        await _stale(query)
        return
    package = await aid_rules.ensure_package(session, recipient, settings)
    if callback_data.action == "aidall":
        aid_rules.confirm_all(package)
    elif callback_data.action == "aidsome":
        first = aid_rules.start_item_by_item(package)
        assert first is not None
        await query.answer()
        text, markup = item_prompt(package, first.id)
        await query.message.edit_text(text, reply_markup=markup)
        return
    else:
        item = aid_rules.answer_item(package, callback_data.item, callback_data.yes)
        if item is None:
            await _stale(query)
            return
        pending = aid_rules.next_unanswered(package)
        if pending is not None:
            await query.answer()
            text, markup = item_prompt(package, pending.id)
            await query.message.edit_text(text, reply_markup=markup)
            return
    await query.answer()
    await _drop_buttons(query)
    await _aid_answered(query.message, session, recipient, package, settings, clock, messenger)


async def _aid_answered(
    target: Message, session: AsyncSession, recipient: Recipient, package: AidPackage, settings: Settings,
    clock: Clock, messenger: Messenger,
) -> None:
    """Every item answered: a case for what is missing (the TKSK is told), then the photo question."""
    await session.flush()
    opened = await aid_rules.report_incomplete(session, recipient=recipient, package=package, settings=settings,
                                               clock=clock)
    if opened is not None:
        if opened.created:
            await alert_new_case(messenger, session, opened.case)
        missing = ", ".join(html.escape(item.name) for item in aid_rules.missing_items(package))
        await target.answer(
            _("Noted. Not received yet: {missing}. Your TKSK has been told and will follow it up.").format(
                missing=missing)
        )
    else:
        await target.answer(_("✅ Thank you, all items received."))
    await ask_photo(target)


@router.message(RecipientStep(OnboardingState.AID_RECEIPT), StateFilter(None), F.text, typed_yes)
async def aid_typed_yes(
    message: Message, account: TelegramAccount, session: AsyncSession, settings: Settings, clock: Clock,
    messenger: Messenger,
) -> None:
    """ "iya", "sudah", "oke" at "Have you received all of it?" mean all received; at one item, that item."""
    recipient = account.recipient
    assert recipient is not None
    package = await aid_rules.ensure_package(session, recipient, settings)
    pending = aid_rules.next_unanswered(package)
    if pending is None:  # the photo step: a yes is not a photo
        await message.answer(_("Please answer with the buttons, or send the photo."))
        await show_aid_step(message, session, recipient, settings)
        return
    if not any(item.received is not None for item in package.items):
        aid_rules.confirm_all(package)
    else:
        aid_rules.answer_item(package, pending.id, True)
        following = aid_rules.next_unanswered(package)
        if following is not None:
            text, markup = item_prompt(package, following.id)
            await message.answer(text, reply_markup=markup)
            return
    await _aid_answered(message, session, recipient, package, settings, clock, messenger)


@router.message(RecipientStep(OnboardingState.AID_RECEIPT), StateFilter(None), F.photo)
async def aid_photo(
    message: Message, account: TelegramAccount, session: AsyncSession, settings: Settings, clock: Clock,
    messenger: Messenger,
) -> None:
    recipient = account.recipient
    assert recipient is not None and message.photo
    package = await aid_rules.ensure_package(session, recipient, settings)
    if aid_rules.next_unanswered(package) is not None:
        await message.answer(_("Please first answer the questions about your aid package."))
        await show_aid_step(message, session, recipient, settings)
        return
    largest = message.photo[-1]
    await aid_rules.add_receipt_photo(
        session, clock, recipient=recipient, package=package, file_id=largest.file_id,
        file_unique_id=largest.file_unique_id, file_size=largest.file_size, width=largest.width,
        height=largest.height,
    )
    await _finish(message, session, account, recipient, package, settings, clock, messenger)


@router.callback_query(OnbCb.filter(F.action == "later"), RecipientStep(OnboardingState.AID_RECEIPT))
async def aid_photo_later(
    query: CallbackQuery, account: TelegramAccount, session: AsyncSession, settings: Settings, clock: Clock,
    messenger: Messenger,
) -> None:
    recipient = account.recipient
    if recipient is None or not isinstance(query.message, Message):
        await _stale(query)
        return
    package = await aid_rules.ensure_package(session, recipient, settings)
    if aid_rules.next_unanswered(package) is not None:
        await _stale(query)
        return
    await query.answer()
    await _drop_buttons(query)
    await _finish(query.message, session, account, recipient, package, settings, clock, messenger)


@router.message(RecipientStep(OnboardingState.AID_RECEIPT), StateFilter(None), ~F.text.startswith("/"))
async def aid_needs_answer(message: Message, account: TelegramAccount, session: AsyncSession,
                           settings: Settings) -> None:
    await message.answer(_("Please answer with the buttons, or send the photo."))
    await show_aid_step(message, session, account.recipient, settings)  # type: ignore[arg-type]


@router.message(RecipientStep(OnboardingState.ACTIVE), StateFilter(None), F.photo, F.media_group_id)
async def aid_album_rest(
    message: Message, account: TelegramAccount, session: AsyncSession, settings: Settings, clock: Clock,
) -> None:
    """The other photos of an album whose first photo finished onboarding: keep them with the aid package."""
    recipient = account.recipient
    assert recipient is not None and message.photo
    package = await session.scalar(select(AidPackage).where(AidPackage.recipient_id == recipient.id))
    if package is None or not aid_rules.recently_completed(package, clock.now()):
        raise SkipHandler
    largest = message.photo[-1]
    await aid_rules.add_receipt_photo(
        session, clock, recipient=recipient, package=package, file_id=largest.file_id,
        file_unique_id=largest.file_unique_id, file_size=largest.file_size, width=largest.width,
        height=largest.height,
    )


async def _finish(
    target: Message, session: AsyncSession, account: TelegramAccount, recipient: Recipient, package: AidPackage,
    settings: Settings, clock: Clock, messenger: Messenger,
) -> None:
    due = await aid_rules.complete_onboarding(session, recipient=recipient, package=package, settings=settings,
                                              clock=clock)
    await notify_joined(messenger, session, recipient, account)
    text = _("🎉 Registration complete, {name}! Thank you.").format(name=html.escape(recipient.name))
    if due is not None:
        text += "\n" + _("Your first business report is due on {date}. I will remind you.").format(
            date=long_date(due.due_at, settings.program.tz))
    text += "\n" + _("Use the buttons below whenever you need them.")
    await target.answer(text, reply_markup=recipient_main_menu())


# ---------------------------------------------------------------------------------------------- privacy
@router.message(Command("privasi", "privacy"))
async def privacy(message: Message, account: TelegramAccount | None, role: Role, session: AsyncSession,
                  settings: Settings) -> None:
    text = consent_rules.consent_text()
    if role is Role.RECIPIENT and account is not None and account.recipient is not None:
        agreed = await session.scalar(
            select(ConsentRecord)
            .where(ConsentRecord.telegram_account_id == account.id, ConsentRecord.recipient_id == account.recipient_id,
                   ConsentRecord.decision == ConsentDecision.AGREE)
            .order_by(ConsentRecord.id.desc())
            .limit(1)
        )
        if agreed is not None:
            text += "\n\n" + _("You agreed on {date} WITA (text version {version}).").format(
                date=_wita(agreed.at, settings), version=html.escape(agreed.text_version))
        from conversations.privacy import dpo_text, menu_rows, open_requests_text

        pending, cancel_rows = await open_requests_text(session, account, settings)
        text += "\n\n" + _("Choose what you want to do with your data:")
        if pending:
            text += "\n\n" + pending
        text += "\n\n" + dpo_text(settings)
        await message.answer(text, reply_markup=InlineKeyboardMarkup(inline_keyboard=[
            *menu_rows(), [_btn(_("🚪 Withdraw my consent"), "wd")], *cancel_rows,
        ]))
        return
    from conversations.privacy import dpo_text

    await message.answer(text + "\n\n" + dpo_text(settings))


@router.callback_query(OnbCb.filter(F.action.in_({"wd", "wdyes", "wdno"})))
async def withdraw(
    query: CallbackQuery, callback_data: OnbCb, role: Role, account: TelegramAccount | None, state: FSMContext,
    session: AsyncSession, settings: Settings, clock: Clock, messenger: Messenger, i18n: I18n,
) -> None:
    if role is not Role.RECIPIENT or account is None or account.recipient is None or not isinstance(
            query.message, Message):
        await _stale(query)
        return
    await query.answer()
    await _drop_buttons(query)
    if callback_data.action == "wdno":
        await query.message.answer(_("Good, nothing has changed."))
        return
    if callback_data.action == "wd":
        await query.message.answer(
            _("Are you sure? If you withdraw:\n"
              "• this Telegram account is no longer linked to you, and you get no more reminders;\n"
              "• your TKSK is told;\n"
              "• data already collected (reports, photos) stays with Dinas Sosial for the program records and is "
              "not added to. You may ask Dinas Sosial to delete it.\n"
              "You can join again later with /start."),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[
                _btn(_("Yes, withdraw"), "wdyes"), _btn(_("No, stay"), "wdno"),
            ]]),
        )
        return
    from services.onboarding.notices import notify_withdrawn

    await state.clear()
    recipient = await consent_rules.withdraw(session, clock, settings, account=account, language=i18n.current_locale)
    if recipient is not None:
        from db.enums import PrivacyRequestKind
        from services.privacy.requests import record_done

        await record_done(session, clock, account=account, recipient=recipient, kind=PrivacyRequestKind.WITHDRAWAL,
                          answer="consent withdrawn, account unlinked, reminders stopped")
        await notify_withdrawn(messenger, session, recipient)
    await query.message.answer(
        _("Your consent has been withdrawn. This account is no longer linked and you will get no more reminders. "
          "Thank you for taking part. Send /start if you want to join again."),
        reply_markup=ReplyKeyboardRemove(),
    )
