"""The typed keys of the desk's application and request storage (aiohttp's AppKey / RequestKey)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.i18n import CatalogI18n
from web.security import RateLimiter

CTX = web.AppKey("ctx", AppContext)
I18N = web.AppKey("i18n", CatalogI18n)
MESSENGER = web.AppKey("messenger", object)  # Messenger | None: tells people of desk actions
SIGN_IN_LIMIT = web.AppKey("sign_in_limit", RateLimiter)
BOT_USERNAME = web.AppKey("bot_username", str)  # for Telegram's Login Widget

# What request_scope puts on every request.
DB = web.RequestKey("db", AsyncSession)
NOW = web.RequestKey("now", datetime)
VIEWER = web.RequestKey("viewer", object)  # DeskUser | None
WEB_SESSION = web.RequestKey("web_session", object)  # WebSession | None
LOCALE = web.RequestKey("locale", str)

