"""The state machine on its own: every allowed and forbidden transition, scope, history (no Telegram)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.context import AppContext
from db.enums import CaseState, Role
from db.models import Case, CaseEvent, TelegramAccount
from services.cases.opening import open_case
from services.cases.transitions import (
    RULES,
    SYSTEM_ACTOR,
    Action,
    Actor,
    CaseActionRefused,
    Refusal,
    apply,
    check,
    history,
)
from tests.cases.conftest import (
    ADMIN_TG,
    CASEWORKER2_TG,
    CASEWORKER_TG,
    OTHER_RECIPIENT_TG,
    OTHER_TKSK_TG,
    PSM_TG,
    RECIPIENT_TG,
    TKSK_TG,
    World,
)


async def _actor(ctx: AppContext, tg: int) -> Actor:
    async with ctx.session_factory() as s:
        account = await s.scalar(select(TelegramAccount).where(TelegramAccount.telegram_user_id == tg))
        return Actor.of(account)


async def _open(ctx: AppContext, world: World, kind: str = "capital", urgency: str = "normal") -> int:
    async with ctx.session_factory.begin() as s:
        recipient = await s.get(type(world.recipient), world.recipient.id)
        opened = await open_case(s, recipient=recipient, kind=kind, urgency=urgency, description="Modal habis",
                                 settings=ctx.settings, clock=ctx.clock)
        return opened.case.id


async def _do(ctx: AppContext, case_id: int, action: Action, actor: Actor, **kw) -> Case:  # type: ignore[no-untyped-def]
    async with ctx.session_factory.begin() as s:
        applied = await apply(s, case_id, action, actor, now=ctx.clock.now(), settings=ctx.settings, **kw)
        return applied.case


async def _force_state(ctx: AppContext, case_id: int, state: CaseState) -> None:
    """Put a case in ``state`` the way the real actions would."""
    tksk, cw, siti = (await _actor(ctx, TKSK_TG), await _actor(ctx, CASEWORKER_TG), await _actor(ctx, RECIPIENT_TG))
    path = {
        CaseState.NEW: [],
        CaseState.TAKEN: [(Action.TAKE, tksk, {})],
        CaseState.VISIT_PLANNED: [(Action.PLAN_VISIT, tksk, {"visit_on": ctx.clock.now().date() + timedelta(days=1)})],
        CaseState.WITH_DISSOS: [(Action.CLAIM, cw, {})],
        CaseState.RESOLVED: [(Action.RESOLVE, tksk, {"note": "Sudah dibantu"})],
        CaseState.CLOSED: [(Action.CLOSE, cw, {"note": "Selesai"})],
        CaseState.REOPENED: [(Action.RESOLVE, tksk, {"note": "Sudah"}), (Action.REOPEN, siti, {})],
    }[state]
    for action, actor, kw in path:
        await _do(ctx, case_id, action, actor, **kw)


ROLE_ACCOUNTS = {Role.TKSK: TKSK_TG, Role.CASEWORKER: CASEWORKER_TG, Role.ADMIN: ADMIN_TG, Role.RECIPIENT: RECIPIENT_TG,
                 Role.PSM: PSM_TG}
USER_ACTIONS = [a for a in Action if a not in (Action.AUTO_ESCALATE, Action.REMIND, Action.MARK_OVERDUE,
                                                 Action.AUTO_CLOSE)]


def _kwargs(action: Action, ctx: AppContext, world: World) -> dict:  # type: ignore[type-arg]
    if action is Action.PLAN_VISIT:
        return {"visit_on": ctx.clock.now().date() + timedelta(days=2)}
    if action is Action.REASSIGN:
        return {"target_staff_id": world.caseworker2.id}
    if action in (Action.RESOLVE, Action.CLOSE, Action.COMMENT):
        return {"note": "catatan"}
    return {}


@pytest.mark.parametrize("state", list(CaseState))
async def test_every_role_action_and_state_follows_the_table(ctx: AppContext, world: World, state: CaseState) -> None:
    """For each state, each person role and each action: applied exactly when the table allows it, otherwise
    refused with nothing changed (no event, same state)."""
    for role, tg in ROLE_ACCOUNTS.items():
        actor = await _actor(ctx, tg)
        for action in USER_ACTIONS:
            case_id = await _open(ctx, world)
            await _force_state(ctx, case_id, state)
            async with ctx.session_factory() as s:
                events_before = len(await history(s, case_id))
            allowed = state in RULES[action].allowed.get(role, frozenset())
            try:
                case = await _do(ctx, case_id, action, actor, **_kwargs(action, ctx, world))
            except CaseActionRefused as exc:
                assert not allowed, (role, action, state, exc.reason)
                async with ctx.session_factory() as s:
                    assert len(await history(s, case_id)) == events_before
                    assert (await s.get(Case, case_id)).state == state
            else:
                assert allowed, f"{role} may not {action} from {state}"
                to = RULES[action].to_state
                assert case.state == (to or state)
            # Leave no open case behind: the duplicate rule would otherwise join the next report to it.
            async with ctx.session_factory.begin() as s:
                c = await s.get(Case, case_id)
                c.state = CaseState.CLOSED
                c.next_due_at = None


async def test_scope_tksk_other_kecamatan_psm_and_other_recipient(ctx: AppContext, world: World) -> None:
    case_id = await _open(ctx, world)
    async with ctx.session_factory() as s:
        case = await s.get(Case, case_id)
    with pytest.raises(CaseActionRefused) as exc:
        check(case, Action.TAKE, await _actor(ctx, OTHER_TKSK_TG))
    assert exc.value.reason is Refusal.AREA
    with pytest.raises(CaseActionRefused) as exc:
        check(case, Action.TAKE, await _actor(ctx, PSM_TG))
    assert exc.value.reason is Refusal.ROLE
    with pytest.raises(CaseActionRefused) as exc:
        check(case, Action.TAKE, await _actor(ctx, RECIPIENT_TG))
    assert exc.value.reason is Refusal.ROLE
    await _do(ctx, case_id, Action.RESOLVE, await _actor(ctx, TKSK_TG), note="Selesai")
    with pytest.raises(CaseActionRefused) as exc:
        await _do(ctx, case_id, Action.REOPEN, await _actor(ctx, OTHER_RECIPIENT_TG))
    assert exc.value.reason is Refusal.NOT_YOURS
    with pytest.raises(CaseActionRefused) as exc:
        await _do(ctx, 999_999, Action.TAKE, await _actor(ctx, TKSK_TG))
    assert exc.value.reason is Refusal.NOT_FOUND
    with pytest.raises(CaseActionRefused) as exc:  # a stranger learns nothing, not even whether the id exists
        check(None, Action.TAKE, Actor.of(None))
    assert exc.value.reason is Refusal.ROLE


async def test_notes_dates_targets_and_the_reopen_window(ctx: AppContext, world: World) -> None:
    tksk, cw, siti = (await _actor(ctx, TKSK_TG), await _actor(ctx, CASEWORKER_TG), await _actor(ctx, RECIPIENT_TG))
    case_id = await _open(ctx, world)
    for action, kw, reason in [
        (Action.RESOLVE, {"note": "   "}, Refusal.NOTE_REQUIRED),
        (Action.PLAN_VISIT, {"visit_on": date(2026, 3, 1)}, Refusal.BAD_DATE),  # yesterday
        (Action.PLAN_VISIT, {"visit_on": date(2026, 4, 30)}, Refusal.BAD_DATE),  # beyond 14 days
        (Action.PLAN_VISIT, {}, Refusal.BAD_DATE),
    ]:
        with pytest.raises(CaseActionRefused) as exc:
            await _do(ctx, case_id, action, tksk, **kw)
        assert exc.value.reason is reason
    with pytest.raises(CaseActionRefused) as exc:
        await _do(ctx, case_id, Action.REASSIGN, cw, target_staff_id=world.tksk.id + 10_000)
    assert exc.value.reason is Refusal.BAD_TARGET
    await _do(ctx, case_id, Action.RESOLVE, tksk, note="Modal dari KUBE")
    ctx.clock.advance(timedelta(days=ctx.settings.cases.reopen_days, minutes=1))
    with pytest.raises(CaseActionRefused) as exc:
        await _do(ctx, case_id, Action.REOPEN, siti)
    assert exc.value.reason is Refusal.REOPEN_EXPIRED


async def test_case_history_records_who_when_and_why(ctx: AppContext, world: World) -> None:
    tksk, cw, cw2, siti = [await _actor(ctx, tg) for tg in (TKSK_TG, CASEWORKER_TG, CASEWORKER2_TG, RECIPIENT_TG)]
    case_id = await _open(ctx, world)
    t0 = ctx.clock.now()
    steps = [
        (Action.TAKE, tksk, {}),
        (Action.PLAN_VISIT, tksk, {"visit_on": date(2026, 3, 4)}),
        (Action.COMMENT, tksk, {"note": "Kompor bocor, perlu diganti"}),
        (Action.ESCALATE, tksk, {}),
        (Action.CLAIM, cw, {}),
        (Action.REASSIGN, cw, {"target_staff_id": world.caseworker2.id}),
        (Action.RESOLVE, cw2, {"note": "Kompor diganti dari dana cadangan"}),
        (Action.REOPEN, siti, {}),
        (Action.TAKE, tksk, {}),
        (Action.CLOSE, cw2, {"note": "Dipastikan jalan lagi"}),
    ]
    for action, actor, kw in steps:
        ctx.clock.advance(timedelta(hours=1))
        await _do(ctx, case_id, action, actor, **kw)
    async with ctx.session_factory() as s:
        events = await history(s, case_id)
        case = await s.get(Case, case_id)
    assert [e.action for e in events] == ["opened"] + [a.value for a, _, _ in steps]
    assert [e.to_state for e in events] == [
        "new", "taken", "visit_planned", None, "with_dissos", "with_dissos", "with_dissos", "resolved", "reopened",
        "taken", "closed",
    ]
    assert [e.at - t0 for e in events[1:]] == [timedelta(hours=i) for i in range(1, len(steps) + 1)]
    assert events[1].actor == "Nurhayati (tksk)" and events[1].actor_account_id is not None
    assert events[2].note == "2026-03-04"
    assert events[6].note == "Dewi"
    assert events[8].actor == "Siti Aminah (recipient)"
    assert case.state == CaseState.CLOSED and case.next_due_at is None and case.resolution == "Dipastikan jalan lagi"
    assert case.owner_staff_id == world.caseworker2.id and case.owner_worker_id == world.tksk.id


async def test_next_deadline_follows_taking_and_reopening(ctx: AppContext, world: World) -> None:
    case_id = await _open(ctx, world, urgency="normal")
    async with ctx.session_factory() as s:
        case = await s.get(Case, case_id)
    assert case.next_due_at == case.take_due_at == ctx.clock.now() + timedelta(hours=24)
    case = await _do(ctx, case_id, Action.TAKE, await _actor(ctx, TKSK_TG))
    assert case.next_due_at == case.resolve_due_at == ctx.clock.now() + timedelta(hours=120)
    case = await _do(ctx, case_id, Action.RESOLVE, await _actor(ctx, TKSK_TG), note="ok")
    assert case.next_due_at is None
    ctx.clock.advance(timedelta(days=2))
    case = await _do(ctx, case_id, Action.REOPEN, await _actor(ctx, RECIPIENT_TG))
    assert case.state == CaseState.REOPENED and case.taken_at is None
    assert case.next_due_at == case.take_due_at == ctx.clock.now() + timedelta(hours=24)


async def test_system_actions_are_not_for_people(ctx: AppContext, world: World) -> None:
    case_id = await _open(ctx, world)
    for tg in ROLE_ACCOUNTS.values():
        with pytest.raises(CaseActionRefused):
            await _do(ctx, case_id, Action.AUTO_ESCALATE, await _actor(ctx, tg))
    case = await _do(ctx, case_id, Action.AUTO_ESCALATE, SYSTEM_ACTOR)
    assert case.state == CaseState.WITH_DISSOS and case.with_dissos and case.escalated_at == ctx.clock.now()
    async with ctx.session_factory() as s:
        last = (await s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id.desc())))
        assert last.first().actor == "system"
