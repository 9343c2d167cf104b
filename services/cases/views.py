"""How a case is shown: its card, the buttons each role may press, the queue page, the recipient's status list
and the notices. Translated in the current locale (the update's, or ``Messenger.speaking_to``).

Which buttons appear is decided by :func:`services.cases.transitions.can`, the same check the server makes
when a button is pressed, so a card never offers what would be refused (a stale card still is, on press).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.i18n import N_
from db.enums import CaseKind, CaseState, Urgency
from db.models import Case, CaseEvent
from services.cases.queue import OVERDUE, STATE_FILTERS, QueueFilter, QueuePage
from services.cases.transitions import VISIT_HORIZON_DAYS, Action, Actor, CaseActionRefused, Refusal, can
from services.dates import day_button, long_date, long_moment
from services.i18n_labels import case_kind_label, case_state_label, urgency_label

# Kinds a recipient reports as obstacles (the others are opened by the system).
REPORTABLE_KINDS = (
    CaseKind.CAPITAL, CaseKind.MATERIALS, CaseKind.EQUIPMENT, CaseKind.NO_BUYERS,
    CaseKind.HEALTH_FAMILY, CaseKind.PERMIT_PLACE, CaseKind.DISASTER, CaseKind.AID_PROBLEM, CaseKind.OTHER,
)
KIND_ICONS = {
    CaseKind.CAPITAL: "💰", CaseKind.MATERIALS: "🧺", CaseKind.EQUIPMENT: "🔧", CaseKind.NO_BUYERS: "🛒",
    CaseKind.HEALTH_FAMILY: "🏥", CaseKind.PERMIT_PLACE: "📍", CaseKind.DISASTER: "🌊", CaseKind.OTHER: "❔",
    CaseKind.AID_PROBLEM: "📦",
}
URGENCY_ICONS = {Urgency.HIGH: "🔴", Urgency.NORMAL: "🟡", Urgency.LOW: "🟢"}


class CaseCb(CallbackData, prefix="case"):
    """``case:<action>:<case id>:<arg>``: every press is re-checked on the server (role, area, state)."""

    action: str
    case_id: int
    arg: str = ""


class QueueCb(CallbackData, prefix="cq"):
    """``cq:<op>:<page>:<kabupaten>:<kind>:<state>:<case id>``. ``op``: p page, o open a case, f filter menu
    (``kind``/``state``/``kab`` in ``arg``), x clear filters. Scope (all cases, or the TKSK's kecamatan) is
    never in the button: it follows from who presses."""

    op: str
    page: int = 0
    kab: int = 0
    kind: str = ""
    state: str = ""
    case_id: int = 0
    arg: str = ""

    def filters(self, kecamatan_id: int | None = None) -> QueueFilter:
        return QueueFilter(
            kabupaten_id=self.kab or None, kecamatan_id=kecamatan_id,
            kind=self.kind if self.kind in CaseKind._value2member_map_ else None,
            state=self.state if self.state in STATE_FILTERS else None,
        )

    @classmethod
    def of(cls, op: str, f: QueueFilter, page: int = 0, case_id: int = 0, arg: str = "") -> QueueCb:
        return cls(op=op, page=page, kab=f.kabupaten_id or 0, kind=f.kind or "", state=f.state or "",
                   case_id=case_id, arg=arg)


# ---------------------------------------------------------------------------------------------- formatting
def local(moment: datetime, settings: Settings) -> str:
    """A moment on a card or notice (read later): "Kamis, 3 Des 2026 13:00 WITA"."""
    return long_moment(moment, settings.program.tz, zone=True)


def day_label(day: date, today: date) -> str:
    """A day on a button: "Besok, 3 Des" (services.dates.day_button)."""
    return day_button(day, today)


def duration(seconds: float) -> str:
    hours = int(abs(seconds) // 3600)
    if hours < 1:
        return _("{minutes} min").format(minutes=max(1, int(abs(seconds) // 60)))
    if hours < 48:
        return _("{hours} h").format(hours=hours)
    return _("{days} d {hours} h").format(days=hours // 24, hours=hours % 24)


def deadline_line(case: Case, now: datetime, settings: Settings) -> str | None:
    if case.next_due_at is None:
        return None
    late = (now - case.next_due_at).total_seconds()
    what = _("to be taken by") if case.taken_at is None else _("to be resolved by")
    when = local(case.next_due_at, settings)
    if late > 0:
        return "⏰ " + _("{what} {when}: <b>late by {late}</b>").format(what=what, when=when, late=duration(late))
    return "⏳ " + _("{what} {when} ({left} left)").format(what=what, when=when, left=duration(late))


def case_title(case: Case) -> str:
    icon = KIND_ICONS.get(CaseKind(case.kind), "📌") if case.kind in CaseKind._value2member_map_ else "📌"
    return f"{icon} <b>{html.escape(case.number)}</b> · {html.escape(case_kind_label(case.kind))}"


def case_card(
    case: Case,
    *,
    now: datetime,
    settings: Settings,
    kecamatan: str = "",
    kabupaten: str = "",
    owner_worker: str | None = None,
    owner_staff: str | None = None,
    photos: int = 0,
    business: str | None = None,
    last_events: Sequence[CaseEvent] = (),
) -> str:
    """The case as TKSK and Dissos see it (no NIK, no phone: those need the Call button)."""
    urgency = Urgency(case.urgency) if case.urgency in Urgency._value2member_map_ else Urgency.NORMAL
    lines = [
        case_title(case),
        _("{icon} {urgency} · State: {state}").format(
            icon=URGENCY_ICONS[urgency], urgency=html.escape(urgency_label(case.urgency)),
            state=html.escape(case_state_label(case.state)),
        ),
    ]
    r = case.recipient
    if r is not None:
        place = ", ".join(p for p in (r.desa, kecamatan, kabupaten) if p)
        who = _("Recipient: {name}, {place}").format(name=html.escape(r.name), place=html.escape(place))
        if business:
            who += f" · {html.escape(business)}"
        lines.append(who)
    lines.append(_("Reported: {when}").format(when=local(case.created_at, settings)))
    due = deadline_line(case, now, settings)
    if due:
        lines.append(due)
    if case.overdue:
        lines.append("🚩 " + _("Past the resolve deadline"))
    if owner_worker or owner_staff:
        owners = [html.escape(o) for o in (owner_worker, owner_staff) if o]
        lines.append(_("Handled by: {owners}").format(owners=", ".join(owners)))
    if case.visit_planned_for is not None and case.state == CaseState.VISIT_PLANNED:
        lines.append("🏠 " + _("Visit planned: {day}").format(day=long_date(case.visit_planned_for)))
    if case.description:
        lines.append("💬 " + html.escape(case.description[:700]))
    media = []
    if case.voice_file_id:
        media.append("🎤 " + _("voice note"))
    if case.video_note_file_id:
        media.append("🎥 " + _("video message"))
    if photos:
        media.append("📷 " + _("{count} photo(s)").format(count=photos))
    if media:
        lines.append(" · ".join(media))
    if case.resolution and case.state in (CaseState.RESOLVED, CaseState.CLOSED):
        lines.append("✅ " + html.escape(case.resolution[:500]))
    for event in last_events:
        lines.append(event_line(event, settings, told_above=case.description))
    return "\n".join(lines)


ACTION_LABELS = {
    "opened": N_("reported"),
    "added_report": N_("added to the report"),
    Action.TAKE: N_("took the case"),
    Action.PLAN_VISIT: N_("planned a visit"),
    Action.ESCALATE: N_("passed it to Dinas Sosial"),
    Action.CLAIM: N_("claimed it for Dinas Sosial"),
    Action.RESOLVE: N_("marked it resolved"),
    Action.CLOSE: N_("closed it"),
    Action.REOPEN: N_("reopened it: still a problem"),
    Action.COMMENT: N_("noted"),
    Action.ASK_UPDATE: N_("asked the TKSK for an update"),
    Action.REASSIGN: N_("reassigned it"),
    Action.CALL: N_("looked up the phone number"),
    Action.AUTO_ESCALATE: N_("not taken in time: passed to the Dinas Sosial queue"),
    Action.REMIND: N_("reminded the owner of the resolve deadline"),
    Action.MARK_OVERDUE: N_("marked overdue"),
    Action.AUTO_CLOSE: N_("closed after the reopen window"),
    "profile_corrected": N_("corrected the profile"),  # from the web desk (services/desk/cases.py)
}


ROLE_LABELS = {
    "recipient": N_("recipient"), "tksk": N_("TKSK"), "psm": N_("PSM"),
    "caseworker": N_("Dinas Sosial caseworker"), "admin": N_("Dinas Sosial admin"),
}
_ACTOR_WITH_ROLE = re.compile(r"^(?P<name>.*) \((?P<role>[a-z_]+)\)$")
_ACTOR_CODE = re.compile(r"^(?P<role>recipient|worker|staff|account):\d+$")
_CODE_ROLES = {"recipient": N_("recipient"), "worker": N_("TKSK/PSM"), "staff": N_("Dinas Sosial"),
               "account": N_("a bot user")}


def actor_label(actor: str) -> str:
    """"Siti (recipient)" → "Siti (penerima)"; an id such as "recipient:1228" is never shown as it is."""
    if actor == "system":
        return _("system")
    if m := _ACTOR_WITH_ROLE.match(actor):
        role = ROLE_LABELS.get(m["role"])
        if role is not None:
            return f"{m['name']} ({_(role)})"
    if m := _ACTOR_CODE.match(actor):
        return _(_CODE_ROLES[m["role"]])
    return actor


_NOTE_DAY = re.compile(r"^(\d{4}-\d{2}-\d{2})(?=$|:)")


def event_note(event: CaseEvent) -> str | None:
    """The note of a history line as people read it: a planned visit's stored ISO day is written out."""
    note = event.note
    if note and event.action == Action.PLAN_VISIT.value and (m := _NOTE_DAY.match(note)):
        try:
            note = long_date(date.fromisoformat(m[1])) + note[m.end():]
        except ValueError:
            pass
    return note


def event_line(event: CaseEvent, settings: Settings, *, told_above: str | None = None) -> str:
    """One history line. ``told_above``: the words already on the card (the description), not repeated."""
    label = ACTION_LABELS.get(event.action)
    what = _(label) if label else event.action
    actor = actor_label(event.actor)
    when = long_moment(event.at, settings.program.tz)
    line = f"• {when} {html.escape(actor)}: {what}"
    note = event_note(event)
    if note and note.strip() != (told_above or "").strip():
        line += f" — {html.escape(note[:200])}"
    return line


def history_text(case: Case, events: Sequence[CaseEvent], settings: Settings) -> str:
    lines = [_("History of case {number}:").format(number=html.escape(case.number))]
    lines += [event_line(e, settings) for e in events]
    text = "\n".join(lines)
    while len(text) > 4000 and len(lines) > 2:
        lines.pop(1)
        text = "\n".join(lines[:1] + ["…"] + lines[1:])
    return text


# ---------------------------------------------------------------------------------------------- keyboards
def _btn(text: str, action: str, case_id: int, arg: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=CaseCb(action=action, case_id=case_id, arg=arg).pack())


def case_keyboard(
    case: Case, actor: Actor, *, back: InlineKeyboardButton | None = None, has_media: bool = False
) -> InlineKeyboardMarkup:
    """The actions ``actor`` may take on ``case`` now, two per row."""
    wanted: list[tuple[Action | str, str]] = [
        (Action.TAKE, _("✋ Take it")),
        (Action.CLAIM, _("✋ Claim")),
        (Action.CALL, _("📞 Call")),
        (Action.PLAN_VISIT, _("🏠 Plan a visit")),
        (Action.ESCALATE, _("⏫ Pass to Dinas Sosial")),
        (Action.COMMENT, _("📝 Add a note")),
        (Action.ASK_UPDATE, _("❓ Ask TKSK for update")),
        (Action.REASSIGN, _("🔀 Reassign")),
        (Action.RESOLVE, _("✅ Resolved")),
        (Action.CLOSE, _("🔒 Close")),
    ]
    buttons = []
    for action, text in wanted:
        assert isinstance(action, Action)
        if action is Action.CLAIM and case.owner_staff_id is not None and case.owner_staff_id == actor.staff_id:
            continue  # already theirs
        if can(case, action, actor):
            buttons.append(_btn(text, action.value, case.id))
    if can(case, Action.CALL, actor):
        if has_media:
            buttons.append(_btn(_("🎧 Voice and photos"), "media", case.id))
        buttons.append(_btn(_("📜 History"), "hist", case.id))
    buttons.extend(_monitoring_buttons(case, actor))
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if back is not None:
        rows.append([back])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _monitoring_buttons(case: Case, actor: Actor) -> list[InlineKeyboardButton]:
    """From a case to the recipient card (handlers/recipient_card.py) and, once a visit is planned, to its report."""
    if case.recipient_id is None or actor.role not in ("tksk", "psm") or actor.kecamatan_id != case.kecamatan_id:
        return []
    from services.monitoring.card import RcCb

    buttons = [InlineKeyboardButton(text=_("📇 Recipient card"),
                                    callback_data=RcCb(action="open", rid=case.recipient_id).pack())]
    if case.state == CaseState.VISIT_PLANNED:
        buttons.append(InlineKeyboardButton(text=_("📝 Report the visit"),
                                            callback_data=RcCb(action="visit", rid=case.recipient_id).pack()))
    return buttons


def visit_days_keyboard(case_id: int, today: date) -> InlineKeyboardMarkup:
    days = [today + timedelta(days=i) for i in range(0, 7)]
    buttons = [_btn(day_label(d, today), Action.PLAN_VISIT.value, case_id, d.strftime("%Y%m%d")) for d in days]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([_btn(_("Later (within {days} days)").format(days=VISIT_HORIZON_DAYS), Action.PLAN_VISIT.value,
                      case_id, "more")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def visit_more_days_keyboard(case_id: int, today: date) -> InlineKeyboardMarkup:
    days = [today + timedelta(days=i) for i in range(7, VISIT_HORIZON_DAYS + 1)]
    buttons = [_btn(day_label(d, today), Action.PLAN_VISIT.value, case_id, d.strftime("%Y%m%d")) for d in days]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def reopen_keyboard(case_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_btn(_("⚠️ Still a problem"), Action.REOPEN.value, case_id)]])


# ---------------------------------------------------------------------------------------------- queue
def queue_text(page: QueuePage, *, now: datetime, settings: Settings, title: str,
               risks: dict[int, str] | None = None) -> str:
    """The queue page; ``risks`` (recipient id → risk line, services/monitoring/risk.py) adds who to visit first."""
    f = page.filters
    lines = [f"<b>{html.escape(title)}</b>"]
    active = []
    if f.kind:
        active.append(html.escape(case_kind_label(f.kind)))
    if f.state:
        active.append(html.escape(_("Overdue") if f.state == OVERDUE else case_state_label(f.state)))
    if active:
        lines.append(_("Filter: {filters}").format(filters=" · ".join(active)))
    if not page.items:
        lines.append(_("No open cases here. 🎉"))
        return "\n".join(lines)
    lines.append(_("{total} open case(s), page {page} of {pages}. Latest first:").format(
        total=page.total, page=page.page + 1, pages=page.pages))
    for i, item in enumerate(page.items, start=page.page * page.page_size + 1):
        c = item.case
        urgency = Urgency(c.urgency) if c.urgency in Urgency._value2member_map_ else Urgency.NORMAL
        late = (_("late {duration}") if item.late else _("{duration} left")).format(
            duration=duration(item.late_by_seconds))
        flag = "🚩" if c.overdue else ("⏰" if item.late else "⏳")
        lines.append(
            f"{i}. {URGENCY_ICONS[urgency]} <b>{html.escape(c.number)}</b> {html.escape(case_kind_label(c.kind))}"
            f" · {html.escape(item.kecamatan)}, {html.escape(item.kabupaten)}"
            f"\n    {html.escape(case_state_label(c.state))} · {flag} {late}"
        )
        if risks and c.recipient_id in risks:
            lines.append(f"    {risks[c.recipient_id]}")
    return "\n".join(lines)


def queue_keyboard(page: QueuePage, *, with_filters: bool) -> InlineKeyboardMarkup:
    f = page.filters
    rows = []
    numbered = [
        InlineKeyboardButton(
            text=str(i), callback_data=QueueCb.of("o", f, page.page, case_id=item.case.id).pack()
        )
        for i, item in enumerate(page.items, start=page.page * page.page_size + 1)
    ]
    rows += [numbered[i : i + 4] for i in range(0, len(numbered), 4)]
    nav = []
    if page.page > 0:
        nav.append(InlineKeyboardButton(text="◀️", callback_data=QueueCb.of("p", f, page.page - 1).pack()))
    nav.append(InlineKeyboardButton(text="🔄", callback_data=QueueCb.of("p", f, page.page).pack()))
    if page.page + 1 < page.pages:
        nav.append(InlineKeyboardButton(text="▶️", callback_data=QueueCb.of("p", f, page.page + 1).pack()))
    rows.append(nav)
    if with_filters:
        rows.append([
            InlineKeyboardButton(text=_("🗺 Kabupaten"), callback_data=QueueCb.of("f", f, arg="kab").pack()),
            InlineKeyboardButton(text=_("🏷 Kind"), callback_data=QueueCb.of("f", f, arg="kind").pack()),
            InlineKeyboardButton(text=_("🚦 State"), callback_data=QueueCb.of("f", f, arg="state").pack()),
        ])
        if f.kabupaten_id or f.kind or f.state:
            rows.append([InlineKeyboardButton(text=_("✖️ Clear filters"),
                                              callback_data=QueueCb.of("p", QueueFilter()).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def filter_keyboard(f: QueueFilter, which: str, kabupaten: Sequence[tuple[int, str, int]] = ()) -> InlineKeyboardMarkup:
    """Options of one filter; choosing one goes back to page 1 of the filtered queue."""
    from dataclasses import replace

    options: list[tuple[str, QueueFilter]] = []
    if which == "kab":
        options = [(f"{name} ({count})", replace(f, kabupaten_id=kid)) for kid, name, count in kabupaten]
        options.append((_("All kabupaten"), replace(f, kabupaten_id=None)))
    elif which == "kind":
        kinds = [k for k in CaseKind]
        options = [(case_kind_label(k.value), replace(f, kind=k.value)) for k in kinds]
        options.append((_("All kinds"), replace(f, kind=None)))
    else:
        options = [
            (_("Overdue") if s == OVERDUE else case_state_label(s), replace(f, state=s)) for s in STATE_FILTERS
        ]
        options.append((_("All open states"), replace(f, state=None)))
    buttons = [InlineKeyboardButton(text=t[:60], callback_data=QueueCb.of("p", nf).pack()) for t, nf in options]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[i : i + 2] for i in range(0, len(buttons), 2)])


# ---------------------------------------------------------------------------------------------- recipient
STATE_EXPLANATIONS = {
    CaseState.NEW: N_("Your TKSK has been told and will contact you soon."),
    CaseState.TAKEN: N_("Your TKSK is handling it."),
    CaseState.VISIT_PLANNED: N_("Your TKSK will visit you on {day}."),
    CaseState.WITH_DISSOS: N_("Dinas Sosial is handling it."),
    CaseState.RESOLVED: N_("Marked as solved. If the problem is still there, press \"Still a problem\"."),
    CaseState.CLOSED: N_("Finished."),
    CaseState.REOPENED: N_("Opened again. Your TKSK has been told."),
}


def explain_state(case: Case, now: datetime, settings: Settings) -> str:
    text = _(STATE_EXPLANATIONS[CaseState(case.state)])
    if case.state == CaseState.VISIT_PLANNED and case.visit_planned_for is not None:
        # A notice may be read the next day: the date itself, never "tomorrow".
        text = text.format(day=long_date(case.visit_planned_for))
    return text


def recipient_notice(case: Case, now: datetime, settings: Settings) -> str:
    """What a recipient is told when their case changes state."""
    text = _("📂 Your report {number} ({kind}): <b>{state}</b>.").format(
        number=html.escape(case.number), kind=html.escape(case_kind_label(case.kind)),
        state=html.escape(case_state_label(case.state)),
    )
    text += "\n" + html.escape(explain_state(case, now, settings))
    if case.state in (CaseState.RESOLVED, CaseState.CLOSED) and case.resolution:
        text += "\n" + _("Note: {resolution}").format(resolution=html.escape(case.resolution[:500]))
    if case.state == CaseState.RESOLVED:
        text += "\n" + _("You can press the button within {days} days.").format(days=settings.cases.reopen_days)
    return text


def status_text(cases: Sequence[Case], now: datetime, settings: Settings) -> str:
    if not cases:
        return _("You have not reported any problem. If something holds your business back, "
                 "press 🆘 I have a problem.")
    lines = [_("📂 Your reports:")]
    for c in cases:
        lines.append(
            f"\n<b>{html.escape(c.number)}</b> · {html.escape(case_kind_label(c.kind))}\n"
            + _("State: {state}").format(state=html.escape(case_state_label(c.state)))
            + "\n" + html.escape(explain_state(c, now, settings))
        )
    return "\n".join(lines)


def status_keyboard(
    cases: Sequence[Case], actor: Actor, now: datetime, settings: Settings
) -> InlineKeyboardMarkup | None:
    rows = []
    for c in cases:
        if can(c, Action.REOPEN, actor) and c.resolved_at is not None and (
            now <= c.resolved_at + timedelta(days=settings.cases.reopen_days)
        ):
            rows.append([_btn(_("⚠️ {number}: still a problem").format(number=c.number), Action.REOPEN.value, c.id)])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


# ---------------------------------------------------------------------------------------------- refusals
REFUSALS = {
    Refusal.NOT_FOUND: N_("This case does not exist."),
    Refusal.ROLE: N_("Sorry, this action is not available for you."),
    Refusal.AREA: N_("This case is not in your kecamatan."),
    Refusal.NOT_YOURS: N_("This is not your case."),
    Refusal.STATE: N_("This button is no longer active: the case is now \"{state}\"."),
    Refusal.NOTE_REQUIRED: N_("Please write a short note."),
    Refusal.REOPEN_EXPIRED: N_("This case was resolved more than {days} days ago. Please report a new problem."),
    Refusal.BAD_DATE: N_("Please choose a day from the buttons."),
    Refusal.BAD_TARGET: N_("That person cannot take cases."),
}


def refusal_text(exc: CaseActionRefused, settings: Settings) -> str:
    """Why an action was refused, short enough for a callback alert (200 characters)."""
    state = case_state_label(exc.case.state) if exc.case is not None else "-"
    return _(REFUSALS[exc.reason]).format(state=state, days=settings.cases.reopen_days)[:200]
