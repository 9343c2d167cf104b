"""The visit report of a TKSK or PSM (``/kunjungan``, a card's 📝, or the weekly list → card → 📝).

Nothing is written until the summary is saved; the answers wait in the conversation state (photos as Telegram
file ids). The location is asked first and may be refused: the visit is then recorded without one, and flagged.
On save (:func:`services.monitoring.visits.record_visit`) the visit may count as the recipient's assisted check-in,
open one case per obstacle tapped, and move a case in "visit planned" on.

```mermaid
stateDiagram-v2
    [*] --> location: /kunjungan NAME → pick / card 📝
    location --> photos: location shared / without location (flagged)
    photos --> photos: photo or album
    photos --> status: continue
    status --> days: running / paused / changed
    status --> stock: stopped
    days --> sales
    sales --> stock
    stock --> equipment
    equipment --> obstacles
    obstacles --> obstacles: tap an obstacle (one case each)
    obstacles --> advice: done
    advice --> next_visit: text / skip
    next_visit --> confirm
    confirm --> [*]: save (refused if stale or out of area: nothing written)
    confirm --> location: start again
```
"""

from __future__ import annotations

import html
from datetime import date, timedelta
from typing import Any

from aiogram import F
from aiogram.filters import Command, CommandObject, StateFilter
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
)
from aiogram.utils.i18n import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import ButtonText, RoleFilter
from bot.i18n import N_
from bot.messenger import Messenger
from bot.routing import Router
from conversations.checkin import SALES_LABELS
from db.enums import BusinessStatus, Role
from db.models import Recipient, TelegramAccount
from services.checkins import SALES_BRACKETS
from services.clock import Clock
from services.dates import day_button, long_date
from services.i18n_labels import business_status_label, case_kind_label
from services.monitoring.card import EQUIPMENT_LABELS, STOCK_LABELS, current_version, refusal_message, worker_of
from services.monitoring.visits import (
    EQUIPMENT,
    OBSTACLE_KINDS,
    STOCK,
    VisitAnswers,
    VisitRefusal,
    VisitRefused,
    card_refusal_of,
    record_visit,
)
from services.photos import PhotoRef, PhotoTooLarge, best_photo_size, image_document

router = Router(name="visit")
router.message.filter(RoleFilter(Role.TKSK, Role.PSM))
router.callback_query.filter(RoleFilter(Role.TKSK, Role.PSM))

SHARE_LOCATION = N_("📍 Share my location")
NO_LOCATION = N_("➡️ Without location")
PHOTOS_DONE = N_("➡️ Continue")
MAX_PHOTOS = 5
SEARCH_RESULTS = 10
NEXT_VISIT_CHOICES = (14, 30, 60, 90)


class Visit(StatesGroup):
    location = State()
    photos = State()
    status = State()
    days = State()
    sales = State()
    stock = State()
    equipment = State()
    obstacles = State()
    advice = State()
    next_visit = State()
    confirm = State()


class VsCb(CallbackData, prefix="vs"):
    step: str
    value: str = ""


def _kb(rows: list[list[tuple[str, VsCb]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=cb.pack()) for t, cb in row] for row in rows])


STALE = N_("This button is no longer active. Please use the latest message.")


# ---------------------------------------------------------------------------------------------- entry
@router.message(Command("kunjungan"))
async def kunjungan(message: Message, command: CommandObject, session: AsyncSession, role: Role,
                    account: TelegramAccount, state: FSMContext) -> None:
    """``/kunjungan NAME``: pick the recipient (name or desa, own kecamatan); plain: how to start."""
    from services.monitoring.card import RcCb

    worker = worker_of(role, account)
    if worker is None:
        await message.answer(_("Sorry, that command is not available for you."))
        return
    query = " ".join((command.args or "").split())[:100]
    if not query:
        await message.answer(_("🏠 Visit report: send /kunjungan and the recipient's name or desa, for example "
                               "<code>/kunjungan Siti</code>. You can also open a card from /penerima and press "
                               "📝 Record a visit."))
        return
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = f"%{escaped}%"
    found = list(await session.scalars(
        select(Recipient).where(
            Recipient.kecamatan_id == worker.kecamatan_id, Recipient.aid_date.is_not(None),
            or_(func.lower(Recipient.name).like(like, escape="\\"), func.lower(Recipient.desa).like(like, escape="\\")),
        ).order_by(Recipient.name, Recipient.id).limit(SEARCH_RESULTS)
    ))
    if not found:
        await message.answer(_("No recipient in your kecamatan matches “{query}”.").format(query=html.escape(query)))
        return
    buttons = []
    for r in found:
        version = await current_version(session, r.id)
        buttons.append([InlineKeyboardButton(text=f"{r.name[:30]} · {(r.desa or '-')[:20]}",
                                             callback_data=RcCb(action="visit", rid=r.id, v=version).pack())])
    await message.answer(_("Whom did you visit?"), reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons))


