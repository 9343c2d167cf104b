"""``/siaran``: Dissos staff compose an announcement, choose who gets it, see it exactly as recipients will,
then send it now or at a time in WITA. Only admins and caseworkers (checked on every update, stale buttons
included); /batal or ✖️ at any step cancels without creating anything.

```mermaid
stateDiagram-v2
    [*] --> text: /siaran (staff)
    text --> english: text, or one photo (+ caption)
    english --> english_text: ➕ English version
    english --> audience: skip
    english_text --> audience: English text
    audience --> audience: toggle recipients / TKSK & PSM / filters
    audience --> preview: 👁 preview
    preview --> audience: ✏️ change audience
    preview --> [*]: 📤 send now (broadcast + deliveries created, worker woken)
    preview --> when: 🕒 schedule
    when --> confirm: date and time in WITA
    confirm --> [*]: ✅ scheduled broadcast created
    confirm --> when: ⬅️ another time
    text --> [*]: /batal or ✖️
    english --> [*]: /batal or ✖️
    english_text --> [*]: /batal or ✖️
    audience --> [*]: /batal or ✖️
    preview --> [*]: /batal or ✖️
    when --> [*]: /batal or ✖️
    confirm --> [*]: /batal or ✖️
```

FSM data (JSON): ``text_id``, ``text_en``, ``photo`` (a Telegram file_id), ``audience`` (see
``services.broadcast.audience.Audience``), ``at`` (ISO UTC), ``view`` (the filter list on screen).
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot, F
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import STAFF_ROLES, RoleFilter
from bot.i18n import N_
from bot.routing import Router
from db.enums import BusinessStatus, OnboardingState, Role
from db.models import Broadcast, Kabupaten, Kecamatan, TelegramAccount
from services.broadcast import deliveries as dl
from services.broadcast.audience import Audience, AudienceCount, count_audience
from services.broadcast.limits import CAPTION_LIMIT, MAX_AHEAD, TEXT_LIMIT
from services.broadcast.progress import FailedListCb, progress_text
from services.clock import Clock
from services.dates import long_moment
from services.i18n_labels import ONBOARDING_LABELS, business_status_label, business_type_label

router = Router(name="broadcast")
# Every message handler here is for these roles: checked once, so other people's messages skip the router at once.
router.message.filter(RoleFilter(*STAFF_ROLES))



class Compose(StatesGroup):
    text = State()
    english = State()
    english_text = State()
    audience = State()
    preview = State()
    when = State()
    confirm = State()


COMPOSING = (Compose.text, Compose.english, Compose.english_text, Compose.audience, Compose.preview,
             Compose.when, Compose.confirm)


class BcCb(CallbackData, prefix="bc"):
    """Composer buttons: ``a`` the action, ``v`` its value (e.g. ``kab.12``)."""

    a: str
    v: str = ""


DIMENSIONS = {
    "kab": N_("Kabupaten"),
    "kec": N_("Kecamatan"),
    "bt": N_("Business type"),
    "ob": N_("Onboarding state"),
    "bs": N_("Business status"),
}
_FIELD = {"kab": "kabupaten_ids", "kec": "kecamatan_ids", "bt": "business_types", "ob": "onboarding_states",
          "bs": "business_statuses"}


def _btn(text: str, a: str, v: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=BcCb(a=a, v=v).pack())


def _cancel_row() -> list[InlineKeyboardButton]:
    return [_btn(_("✖️ Cancel"), "x")]


# ------------------------------------------------------------------------------------------------ entry, refusal
@router.callback_query(BcCb.filter(), ~RoleFilter(*STAFF_ROLES))
@router.callback_query(FailedListCb.filter(), ~RoleFilter(*STAFF_ROLES))
async def refuse_non_staff(query: CallbackQuery) -> None:
    """A composer or report button pressed by someone who is not (or no longer) Dissos staff."""
    await query.answer(_("Sorry, only Dinas Sosial staff can send announcements."), show_alert=True)


@router.message(Command("siaran"))
async def start(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(Compose.text)
    await state.update_data(audience=Audience().to_json())
    await message.answer(
        _("📣 <b>New announcement</b>\n"
          "Send the message exactly as recipients should see it: a text, or one photo with a caption.\n"
          "/batal cancels at any step."),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[_cancel_row()]),
    )


@router.callback_query(BcCb.filter(F.a == "x"), StateFilter(*COMPOSING), RoleFilter(*STAFF_ROLES))
async def cancel(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(_("Cancelled. Nothing was sent."))


# ------------------------------------------------------------------------------------------------ the message
@router.message(Compose.text, F.text, ~F.text.startswith("/"))
async def got_text(message: Message, state: FSMContext) -> None:
    await state.update_data(text_id=message.html_text, photo=None)
    await _ask_english(message, state)


@router.message(Compose.text, F.photo)
async def got_photo(message: Message, state: FSMContext) -> None:
    if message.media_group_id:
        await message.answer(_("Please send only one photo. Send it again, alone, with its caption."))
        return
    caption = message.html_text if message.caption else ""
    await state.update_data(text_id=caption, photo=message.photo[-1].file_id)  # type: ignore[index]
    await _ask_english(message, state)


@router.message(Compose.text)
async def text_expected(message: Message) -> None:
    await message.answer(_("Please send a text, or one photo with a caption. /batal cancels."))


async def _ask_english(message: Message, state: FSMContext) -> None:
    await state.set_state(Compose.english)
    await message.answer(
        _("Recipients who chose English can get an English version. Add one?"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[
            [_btn(_("➕ Add English version"), "en"), _btn(_("Skip ➡️"), "noen")], _cancel_row(),
        ]),
    )


@router.callback_query(BcCb.filter(F.a == "en"), Compose.english, RoleFilter(*STAFF_ROLES))
async def want_english(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(Compose.english_text)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(
            _("Send the English text (for a photo: its English caption)."),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[_cancel_row()]),
        )


@router.message(Compose.english_text, F.text, ~F.text.startswith("/"))
async def got_english(message: Message, state: FSMContext, session: AsyncSession, settings: Settings) -> None:
    data = await state.get_data()
    limit = CAPTION_LIMIT if data.get("photo") else TEXT_LIMIT
    if len(message.text or "") > limit:
        await message.answer(_("That is too long: at most {limit} characters here. Please shorten it.").format(
            limit=limit))
        return
    await state.update_data(text_en=message.html_text)
    await state.set_state(Compose.audience)
    await _show_audience(message, state, session, settings, new=True)


@router.message(Compose.english_text)
async def english_expected(message: Message) -> None:
    await message.answer(_("Please send the English text. /batal cancels."))


@router.callback_query(BcCb.filter(F.a == "noen"), Compose.english, RoleFilter(*STAFF_ROLES))
async def skip_english(query: CallbackQuery, state: FSMContext, session: AsyncSession, settings: Settings) -> None:
    await state.update_data(text_en=None)
    await state.set_state(Compose.audience)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await _show_audience(query.message, state, session, settings, new=True)


# ------------------------------------------------------------------------------------------------ the audience
def _lang() -> str:
    i18n = I18n.get_current(no_error=True)
    return i18n.current_locale if i18n else "id"


async def _names(session: AsyncSession, audience: Audience) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if audience.kabupaten_ids:
        out["kab"] = list((await session.scalars(
            select(Kabupaten.name).where(Kabupaten.id.in_(audience.kabupaten_ids)).order_by(Kabupaten.name))).all())
    if audience.kecamatan_ids:
        out["kec"] = list((await session.scalars(
            select(Kecamatan.name).where(Kecamatan.id.in_(audience.kecamatan_ids)).order_by(Kecamatan.name))).all())
    return out


async def describe(session: AsyncSession, audience: Audience, settings: Settings) -> str:
    """The audience in words, for the composer and the preview."""
    names = await _names(session, audience)
    lines: list[str] = []
    if audience.recipients:
        lines.append("• " + (_("Recipients") if audience.has_recipient_filters or names else _("All recipients")))
    if audience.workers:
        lines.append("• " + _("TKSK and PSM"))
    if not lines:
        lines.append("• " + _("Nobody chosen yet"))
    filters = []
    if names.get("kab"):
        filters.append(_("Kabupaten") + ": " + ", ".join(names["kab"]))
    if names.get("kec"):
        filters.append(_("Kecamatan") + ": " + ", ".join(names["kec"]))
    if audience.business_types:
        filters.append(_("Business type") + ": " + ", ".join(
            business_type_label(b, settings, _lang()) for b in audience.business_types))
    if audience.onboarding_states:
        filters.append(_("Onboarding state") + ": " + ", ".join(
            _(ONBOARDING_LABELS[OnboardingState(o)]) for o in audience.onboarding_states))
    if audience.business_statuses:
        filters.append(_("Business status") + ": " + ", ".join(
            business_status_label(b) for b in audience.business_statuses))
    return "\n".join(lines + [f"   {html.escape(f)}" for f in filters])


def _count_lines(count: AudienceCount) -> str:
    lines = [_("Will reach: <b>{n}</b> people on Telegram").format(n=count.reachable)]
    if count.not_joined:
        lines.append(_("Not joined the bot yet (will not get it): {n}").format(n=count.not_joined))
    if count.blocked:
        lines.append(_("Blocked the bot earlier (tried again): {n}").format(n=count.blocked))
    return "\n".join(lines)


def _main_keyboard(audience: Audience) -> InlineKeyboardMarkup:
    def mark(on: bool) -> str:
        return "✅" if on else "☐"

    def dim(key: str) -> InlineKeyboardButton:
        n = len(getattr(audience, _FIELD[key]))
        return _btn(_(DIMENSIONS[key]) + (f" ({n})" if n else "") + " ▸", "dim", key)

    rows = [
        [_btn(f"{mark(audience.recipients)} " + _("Recipients"), "rcp"),
         _btn(f"{mark(audience.workers)} " + _("TKSK and PSM"), "wrk")],
        [dim("kab"), dim("kec")],
        [dim("bt"), dim("ob")],
        [dim("bs"), _btn(_("🔄 Clear filters"), "clr")],
        [_btn(_("👁 Preview"), "prev"), *_cancel_row()],
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def _options(session: AsyncSession, key: str, settings: Settings) -> list[tuple[str, str]]:
    """(value, label) of one filter dimension; ``kk.<kabupaten id>`` lists that kabupaten's kecamatan."""
    if key == "kab" or key == "kec":
        rows = (await session.execute(select(Kabupaten.id, Kabupaten.name).order_by(Kabupaten.name))).all()
        return [(str(i), n) for i, n in rows]
    if key.startswith("kk."):
        kab = int(key[3:])
        rows = (await session.execute(
            select(Kecamatan.id, Kecamatan.name).where(Kecamatan.kabupaten_id == kab).order_by(Kecamatan.name))).all()
        return [(str(i), n) for i, n in rows]
    if key == "bt":
        return [(c, business_type_label(c, settings, _lang())) for c in settings.program.business_types]
    if key == "ob":
        return [(s.value, _(label)) for s, label in ONBOARDING_LABELS.items()]
    if key == "bs":
        return [(s.value, business_status_label(s)) for s in BusinessStatus]
    return []


