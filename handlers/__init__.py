"""Thin, stateless aiogram routers per role. Conversations (multi-step flows) live in ``conversations/``.

Order matters: specific routers first, the catch-all fallback last.
"""

from __future__ import annotations

from aiogram import Router


def build_root_router() -> Router:
    from handlers import common, errors, fallback

    root = Router(name="root")
    root.include_routers(
        errors.router,
        common.router,
        # Feature routers are added here, before the fallback.
        fallback.router,
    )
    return root
