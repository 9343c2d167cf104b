"""``/serahterima`` for a TKSK or PSM: hand an aid package over and record it (the BAST).

```mermaid
stateDiagram-v2
    [*] --> pick: /serahterima (packages of own kecamatan not handed over)
    pick --> checklist: a recipient
    checklist --> checklist: tick an item / tick all
    checklist --> photo: every item ticked
    photo --> location: photo of the recipient with the goods
    location --> confirm: GPS location shared
    confirm --> [*]: record (BAST number; the recipient is asked to confirm receipt)
```

Nothing is written before the last step; the checklist, photo and location wait in the conversation state
(kept in the database). The record re-checks everything (own kecamatan, not handed over yet, every item, a
photo, a location).
"""

from __future__ import annotations

import html
from typing import Any

from aiogram import Bot, F
from aiogram.filters import Command
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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.answers import typed_yes
from bot.config import Settings
from bot.context import AppContext
from bot.filters import RoleFilter
from bot.i18n import N_
from bot.routing import Router
from db.enums import Role
from db.models import AidPackage, FieldWorker, TelegramAccount
from services.aid.catalog import rupiah
from services.aid.handover import HandoverRefused, pending_in, record_handover, target_for
from services.aid.packages import item_line
from services.photos import PhotoRef, PhotoTooLarge, best_photo_size

router = Router(name="handover")
router.message.filter(RoleFilter(Role.TKSK, Role.PSM))
router.callback_query.filter(RoleFilter(Role.TKSK, Role.PSM))

SEND_LOCATION = N_("📍 Send the location")
REFUSALS = {
    "not_found": N_("This recipient is not on your list."),
    "other_kecamatan": N_("This recipient lives outside your kecamatan. You can only hand over aid in your own "
                          "kecamatan."),
    "no_package": N_("This recipient has no aid package yet."),
    "already_handed_over": N_("This package has already been handed over (BAST {number}). A second hand-over is "
                              "not possible."),
    "items_missing": N_("Not every item is ticked: {items}. Hand over every item first, or ask Dinas Sosial to "
                        "change the package."),
    "no_photo": N_("A photo of the recipient with the goods is required."),
    "no_location": N_("The location is required."),
    "stale": N_("This button is no longer active. Please use the latest message."),
}


class Serah(StatesGroup):
    checklist = State()
    photo = State()
    location = State()
    confirm = State()


class SeCb(CallbackData, prefix="se"):
    a: str       # pick | tick | all | next | ok
    id: int = 0  # recipient id
    pos: int = 0


def _worker(account: TelegramAccount | None) -> FieldWorker | None:
    if account is None or account.worker is None or not account.worker.active:
        return None
    return account.worker


def _kb(rows: list[list[tuple[str, SeCb]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=cb.pack()) for t, cb in row] for row in rows]
    )


def _refusal(exc: HandoverRefused) -> str:
    """Short enough for a callback alert (Telegram allows 200 characters)."""
    details = {k: html.escape(str(v)) for k, v in exc.details.items()}
    if len(details.get("items", "")) > 60:
        details["items"] = details["items"][:57].rsplit(",", 1)[0] + ", …"
    text = _(REFUSALS[exc.code]).format(**details)
    return text if len(text) <= 200 else text[:199] + "…"


@router.message(Command("serahterima"))
async def list_pending(message: Message, session: AsyncSession, account: TelegramAccount | None,
                       state: FSMContext) -> None:
    worker = _worker(account)
    if worker is None:
        await message.answer(_("Your field-worker account is not active. Please contact Dinas Sosial."))
        return
    await state.clear()
    targets = await pending_in(session, worker)
    if not targets:
        await message.answer(_("No aid packages are waiting to be handed over in {kecamatan}.").format(
            kecamatan=html.escape(worker.kecamatan.name)))
        return
    rows = [[(f"{t.recipient.name} · {rupiah(t.package.value)}"[:60], SeCb(a="pick", id=t.recipient.id))]
            for t in targets[:30]]
    await message.answer(_("🎁 Aid packages to hand over in {kecamatan}: {n}. Choose a recipient:").format(
        kecamatan=html.escape(worker.kecamatan.name), n=len(targets)), reply_markup=_kb(rows))


