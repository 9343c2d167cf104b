"""Outer middlewares on every update, in this order: the person's lock, metrics, DB session, conversation state,
update ledger, identity and role, i18n, throttling, command menu (``bot.factory.create_dispatcher``)."""

from bot.middlewares.db_session import DbSessionMiddleware
from bot.middlewares.identity import IdentityMiddleware
from bot.middlewares.throttling import ThrottlingMiddleware

__all__ = ["DbSessionMiddleware", "IdentityMiddleware", "ThrottlingMiddleware"]
