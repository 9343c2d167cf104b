"""The menu buttons in the middle of a flow: leave it, or carry on, and the answers wait for the day.

A recipient in the middle of the business report who presses 🆘 (or, in a problem report, 📋) is asked once
whether to leave. Leaving puts the answers so far aside (FSM storage under a destiny of their own, so the
database keeps them across a restart); coming back to the same flow the same day (WITA) takes them up again
at the step where they were left. Pressing the button of the flow one is already in asks its question again.

```mermaid
stateDiagram-v2
    checkin --> leave_question: 🆘 / kendala
    obstacle --> leave_question: 📋 / lapor
    leave_question --> other_flow: ✅ yes (answers put aside), a typed "iya", or the same button again
    leave_question --> checkin: ↩️ no, carry on (the question again)
    leave_question --> obstacle: ↩️ no, carry on (the question again)
    other_flow --> checkin: 📋 later the same day (answers taken up again)
```
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from aiogram import F
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.answers import typed_yes
from bot.config import Settings
from bot.filters import ButtonText, RoleFilter
from bot.routing import Router
from conversations.checkin import Checkin
from conversations.obstacle import ObstacleReport
from conversations.questions import ask_again
from db.enums import Role
from handlers.keyboards import MENU_PROBLEM, MENU_REPORT
from services.clock import Clock

router = Router(name="leaving")
router.message.filter(RoleFilter(Role.RECIPIENT))
router.callback_query.filter(RoleFilter(Role.RECIPIENT))

FLOWS = {"checkin": Checkin, "obstacle": ObstacleReport}
_REPORT_BUTTON = ButtonText(MENU_REPORT)


def _wanted(text: str) -> str:
    """The flow a menu button or command asks for."""
    return "checkin" if text.startswith("/lapor") or text in _REPORT_BUTTON._all_texts() else "obstacle"


class LeaveCb(CallbackData, prefix="lv"):
    to: str  # checkin | obstacle | stay


def _flow_of(state_name: str | None) -> str | None:
    for name, group in FLOWS.items():
        if state_name and state_name.startswith(group.__full_group_name__ + ":"):
            return name
    return None


def _today(settings: Settings, clock: Clock) -> date:
    return clock.now().astimezone(settings.program.tz).date()


def _paused(state: FSMContext, flow: str) -> FSMContext:
    return FSMContext(storage=state.storage, key=replace(state.key, destiny=f"paused_{flow}"))


async def _start(flow: str, message: Message, state: FSMContext, data: dict[str, Any]) -> None:
    if flow == "checkin":
        from conversations.checkin import begin_checkin

        await begin_checkin(message, state, data.get("account"))
    else:
        from conversations.obstacle import begin_obstacle_report

        await begin_obstacle_report(message, state, **data)


async def take_up_paused(flow: str, message: Message, state: FSMContext, data: dict[str, Any]) -> bool:
    """Start ``flow`` where the person left it today; False (and nothing changed) when nothing waits."""
    paused = _paused(state, flow)
    saved = await paused.get_data()
    if not saved:
        return False
    await paused.clear()
    settings: Settings = data["settings"]
    if saved.get("day") != _today(settings, data["clock"]).isoformat() or _flow_of(saved.get("state")) != flow:
        return False
    await state.set_state(saved["state"])
    await state.set_data(saved.get("data") or {})
    await message.answer(_("Welcome back. Your answers from earlier are kept; let's go on."))
    return await ask_again(message, state, data)


def _leave_keyboard(to: str) -> InlineKeyboardMarkup:
    go = _("✅ Yes, report a problem") if to == "obstacle" else _("✅ Yes, report my business")
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=go, callback_data=LeaveCb(to=to).pack())],
        [InlineKeyboardButton(text=_("↩️ No, carry on"), callback_data=LeaveCb(to="stay").pack())],
    ])


async def _leave(to: str, message: Message, state: FSMContext, data: dict[str, Any]) -> None:
    current = await state.get_state()
    flow = _flow_of(current)
    if flow is not None:
        saved = {k: v for k, v in (await state.get_data()).items() if k not in ("leave_asked", "leave_asked_at")}
        await _paused(state, flow).set_data({
            "state": current, "data": saved, "day": _today(data["settings"], data["clock"]).isoformat(),
        })
    await state.clear()
    if not await take_up_paused(to, message, state, data):
        await _start(to, message, state, data)


@router.message(StateFilter(Checkin, ObstacleReport), ButtonText(MENU_REPORT, MENU_PROBLEM))
@router.message(StateFilter(Checkin, ObstacleReport), Command("lapor", "kendala"))
async def menu_button_mid_flow(message: Message, state: FSMContext, **data: Any) -> None:
    wants = _wanted((message.text or "").strip())
    current = _flow_of(await state.get_state())
    if current == wants:  # already there: the step's question again
        await ask_again(message, state, data)
        return
    if (await state.get_data()).get("leave_asked") == wants:  # asked once already: they mean it
        await _leave(wants, message, state, data)
        return
    await state.update_data(leave_asked=wants, leave_asked_at=await state.get_state())
    if current == "checkin":
        question = _("You are in the middle of your business report. Leave it and report a problem? "
                     "Your answers are kept until tonight.")
    else:
        question = _("You are in the middle of a problem report. Leave it and report on your business? "
                     "Your answers are kept until tonight.")
    await message.answer(question, reply_markup=_leave_keyboard(wants))


@router.message(StateFilter(Checkin, ObstacleReport), F.text, typed_yes)
async def typed_yes_to_leave(message: Message, state: FSMContext, **data: Any) -> None:
    """ "iya", "ya", "oke" right after "Leave it and …?" mean yes; otherwise the yes belongs to the flow's step."""
    saved = await state.get_data()
    asked = saved.get("leave_asked")
    # Only while the leave question is the last one asked: once the flow moved on, a yes is the step's answer.
    if asked not in FLOWS or saved.get("leave_asked_at") != await state.get_state():
        raise SkipHandler
    await _leave(str(asked), message, state, data)


@router.callback_query(LeaveCb.filter())
async def leave_answer(query: CallbackQuery, callback_data: LeaveCb, state: FSMContext, **data: Any) -> None:
    message = query.message
    asked = (await state.get_data()).get("leave_asked")
    if not isinstance(message, Message) or asked is None or (callback_data.to != "stay" and callback_data.to != asked):
        await query.answer(_("This button is no longer active. Please use the latest message."), show_alert=True)
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    if callback_data.to == "stay":
        await state.update_data(leave_asked=None)
        await ask_again(message, state, data)
        return
    await _leave(callback_data.to, message, state, data)


@router.message(StateFilter(None), F.text, ButtonText(MENU_REPORT, MENU_PROBLEM))
@router.message(StateFilter(None), Command("lapor", "kendala"))
async def back_to_a_paused_flow(message: Message, state: FSMContext, **data: Any) -> None:
    """Outside a flow: a report left earlier today is taken up again; otherwise the usual entry points."""
    from aiogram.dispatcher.event.bases import SkipHandler

    flow = _wanted((message.text or "").strip())
    if not await take_up_paused(flow, message, state, data):
        raise SkipHandler