def _checklist(package: AidPackage, name: str, ticked: set[int], recipient_id: int
               ) -> tuple[str, InlineKeyboardMarkup]:
    lines = [_("🎁 Hand-over to <b>{name}</b>. Tick every item you hand over:").format(name=html.escape(name))]
    rows: list[list[tuple[str, SeCb]]] = []
    for item in package.items:
        mark = "☑" if item.position in ticked else "☐"
        lines.append(f"{mark} {item.position}. {item_line(item)}")
        rows.append([(f"{mark} {item.name}"[:60], SeCb(a="tick", id=recipient_id, pos=item.position))])
    rows.append([(_("☑ All handed over"), SeCb(a="all", id=recipient_id))])
    rows.append([(_("➡️ Continue"), SeCb(a="next", id=recipient_id))])
    lines.append(_("Total value: {total}").format(total=rupiah(package.value)))
    return "\n".join(lines), _kb(rows)


async def _target(query: CallbackQuery, session: AsyncSession, account: TelegramAccount | None, recipient_id: int):  # type: ignore[no-untyped-def]
    worker = _worker(account)
    if worker is None or not isinstance(query.message, Message):
        await query.answer(_(REFUSALS["stale"]), show_alert=True)
        return None
    try:
        return await target_for(session, worker, recipient_id)
    except HandoverRefused as exc:
        await query.answer(_refusal(exc), show_alert=True)
        return None


@router.callback_query(SeCb.filter(F.a == "pick"))
async def pick(query: CallbackQuery, callback_data: SeCb, session: AsyncSession, account: TelegramAccount | None,
               state: FSMContext) -> None:
    target = await _target(query, session, account, callback_data.id)
    if target is None:
        return
    await state.set_state(Serah.checklist)
    await state.set_data({"recipient_id": target.recipient.id, "ticked": []})
    await query.answer()
    text, markup = _checklist(target.package, target.recipient.name, set(), target.recipient.id)
    assert isinstance(query.message, Message)
    await query.message.answer(text, reply_markup=markup)


@router.callback_query(SeCb.filter(F.a.in_({"tick", "all"})))
async def tick(query: CallbackQuery, callback_data: SeCb, session: AsyncSession, account: TelegramAccount | None,
               state: FSMContext) -> None:
    data = await state.get_data()
    if data.get("recipient_id") != callback_data.id:
        await query.answer(_(REFUSALS["stale"]), show_alert=True)
        return
    target = await _target(query, session, account, callback_data.id)
    if target is None:
        return
    ticked = set(data.get("ticked", []))
    positions = {i.position for i in target.package.items}
    if callback_data.a == "all":
        ticked = positions
    elif callback_data.pos in positions:
        ticked ^= {callback_data.pos}
    await state.update_data(ticked=sorted(ticked))
    await query.answer()
    text, markup = _checklist(target.package, target.recipient.name, ticked, target.recipient.id)
    assert isinstance(query.message, Message)
    await query.message.edit_text(text, reply_markup=markup)


@router.callback_query(SeCb.filter(F.a == "next"))
async def checklist_done(query: CallbackQuery, callback_data: SeCb, session: AsyncSession,
                         account: TelegramAccount | None, state: FSMContext) -> None:
    data = await state.get_data()
    if data.get("recipient_id") != callback_data.id:
        await query.answer(_(REFUSALS["stale"]), show_alert=True)
        return
    target = await _target(query, session, account, callback_data.id)
    if target is None:
        return
    missing = [i.name for i in target.package.items if i.position not in set(data.get("ticked", []))]
    if missing:
        await query.answer(_refusal(HandoverRefused("items_missing", items=", ".join(missing))), show_alert=True)
        return
    await query.answer()
    await state.set_state(Serah.photo)
    assert isinstance(query.message, Message)
    await query.message.answer(_("📷 Send a photo of {name} with the goods.").format(
        name=html.escape(target.recipient.name)))


@router.message(Serah.photo, F.photo)
async def got_photo(message: Message, state: FSMContext, settings: Settings) -> None:
    try:
        ref = best_photo_size(message.photo or [], settings.storage.max_download_bytes)
    except PhotoTooLarge:
        await message.answer(_("This photo is too large for me to receive. Please send a smaller photo."))
        return
    await state.update_data(photo=ref.as_dict())
    await state.set_state(Serah.location)
    await message.answer(_("📍 Now share the location of the hand-over."), reply_markup=ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_(SEND_LOCATION), request_location=True)]], resize_keyboard=True))