async def begin_visit(message: Message, state: FSMContext, recipient: Recipient, *, session: AsyncSession,
                      version: int | None) -> None:
    if version is None:
        version = await current_version(session, recipient.id)
    await state.set_state(Visit.location)
    await state.set_data({"rid": recipient.id, "v": version, "name": recipient.name, "photos": [], "obstacles": []})
    await message.answer(
        _("🏠 Visit to <b>{name}</b>. First share your location on site (or continue without it: the visit is then "
          "marked as without location).").format(name=html.escape(recipient.name)),
        reply_markup=ReplyKeyboardMarkup(keyboard=[
            [KeyboardButton(text=_(SHARE_LOCATION), request_location=True)],
            [KeyboardButton(text=_(NO_LOCATION))],
        ], resize_keyboard=True, one_time_keyboard=True),
    )


# ---------------------------------------------------------------------------------------------- location, photos
def _photos_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=_(PHOTOS_DONE))]], resize_keyboard=True)


async def _ask_photos(message: Message, state: FSMContext, located: bool) -> None:
    await state.set_state(Visit.photos)
    note = _("📍 Location saved.") if located else _("📍 No location: the visit will be marked as such.")
    await message.answer(note + "\n" + _("📷 Send photos of the business as you see it (up to {n}), then press "
                                        "Continue.").format(n=MAX_PHOTOS), reply_markup=_photos_keyboard())


@router.message(Visit.location, F.location)
async def got_location(message: Message, state: FSMContext) -> None:
    assert message.location is not None
    await state.update_data(latitude=message.location.latitude, longitude=message.location.longitude)
    await _ask_photos(message, state, True)


@router.message(Visit.location, ButtonText(NO_LOCATION))
async def without_location(message: Message, state: FSMContext) -> None:
    await state.update_data(latitude=None, longitude=None)
    await _ask_photos(message, state, False)


@router.message(Visit.location, ~F.text.startswith("/"))
async def location_unexpected(message: Message) -> None:
    await message.answer(_("Please share your location with the button below, or continue without it."))


async def _add_photo(message: Message, state: FSMContext, ref: PhotoRef) -> None:
    data = await state.get_data()
    photos: list[dict[str, Any]] = data.get("photos", [])
    if any(p["file_unique_id"] == ref.file_unique_id for p in photos):
        return
    if len(photos) >= MAX_PHOTOS:
        await message.answer(_("That is enough photos. Press Continue."), reply_markup=_photos_keyboard())
        return
    photos.append(ref.as_dict())
    same_album = message.media_group_id is not None and data.get("album") == message.media_group_id
    await state.update_data(photos=photos, album=message.media_group_id)
    if not same_album:
        await message.answer(_("👍 Photo received. Send more or press Continue."), reply_markup=_photos_keyboard())


@router.message(Visit.photos, F.photo)
async def got_photo(message: Message, state: FSMContext, settings: Settings) -> None:
    try:
        ref = best_photo_size(message.photo or [], settings.storage.max_download_bytes)
    except PhotoTooLarge:
        await message.answer(_("This photo is too large for me to receive. Please send a smaller photo."))
        return
    await _add_photo(message, state, ref)


@router.message(Visit.photos, F.document)
async def got_document(message: Message, state: FSMContext, settings: Settings) -> None:
    try:
        ref = image_document(message.document, settings.storage.max_download_bytes)  # type: ignore[arg-type]
    except PhotoTooLarge:
        await message.answer(_("This photo is too large for me to receive. Please send a smaller photo."))
        return
    if ref is None:
        await message.answer(_("I can only use photos here."))
        return
    await _add_photo(message, state, ref)