async def _dimension_keyboard(session: AsyncSession, key: str, audience: Audience,
                              settings: Settings) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    options = await _options(session, key, settings)
    pair: list[InlineKeyboardButton] = []
    for value, label in options:
        if key == "kec":  # first the kabupaten, then its kecamatan
            button = _btn(label + " ▸", "dim", f"kk.{value}")
        else:
            field = _FIELD["kec" if key.startswith("kk.") else key]
            chosen = getattr(audience, field)
            on = (int(value) if field.endswith("_ids") else value) in chosen
            button = _btn(("✅ " if on else "☐ ") + label, "tog", f"{key.split('.')[0]}.{value}")
        pair.append(button)
        if len(pair) == 2:
            rows.append(pair)
            pair = []
    if pair:
        rows.append(pair)
    back = "kec" if key.startswith("kk.") else ""
    rows.append([_btn(_("⬅️ Back"), "dim" if back else "back", back), _btn(_("👁 Preview"), "prev")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def _audience_text(session: AsyncSession, audience: Audience, settings: Settings) -> str:
    count = await count_audience(session, audience)
    return "\n".join([
        _("👥 <b>Who gets it?</b> Tap to choose; filters combine (kecamatan A <i>and</i> business type B)."),
        "", await describe(session, audience, settings), "", _count_lines(count),
    ])


async def _show_audience(message: Message, state: FSMContext, session: AsyncSession, settings: Settings,
                         *, new: bool = False) -> None:
    data = await state.get_data()
    audience = Audience.from_json(data.get("audience"))
    text = await _audience_text(session, audience, settings)
    keyboard = _main_keyboard(audience)
    await state.update_data(view="")
    if new:
        await message.answer(text, reply_markup=keyboard)
        await state.update_data(screen=_screen(text, keyboard))
    else:
        await _edit(message, state, text, keyboard)


def _screen(text: str, keyboard: InlineKeyboardMarkup) -> str:
    return hashlib.sha1((text + keyboard.model_dump_json()).encode()).hexdigest()[:16]


async def _edit(message: Message, state: FSMContext, text: str, keyboard: InlineKeyboardMarkup) -> None:
    """Edit the composer's message, unless it already shows exactly this (Telegram refuses such an edit)."""
    screen = _screen(text, keyboard)
    if (await state.get_data()).get("screen") == screen:
        return
    await message.edit_text(text, reply_markup=keyboard)
    await state.update_data(screen=screen)


@router.callback_query(BcCb.filter(F.a.in_({"rcp", "wrk", "clr", "back"})), Compose.audience,
                       RoleFilter(*STAFF_ROLES))
async def toggle_group(query: CallbackQuery, callback_data: BcCb, state: FSMContext, session: AsyncSession,
                       settings: Settings) -> None:
    data = await state.get_data()
    audience = Audience.from_json(data.get("audience"))
    if callback_data.a == "rcp":
        audience.recipients = not audience.recipients
    elif callback_data.a == "wrk":
        audience.workers = not audience.workers
    elif callback_data.a == "clr":
        audience = Audience(recipients=audience.recipients, workers=audience.workers)
    await state.update_data(audience=audience.to_json())
    await query.answer()
    if isinstance(query.message, Message):
        await _show_audience(query.message, state, session, settings)


@router.callback_query(BcCb.filter(F.a == "dim"), Compose.audience, RoleFilter(*STAFF_ROLES))
async def open_dimension(query: CallbackQuery, callback_data: BcCb, state: FSMContext, session: AsyncSession,
                         settings: Settings) -> None:
    key = callback_data.v
    if key not in DIMENSIONS and not re.fullmatch(r"kk\.\d+", key):
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    await _show_dimension(query, key, state, session, settings)


async def _show_dimension(query: CallbackQuery, key: str, state: FSMContext, session: AsyncSession,
                          settings: Settings) -> None:
    data = await state.get_data()
    audience = Audience.from_json(data.get("audience"))
    await state.update_data(view=key)
    await query.answer()
    if not isinstance(query.message, Message):
        return
    title = _(DIMENSIONS["kec" if key.startswith("kk.") else key])
    if key == "kec":
        hint = _("Choose the kabupaten first.")
    elif key.startswith("kk."):
        kab = await session.get(Kabupaten, int(key[3:]))
        hint = html.escape(kab.name) if kab else ""
    else:
        hint = _("Tap to choose one or more.")
    text = "\n".join([f"<b>{title}</b>", hint, "", _count_lines(await count_audience(session, audience))])
    await _edit(query.message, state, text, await _dimension_keyboard(session, key, audience, settings))


@router.callback_query(BcCb.filter(F.a == "tog"), Compose.audience, RoleFilter(*STAFF_ROLES))
async def toggle_value(query: CallbackQuery, callback_data: BcCb, state: FSMContext, session: AsyncSession,
                       settings: Settings) -> None:
    key, _sep, raw = callback_data.v.partition(".")
    valid = {"kab", "kk", "bt", "ob", "bs"}
    if key not in valid or not raw:
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    field = _FIELD["kec" if key == "kk" else key]
    value: Any = raw
    if field.endswith("_ids"):
        if not raw.isdigit():
            await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
            return
        value = int(raw)
    if key == "kk":
        allowed = {str(value)} if await session.get(Kecamatan, value) is not None else set()
    else:
        allowed = {v for v, _label in await _options(session, key, settings)}
    if str(value) not in allowed:
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    data = await state.get_data()
    audience = Audience.from_json(data.get("audience"))
    chosen = list(getattr(audience, field))
    if value in chosen:
        chosen.remove(value)
    else:
        chosen.append(value)
    setattr(audience, field, chosen)
    await state.update_data(audience=audience.to_json())
    view = data.get("view") or key
    await _show_dimension(query, view, state, session, settings)


# ------------------------------------------------------------------------------------------------ preview, sending
async def _send_as_recipients_see_it(bot: Bot, chat_id: int, text: str, photo: str | None) -> None:
    if photo:
        await bot.send_photo(chat_id, photo, caption=text or None)
    else:
        await bot.send_message(chat_id, text)


@router.callback_query(BcCb.filter(F.a == "prev"), Compose.audience, RoleFilter(*STAFF_ROLES))
async def preview(query: CallbackQuery, state: FSMContext, session: AsyncSession, settings: Settings,
                  bot: Bot) -> None:
    data = await state.get_data()
    audience = Audience.from_json(data.get("audience"))
    if audience.empty:
        await query.answer(_("Choose recipients, TKSK and PSM, or both."), show_alert=True)
        return
    await query.answer()
    if not isinstance(query.message, Message):
        return
    await state.set_state(Compose.preview)
    await query.message.edit_reply_markup(reply_markup=None)
    chat_id = query.message.chat.id
    await query.message.answer(_("👁 <b>Preview</b> — exactly as recipients will see it (Bahasa Indonesia):"))
    await _send_as_recipients_see_it(bot, chat_id, data.get("text_id") or "", data.get("photo"))
    if data.get("text_en"):
        await query.message.answer(_("English version, for people who chose English:"))
        await _send_as_recipients_see_it(bot, chat_id, data["text_en"], data.get("photo"))
    count = await count_audience(session, audience)
    text = "\n".join([_("<b>Audience</b>"), await describe(session, audience, settings), "", _count_lines(count)])
    if count.reachable:
        rows = [[_btn(_("📤 Send now"), "now"), _btn(_("🕒 Schedule"), "sch")]]
    else:
        text += "\n\n" + _("Nobody in this audience can be reached yet. Change the audience.")
        rows = []
    rows += [[_btn(_("✏️ Change audience"), "aud"), *_cancel_row()]]
    await query.message.answer(text, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


@router.callback_query(BcCb.filter(F.a == "aud"), Compose.preview, RoleFilter(*STAFF_ROLES))
async def change_audience(query: CallbackQuery, state: FSMContext, session: AsyncSession, settings: Settings) -> None:
    await state.set_state(Compose.audience)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await _show_audience(query.message, state, session, settings, new=True)


def _actor(account: TelegramAccount | None, role: Role) -> str:
    name = account.staff.name if account and account.staff else (account.first_name if account else "?")
    return f"{name} ({role.value})"


async def _create(state: FSMContext, session: AsyncSession, clock: Clock, account: TelegramAccount | None,
                  role: Role, chat_id: int, at: datetime | None) -> Broadcast:
    data = await state.get_data()
    return await dl.create_broadcast(
        session, clock, actor=_actor(account, role), actor_account_id=account.id if account else None,
        text_id=data.get("text_id") or "", text_en=data.get("text_en"), photo_file_id=data.get("photo"),
        audience=Audience.from_json(data.get("audience")), scheduled_at=at, progress_chat_id=chat_id,
    )


@router.callback_query(BcCb.filter(F.a == "now"), Compose.preview, RoleFilter(*STAFF_ROLES))
async def send_now(query: CallbackQuery, state: FSMContext, session: AsyncSession, clock: Clock,
                   account: TelegramAccount | None, role: Role) -> None:
    if not isinstance(query.message, Message):
        await query.answer()
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    broadcast = await _create(state, session, clock, account, role, query.message.chat.id, None)
    await state.clear()
    progress = await query.message.answer(progress_text(broadcast.id, dl.Counts(pending=broadcast.total)))
    broadcast.progress_message_id = progress.message_id
    await session.commit()  # the worker must see the broadcast and its deliveries
    from services.broadcast.worker import wake

    wake()


@router.callback_query(BcCb.filter(F.a == "sch"), Compose.preview, RoleFilter(*STAFF_ROLES))
@router.callback_query(BcCb.filter(F.a == "sch"), Compose.confirm, RoleFilter(*STAFF_ROLES))
async def ask_time(query: CallbackQuery, state: FSMContext, settings: Settings, clock: Clock) -> None:
    await state.set_state(Compose.when)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        example = (clock.now().astimezone(settings.program.tz) + timedelta(days=1)).strftime("%d-%m-%Y 08:00")
        await query.message.answer(
            _("When should it go out? Send the date and time in WITA, for example <code>{example}</code>.").format(
                example=example),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[_cancel_row()]),
        )


_TIME_FORMATS = ("%d-%m-%Y %H:%M", "%d/%m/%Y %H:%M", "%d-%m-%Y %H.%M", "%d/%m/%Y %H.%M", "%Y-%m-%d %H:%M",
                 "%d-%m-%y %H:%M", "%d/%m/%y %H:%M")


def parse_wita(text: str, settings: Settings) -> datetime | None:
    """A local (WITA) date and time typed by staff → aware UTC, or None."""
    cleaned = re.sub(r"\s+", " ", text.strip().upper().replace("WITA", "")).strip()
    for fmt in _TIME_FORMATS:
        try:
            local = datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
        return local.replace(tzinfo=settings.program.tz).astimezone(UTC)
    return None


def format_wita(at: datetime, settings: Settings) -> str:
    return long_moment(at, settings.program.tz, zone=True)


@router.message(Compose.when, F.text, ~F.text.startswith("/"))
async def got_time(message: Message, state: FSMContext, settings: Settings, clock: Clock,
                   session: AsyncSession) -> None:
    at = parse_wita(message.text or "", settings)
    now = clock.now()
    if at is None:
        await message.answer(_("I could not read that time. Please write it like <code>05-03-2026 08:00</code>."))
        return
    if at <= now:
        await message.answer(_("That time has already passed. Please choose a time in the future."))
        return
    if at - now > MAX_AHEAD:
        await message.answer(_("Please choose a time within the next 90 days."))
        return
    await state.update_data(at=at.isoformat())
    await state.set_state(Compose.confirm)
    data = await state.get_data()
    count = await count_audience(session, Audience.from_json(data.get("audience")))
    await message.answer(
        _("Send on <b>{when}</b> to the audience below?").format(when=format_wita(at, settings)) + "\n"
        + _count_lines(count) + "\n" + _("(People who join before then will get it too.)"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[
            [_btn(_("✅ Confirm"), "ok"), _btn(_("⬅️ Another time"), "sch")], _cancel_row(),
        ]),
    )


@router.message(Compose.when)
async def time_expected(message: Message) -> None:
    await message.answer(_("Please send the date and time, for example <code>05-03-2026 08:00</code>. /batal cancels."))


@router.callback_query(BcCb.filter(F.a == "ok"), Compose.confirm, RoleFilter(*STAFF_ROLES))
async def confirm_schedule(query: CallbackQuery, state: FSMContext, session: AsyncSession, clock: Clock,
                           settings: Settings, account: TelegramAccount | None, role: Role) -> None:
    data = await state.get_data()
    at = datetime.fromisoformat(data["at"])
    if at <= clock.now():
        await query.answer(_("That time has already passed. Please choose a time in the future."), show_alert=True)
        return
    await query.answer()
    if not isinstance(query.message, Message):
        return
    await query.message.edit_reply_markup(reply_markup=None)
    broadcast = await _create(state, session, clock, account, role, query.message.chat.id, at)
    await state.clear()
    await query.message.answer(
        _("🕒 Broadcast #{id} is scheduled for {when}. I will show its progress here when it starts.").format(
            id=broadcast.id, when=format_wita(at, settings))
    )


# ------------------------------------------------------------------------------------------------ failed list
@router.callback_query(FailedListCb.filter(), RoleFilter(*STAFF_ROLES))
async def failed_list(query: CallbackQuery, callback_data: FailedListCb, session: AsyncSession, clock: Clock,
                      account: TelegramAccount | None, role: Role, bot: Bot) -> None:
    broadcast = await session.get(Broadcast, callback_data.broadcast_id)
    if broadcast is None:
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    await query.answer()
    data = await failed_csv(session, broadcast.id)
    from services.audit import audit

    audit(session, clock, actor=_actor(account, role), actor_account_id=account.id if account else None,
          action="broadcast.failed_list", target=f"broadcast:{broadcast.id}")
    await bot.send_document(
        query.from_user.id, BufferedInputFile(data, filename=f"siaran-{broadcast.id}-tidak-terkirim.csv"),
        caption=_("People broadcast #{id} did not reach.").format(id=broadcast.id),
    )


async def failed_csv(session: AsyncSession, broadcast_id: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(dl.FAILED_CSV_HEADER)
    async for rows in dl.failed_rows(session, broadcast_id):
        writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")