@router.message(Serah.photo)
async def photo_expected(message: Message) -> None:
    await message.answer(_(REFUSALS["no_photo"]) + " " + _("Please send the photo."))


@router.message(Serah.location, F.location)
async def got_location(message: Message, state: FSMContext, session: AsyncSession,
                       account: TelegramAccount | None) -> None:
    assert message.location is not None
    await state.update_data(latitude=message.location.latitude, longitude=message.location.longitude)
    await state.set_state(Serah.confirm)
    data = await state.get_data()
    await message.answer(_("📍 Location saved."), reply_markup=ReplyKeyboardRemove())
    await message.answer(_("Record the hand-over now? The recipient will be asked to confirm receipt."),
                         reply_markup=_kb([[(_("✅ Record the hand-over"), SeCb(a="ok", id=data["recipient_id"]))]]))


@router.message(Serah.location)
async def location_expected(message: Message) -> None:
    await message.answer(_("Please share the location with the button below (GPS on)."),
                         reply_markup=ReplyKeyboardMarkup(keyboard=[[KeyboardButton(
                             text=_(SEND_LOCATION), request_location=True)]], resize_keyboard=True))


@router.callback_query(SeCb.filter(F.a == "ok"))
async def record(query: CallbackQuery, callback_data: SeCb, session: AsyncSession, account: TelegramAccount | None,
                 state: FSMContext, ctx: AppContext, settings: Settings, bot: Bot) -> None:
    data: dict[str, Any] = await state.get_data()
    worker = _worker(account)
    if worker is None or data.get("recipient_id") != callback_data.id or not isinstance(query.message, Message):
        await query.answer(_(REFUSALS["stale"]), show_alert=True)
        return
    await _record(query.message, data, session, account, state, ctx, settings, bot, query=query)


@router.message(Serah.confirm, F.text, typed_yes)
async def typed_record(message: Message, session: AsyncSession, account: TelegramAccount | None,
                       state: FSMContext, ctx: AppContext, settings: Settings, bot: Bot) -> None:
    """ "iya", "ya", "oke", "siap" at "Record the hand-over now?" mean ✅ Record."""
    data: dict[str, Any] = await state.get_data()
    if _worker(account) is None or not data.get("recipient_id"):
        await message.answer(_(REFUSALS["stale"]))
        return
    await _record(message, data, session, account, state, ctx, settings, bot, query=None)


async def _say(message: Message, query: CallbackQuery | None, text: str, *, done: bool = False) -> None:
    """A refusal as the press's alert, or as a message when the answer was typed; ``done``: the result, in
    place of the question's buttons when it was pressed."""
    if query is None:
        await message.answer(text)
    elif done:
        await query.answer()
        await message.edit_text(text)
    else:
        await query.answer(text, show_alert=True)


async def _record(message: Message, data: dict[str, Any], session: AsyncSession, account: TelegramAccount | None,
                  state: FSMContext, ctx: AppContext, settings: Settings, bot: Bot, *,
                  query: CallbackQuery | None) -> None:
    worker = _worker(account)
    assert worker is not None
    from services.aid.assessment import worker_actor

    assert account is not None
    photo = PhotoRef.from_dict(data["photo"]) if data.get("photo") else None
    try:
        handover = await record_handover(
            session, ctx.clock, settings, worker, int(data["recipient_id"]), ticked=set(data.get("ticked", [])),
            photo=photo, latitude=data.get("latitude"), longitude=data.get("longitude"),
            actor=worker_actor(worker, account.id))
        await session.commit()
    except HandoverRefused as exc:
        await _say(message, query, _refusal(exc))
        return
    except IntegrityError:  # the same package recorded at the same moment from another phone
        await session.rollback()
        await _say(message, query, _refusal(HandoverRefused("already_handed_over", number="-")))
        return
    await state.clear()
    await _say(message, query, _("✅ Hand-over recorded. BAST number: {number}. The recipient is asked to "
                                 "confirm receipt in their own chat.").format(number=html.escape(handover.number)),
               done=True)
    from conversations.checkin import _download_soon

    _download_soon(bot, ctx, [handover.photo_id])