@router.message(Visit.photos, ButtonText(PHOTOS_DONE))
async def photos_done(message: Message, state: FSMContext) -> None:
    await state.set_state(Visit.status)
    await message.answer(_("Photos: {n}").format(n=len((await state.get_data()).get("photos", []))),
                         reply_markup=ReplyKeyboardRemove())
    s = VsCb
    await message.answer(_("How is the business, as you saw it?"), reply_markup=_kb([
        [(_("✅ Running"), s(step="st", value=BusinessStatus.RUNNING))],
        [(_("⏸ Paused for now"), s(step="st", value=BusinessStatus.PAUSED))],
        [(_("⛔ Stopped for good"), s(step="st", value=BusinessStatus.STOPPED))],
        [(_("🔄 Changed to another business"), s(step="st", value=BusinessStatus.CHANGED))],
    ]))


@router.message(Visit.photos, ~F.text.startswith("/"))
async def photos_unexpected(message: Message) -> None:
    await message.answer(_("Send a photo, or press Continue."), reply_markup=_photos_keyboard())


# ---------------------------------------------------------------------------------------------- answers
async def _done(query: CallbackQuery, text: str) -> Message:
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.edit_text(text)
    return query.message


async def _ask_stock(message: Message, state: FSMContext) -> None:
    await state.set_state(Visit.stock)
    await message.answer(_("Stock of goods or raw materials?"), reply_markup=_kb(
        [[(_(STOCK_LABELS[v]), VsCb(step="stock", value=v))] for v in STOCK]))


@router.callback_query(Visit.status, VsCb.filter(F.step == "st"))
async def chose_status(query: CallbackQuery, callback_data: VsCb, state: FSMContext) -> None:
    if callback_data.value not in BusinessStatus._value2member_map_ or callback_data.value == BusinessStatus.UNKNOWN:
        await query.answer(_(STALE), show_alert=True)
        return
    await state.update_data(status=callback_data.value)
    message = await _done(query, _("Business: {status}").format(status=business_status_label(callback_data.value)))
    if callback_data.value == BusinessStatus.STOPPED:
        await state.update_data(days_open=None, sales_bracket=None)
        await _ask_stock(message, state)
        return
    await state.set_state(Visit.days)
    row1 = [(str(n), VsCb(step="days", value=str(n))) for n in range(0, 4)]
    row2 = [(str(n), VsCb(step="days", value=str(n))) for n in range(4, 8)]
    await message.answer(_("How many days was it open in the last 7 days?"), reply_markup=_kb([row1, row2]))


@router.callback_query(Visit.days, VsCb.filter(F.step == "days"))
async def chose_days(query: CallbackQuery, callback_data: VsCb, state: FSMContext) -> None:
    if not callback_data.value.isdigit() or not 0 <= int(callback_data.value) <= 7:
        await query.answer(_(STALE), show_alert=True)
        return
    await state.update_data(days_open=int(callback_data.value))
    message = await _done(query, _("Days open in the last week: {n}").format(n=callback_data.value))
    await state.set_state(Visit.sales)
    await message.answer(_("About how much did it sell in the last week?"), reply_markup=_kb(
        [[(_(SALES_LABELS[b]), VsCb(step="sales", value=b))] for b in SALES_BRACKETS]))


@router.callback_query(Visit.sales, VsCb.filter(F.step == "sales"))
async def chose_sales(query: CallbackQuery, callback_data: VsCb, state: FSMContext) -> None:
    if callback_data.value not in SALES_BRACKETS:
        await query.answer(_(STALE), show_alert=True)
        return
    await state.update_data(sales_bracket=callback_data.value)
    message = await _done(query, _("Sales last week: {label}").format(label=_(SALES_LABELS[callback_data.value])))
    await _ask_stock(message, state)


@router.callback_query(Visit.stock, VsCb.filter(F.step == "stock"))
async def chose_stock(query: CallbackQuery, callback_data: VsCb, state: FSMContext) -> None:
    if callback_data.value not in STOCK:
        await query.answer(_(STALE), show_alert=True)
        return
    await state.update_data(stock=callback_data.value)
    message = await _done(query, _("Stock: {label}").format(label=_(STOCK_LABELS[callback_data.value])))
    await state.set_state(Visit.equipment)
    await message.answer(_("The equipment from the aid?"), reply_markup=_kb(
        [[(_(EQUIPMENT_LABELS[v]), VsCb(step="eq", value=v))] for v in EQUIPMENT]))


def _obstacle_keyboard(chosen: list[str]) -> InlineKeyboardMarkup:
    rows = [[(("✅ " if k.value in chosen else "") + case_kind_label(k), VsCb(step="ob", value=k.value))]
            for k in OBSTACLE_KINDS]
    rows.append([(_("➡️ Done") if chosen else _("➡️ No obstacles"), VsCb(step="ob", value="done"))])
    return _kb(rows)


