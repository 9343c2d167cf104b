"""Outer middlewares on every update, in this order: throttling, DB session, identity and role, i18n."""

from bot.middlewares.db_session import DbSessionMiddleware
from bot.middlewares.identity import IdentityMiddleware
from bot.middlewares.throttling import ThrottlingMiddleware

__all__ = ["DbSessionMiddleware", "IdentityMiddleware", "ThrottlingMiddleware"]
