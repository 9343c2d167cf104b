"""bot.routing.Router walks the tree as aiogram's Router does, only without building empty middleware chains."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram import Router as AiogramRouter
from aiogram.filters import Command
from aiogram.types import Chat, Message, TelegramObject, Update, User

from bot.routing import Router
from handlers import build_root_router


def _update(text: str) -> Update:
    user = User(id=42, is_bot=False, first_name="Ana")
    return Update(update_id=1, message=Message(message_id=1, date=datetime.now(UTC), chat=Chat(id=42, type="private"),
                                               from_user=user, text=text))


async def test_the_walk_reaches_the_same_handler_with_the_same_data() -> None:
    seen: list[tuple[str, Any]] = []
    first, second, nested = Router(name="first"), Router(name="second"), Router(name="nested")

    @first.message(Command("one"))
    async def one(message: Message, event_router: AiogramRouter) -> str:
        seen.append(("one", event_router.name))
        return "one"

    @nested.message()
    async def anything(message: Message, event_router: AiogramRouter, extra: str) -> str:
        seen.append(("anything", (event_router.name, extra)))
        return "anything"

    second.include_router(nested)
    dp = Dispatcher()
    dp["extra"] = "injected"
    dp.include_routers(first, second)
    bot = Bot("42:TEST")  # no request is made: the handlers do not call the Bot API
    assert await dp.feed_update(bot, _update("/one")) == "one"
    assert await dp.feed_update(bot, _update("hello")) == "anything"
    assert seen == [("one", "first"), ("anything", ("nested", "injected"))]
    await bot.session.close()


async def test_a_router_with_an_outer_middleware_still_runs_it() -> None:
    calls: list[str] = []
    router = Router(name="with-middleware")

    async def outer(handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]], event: TelegramObject,
                    data: dict[str, Any]) -> Any:
        calls.append("outer")
        data["tag"] = "from outer"
        return await handler(event, data)

    router.message.outer_middleware(outer)

    @router.message()
    async def tagged(message: Message, tag: str) -> str:
        calls.append(tag)
        return tag

    dp = Dispatcher()
    dp.include_router(router)
    bot = Bot("42:TEST")
    assert await dp.feed_update(bot, _update("hi")) == "from outer"
    assert calls == ["outer", "from outer"]
    await bot.session.close()


def test_every_router_of_the_bot_is_the_lean_one() -> None:
    routers = list(build_root_router().chain_tail)
    assert len(routers) > 10
    assert [r.name for r in routers if not isinstance(r, Router)] == []
