"""Thin, stateless aiogram routers per role. Conversations (multi-step flows) live in ``conversations/``.

Order matters: specific routers first, the catch-all fallback last.
"""

from __future__ import annotations

from bot.routing import Router


def _detached(router: Router) -> Router:
    """Routers are module-level singletons and aiogram lets a router have one parent; a process that builds
    a second Dispatcher (a restart in tests, the sandbox) takes them back from the previous one."""
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None
    return router


def build_root_router() -> Router:
    # Imported here, not at module level: the feature modules import ``handlers.*`` helpers themselves.
    from conversations import (
        assessment,
        broadcast,
        case_note,
        checkin,
        handover,
        kept,
        leaving,
        obstacle,
        onboarding,
        privacy,
        visit,
        worker_onboarding,
    )
    from handlers import (
        assessment_staff,
        checkin_review,
        common,
        errors,
        fallback,
        monitoring_reports,
        recipient,
        recipient_card,
        recipient_cases,
        staff_invites,
        staff_queue,
        staff_reports,
        staff_web,
        worker,
        worker_cases,
        worker_reports,
    )

    routers = [
        errors.router,
        common.router,
        leaving.router,  # a recipient's 📋 / 🆘 in the middle of a flow: leave it or carry on
        # Feature routers, before the fallback.
        broadcast.router,
        onboarding.router,
        privacy.router,
        worker_onboarding.router,
        staff_invites.router,
        staff_web.router,
        worker.router,
        recipient_card.router,
        monitoring_reports.router,
        visit.router,
        staff_reports.router,
        worker_reports.router,
        recipient.router,
        checkin.router,
        checkin_review.router,
        recipient_cases.router,
        obstacle.router,
        case_note.router,
        worker_cases.router,
        staff_queue.router,
        assessment.router,
        assessment_staff.router,
        handover.router,
        kept.router,  # a recipient's message no feature took: kept, and one question about it
        fallback.router,
    ]
    root = Router(name="root")
    root.include_routers(*(_detached(r) for r in routers))
    return root
