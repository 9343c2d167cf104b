"""Thin, stateless aiogram routers per role. Conversations (multi-step flows) live in ``conversations/``.

Order matters: specific routers first, the catch-all fallback last.
"""

from __future__ import annotations

from aiogram import Router


def _detached(router: Router) -> Router:
    """Routers are module-level singletons and aiogram lets a router have one parent; a process that builds
    a second Dispatcher (a restart in tests, the sandbox) takes them back from the previous one."""
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None
    return router


def build_root_router() -> Router:
    from handlers import common, errors, fallback

    routers = [
        errors.router,
        common.router,
        # Feature routers are added here, before the fallback.
        __import__("conversations.broadcast", fromlist=["router"]).router,
        __import__("conversations.onboarding", fromlist=["router"]).router,
        __import__("conversations.worker_onboarding", fromlist=["router"]).router,
        __import__("handlers.staff_invites", fromlist=["router"]).router,
        __import__("handlers.worker", fromlist=["router"]).router,
        __import__("handlers.staff_reports", fromlist=["router"]).router,
        __import__("handlers.worker_reports", fromlist=["router"]).router,
        __import__("handlers.recipient", fromlist=["router"]).router,
        __import__("conversations.checkin", fromlist=["router"]).router,
        __import__("handlers.checkin_review", fromlist=["router"]).router,
        __import__("handlers.recipient_cases", fromlist=["router"]).router,
        __import__("conversations.obstacle", fromlist=["router"]).router,
        __import__("conversations.case_note", fromlist=["router"]).router,
        __import__("handlers.worker_cases", fromlist=["router"]).router,
        __import__("handlers.staff_queue", fromlist=["router"]).router,
        fallback.router,
    ]
    root = Router(name="root")
    root.include_routers(*(_detached(r) for r in routers))
    return root
