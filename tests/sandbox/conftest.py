"""Fixtures for the emulator's own tests: a running emulator, an aiogram Bot pointed at it, and a
tiny echo bot (aiogram Dispatcher in polling mode) to drive conversations through real aiogram."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package lives at the repo root; no project-wide config assumed
    sys.path.insert(0, str(ROOT))

from sandbox import TelegramEmulator  # noqa: E402

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    emulator = TelegramEmulator(self_check=True)
    await emulator.start(port=0)
    emulator.add_bot(TOKEN, "aid_test_bot")
    try:
        yield emulator
    finally:
        await emulator.stop()
    assert emulator.pipeline.self_check_errors == [], "emulator answered with results that break the spec"



@pytest_asyncio.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    b = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
    try:
        yield b
    finally:
        await b.session.close()


def echo_router() -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        kb = InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text="Yes", callback_data="answer:yes"),
            InlineKeyboardButton(text="No", callback_data="answer:no"),
        ]])
        await message.answer("<b>Welcome</b>, choose:", parse_mode="HTML", reply_markup=kb)

    @router.message(Command("edit"))
    async def edit(message: Message) -> None:
        sent = await message.answer("draft")
        await sent.edit_text("final")

    @router.callback_query(F.data.startswith("answer:"))
    async def answered(query: CallbackQuery) -> None:
        await query.answer("Noted")
        assert query.message is not None and query.bot is not None and query.data is not None
        await query.bot.edit_message_text(
            chat_id=query.from_user.id, message_id=query.message.message_id,
            text=f"You chose {query.data.split(':')[1]}",
        )

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    return router


@pytest_asyncio.fixture
async def echo_bot(emu: TelegramEmulator, bot: Bot) -> AsyncIterator[Bot]:
    """The echo bot polling the emulator for the duration of the test."""
    dp = Dispatcher()
    dp.include_router(echo_router())
    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=5, close_bot_session=False))
    try:
        yield bot
    finally:
        await dp.stop_polling()
        try:
            await asyncio.wait_for(task, 5)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