@router.callback_query(Visit.equipment, VsCb.filter(F.step == "eq"))
async def chose_equipment(query: CallbackQuery, callback_data: VsCb, state: FSMContext) -> None:
    if callback_data.value not in EQUIPMENT:
        await query.answer(_(STALE), show_alert=True)
        return
    await state.update_data(equipment=callback_data.value)
    message = await _done(query, _("Equipment: {label}").format(label=_(EQUIPMENT_LABELS[callback_data.value])))
    await state.set_state(Visit.obstacles)
    await message.answer(_("Obstacles found? Tap each one: it opens a case when you save."),
                         reply_markup=_obstacle_keyboard([]))


@router.callback_query(Visit.obstacles, VsCb.filter(F.step == "ob"))
async def chose_obstacle(query: CallbackQuery, callback_data: VsCb, state: FSMContext) -> None:
    chosen: list[str] = list((await state.get_data()).get("obstacles", []))
    if callback_data.value == "done":
        labels = ", ".join(case_kind_label(k) for k in chosen) or _("none")
        message = await _done(query, _("Obstacles: {labels}").format(labels=html.escape(labels)))
        await state.set_state(Visit.advice)
        await message.answer(_("What advice did you give? Write it in a few words, or press Skip."),
                             reply_markup=_kb([[(_("Skip"), VsCb(step="advice", value="skip"))]]))
        return
    if callback_data.value not in {k.value for k in OBSTACLE_KINDS}:
        await query.answer(_(STALE), show_alert=True)
        return
    if callback_data.value in chosen:
        chosen.remove(callback_data.value)
    else:
        chosen.append(callback_data.value)
    await state.update_data(obstacles=chosen)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=_obstacle_keyboard(chosen))


async def _ask_next_visit(message: Message, state: FSMContext, clock: Clock, settings: Settings) -> None:
    await state.set_state(Visit.next_visit)
    today = clock.now().astimezone(settings.program.tz).date()
    rows = [[(_("In {n} days ({day})").format(n=n, day=day_button(today + timedelta(days=n), today)),
              VsCb(step="next", value=str(n)))] for n in NEXT_VISIT_CHOICES]
    await message.answer(_("When is the next visit?"), reply_markup=_kb(rows))


@router.message(Visit.advice, F.text, ~F.text.startswith("/"))
async def got_advice(message: Message, state: FSMContext, clock: Clock, settings: Settings) -> None:
    await state.update_data(advice=(message.text or "").strip()[:1000])
    await _ask_next_visit(message, state, clock, settings)


@router.callback_query(Visit.advice, VsCb.filter(F.step == "advice"))
async def skip_advice(query: CallbackQuery, state: FSMContext, clock: Clock, settings: Settings) -> None:
    await state.update_data(advice=None)
    message = await _done(query, _("No advice noted."))
    await _ask_next_visit(message, state, clock, settings)


@router.callback_query(Visit.next_visit, VsCb.filter(F.step == "next"))
async def chose_next(query: CallbackQuery, callback_data: VsCb, state: FSMContext, clock: Clock,
                     settings: Settings) -> None:
    if not callback_data.value.isdigit() or int(callback_data.value) not in NEXT_VISIT_CHOICES:
        await query.answer(_(STALE), show_alert=True)
        return
    today = clock.now().astimezone(settings.program.tz).date()
    day = today + timedelta(days=int(callback_data.value))
    await state.update_data(next_visit_on=day.isoformat())
    message = await _done(query, _("Next visit: {day}").format(day=long_date(day)))
    await state.set_state(Visit.confirm)
    await message.answer(_summary(await state.get_data()), reply_markup=_kb([
        [(_("✅ Save the visit"), VsCb(step="ok", value="save"))],
        [(_("🔁 Start again"), VsCb(step="ok", value="again"))],
    ]))


def _summary(data: dict[str, Any]) -> str:
    lines = [_("Please check the visit report for <b>{name}</b>:").format(name=html.escape(data.get("name", "")))]
    lines.append(_("Location: shared") if data.get("latitude") is not None else _("Location: none (flagged)"))
    lines.append(_("Photos: {n}").format(n=len(data.get("photos", []))))
    lines.append(_("Business: {status}").format(status=business_status_label(data["status"])))
    if data.get("days_open") is not None:
        lines.append(_("Days open in the last week: {n}").format(n=data["days_open"]))
    if data.get("sales_bracket"):
        lines.append(_("Sales last week: {label}").format(label=_(SALES_LABELS[data["sales_bracket"]])))
    lines.append(_("Stock: {label}").format(label=_(STOCK_LABELS[data["stock"]])))
    lines.append(_("Equipment: {label}").format(label=_(EQUIPMENT_LABELS[data["equipment"]])))
    labels = ", ".join(case_kind_label(k) for k in data.get("obstacles", [])) or _("none")
    lines.append(_("Obstacles: {labels}").format(labels=html.escape(labels)))
    if data.get("advice"):
        lines.append(_("Advice: {advice}").format(advice=html.escape(data["advice"][:300])))
    lines.append(_("Next visit: {day}").format(day=long_date(date.fromisoformat(data["next_visit_on"]))))
    return "\n".join(lines)


@router.callback_query(Visit.confirm, VsCb.filter(F.step == "ok"))
async def confirm(query: CallbackQuery, callback_data: VsCb, state: FSMContext, session: AsyncSession, role: Role,
                  account: TelegramAccount, settings: Settings, clock: Clock, messenger: Messenger) -> None:
    data = await state.get_data()
    message = query.message
    if not isinstance(message, Message):
        await query.answer(_(STALE), show_alert=True)
        return
    if callback_data.value == "again":
        recipient = await session.get(Recipient, data.get("rid", 0))
        await _done(query, _("Starting again."))
        if recipient is not None:
            await begin_visit(message, state, recipient, session=session, version=data.get("v"))
        return
    answers = VisitAnswers(
        observed_status=BusinessStatus(data["status"]), days_open=data.get("days_open"),
        sales_bracket=data.get("sales_bracket"), stock=data.get("stock"), equipment=data.get("equipment"),
        obstacles=list(data.get("obstacles", [])), advice=data.get("advice"),
        next_visit_on=date.fromisoformat(data["next_visit_on"]), latitude=data.get("latitude"),
        longitude=data.get("longitude"), photos=[PhotoRef.from_dict(p) for p in data.get("photos", [])],
    )
    try:
        result = await record_visit(session, role=role, account=account, recipient_id=int(data["rid"]),
                                    version=int(data["v"]), answers=answers, settings=settings, now=clock.now())
    except VisitRefused as exc:
        await state.clear()
        if exc.reason is VisitRefusal.STALE:
            text = _("Not saved: another visit to {name} was recorded in the meantime. Open the card again to see "
                     "it.").format(name=html.escape(data.get("name", "")))
        else:
            reason = card_refusal_of(exc.reason)
            text = _("Not saved.") + " " + (refusal_message(reason) if reason else "")
        await query.answer()
        await message.edit_text(text)
        return
    await state.clear()
    await _done(query, _("✅ Visit saved."))
    lines = [_("✅ The visit to {name} is saved.").format(name=html.escape(data.get("name", "")))]
    if answers.latitude is None:
        lines.append(_("📍 Recorded without location."))
    if result.assisted:
        lines.append(_("🤝 It counts as the assisted report for this period."))
    for case in result.opened_cases:
        lines.append(_("📌 Case {number} opened: {kind}.").format(number=html.escape(case.number),
                                                                  kind=html.escape(case_kind_label(case.kind))))
    if result.moved_case is not None:
        lines.append(_("➡️ Case {number} moved on from “visit planned”; the recipient will be told.").format(
            number=html.escape(result.moved_case.number)))
    if result.next_visit_on:
        lines.append(_("🏠 Next visit due: {day}").format(day=long_date(result.next_visit_on)))
    await message.answer("\n".join(lines))
    if role is Role.PSM and result.opened_cases:
        # The kecamatan's TKSK owns cases: they hear of those a PSM found.
        from services.cases.alerts import alert_new_case

        for case in result.opened_cases:
            await alert_new_case(messenger, session, case, settings=settings)


@router.callback_query(VsCb.filter())
async def stale(query: CallbackQuery) -> None:
    await query.answer(_(STALE), show_alert=True)


# A message in a step that waits for a button.
@router.message(StateFilter(Visit.status, Visit.days, Visit.sales, Visit.stock, Visit.equipment, Visit.obstacles,
                            Visit.next_visit, Visit.confirm), ~F.text.startswith("/"))
async def press_a_button(message: Message) -> None:
    await message.answer(_("Please answer with the buttons above, or /batal to stop."))
