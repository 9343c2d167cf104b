"""People's requests under UU PDP 27/2022 as rows with a deadline (``privacy.answer_hours``, 3×24 hours).

```mermaid
stateDiagram-v2
    [*] --> open: correction, restriction, deletion (from /privasi)
    [*] --> answered: access (the data is sent at once)
    [*] --> applied: consent withdrawal (done at once)
    open --> answered: Dinas Sosial answers (uep privacy requests answer)
    open --> applied: Dinas Sosial applies it (correction, restriction, deletion)
    open --> refused: with a reason
    open --> refused: the person cancels it
```

Only the person themselves (a linked recipient account) opens a request, only about their own data. A second
request of a kind while one is open is refused, as is anything after their data was deleted. A NIK typed
into a correction is masked before it is stored, so it is in no request's text and no log. The TKSK and
Dinas Sosial are told through durable messages (services/privacy/messages.py); the scan reminds before the
deadline and escalates once it passes (services/privacy/deadlines.py). Every step is audited.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram.utils.i18n import gettext as _
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import N_
from db.enums import PrivacyRequestKind, PrivacyRequestState, ReminderStatus, StaffRole
from db.models import PrivacyRequest, Recipient, Reminder, Staff, TelegramAccount
from services.audit import audit
from services.clock import Clock
from services.crypto import mask_nik
from services.dates import long_moment
from services.privacy import messages
from services.privacy.kept import kept_after
from services.privacy.language import locale_of, speaking

Kind = PrivacyRequestKind
State = PrivacyRequestState

KIND_LABELS = {
    Kind.ACCESS: N_("see my data"),
    Kind.CORRECTION: N_("correct my data"),
    Kind.RESTRICTION: N_("restrict the use of my data"),
    Kind.DELETION: N_("delete my data"),
    Kind.WITHDRAWAL: N_("withdraw my consent"),
}
STATE_LABELS = {
    State.OPEN: N_("waiting for Dinas Sosial"),
    State.ANSWERED: N_("answered"),
    State.APPLIED: N_("done"),
    State.REFUSED: N_("refused"),
}
OPENED_BY_PERSON = (Kind.CORRECTION, Kind.RESTRICTION, Kind.DELETION)
# 16 digits, possibly written in groups ("6472 0101 …", "6472-0101-…").
_NIK_LIKE = re.compile(r"(?<!\d)(?:\d[\s.-]?){15}\d(?!\d)")


class RequestRefused(Exception):
    """A request or an action on one that is not allowed; ``reason`` is a code, ``request`` the row involved."""

    def __init__(self, reason: str, request: PrivacyRequest | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.request = request


def mask_niks(text: str) -> str:
    """Any NIK-like number in free text becomes its masked form (``6472********8748``)."""
    return _NIK_LIKE.sub(lambda m: mask_nik(re.sub(r"\D", "", m.group(0))), text)


def kind_label(kind: str) -> str:
    return _(KIND_LABELS[Kind(kind)])


def state_label(state: str) -> str:
    return _(STATE_LABELS[State(state)])


def wita(moment: datetime, settings: Settings) -> str:
    return long_moment(moment, settings.program.tz)


def _actor_of(account: TelegramAccount) -> str:
    return f"account:{account.id}"


def _own_recipient(account: TelegramAccount | None) -> Recipient:
    """Only the person themselves: a linked recipient account whose data still exists."""
    if account is None or account.recipient is None:
        raise RequestRefused("not_recipient")
    if account.recipient.anonymised_at is not None:
        raise RequestRefused("already_deleted")
    return account.recipient


async def open_request_of(session: AsyncSession, recipient_id: int, kind: str) -> PrivacyRequest | None:
    return await session.scalar(
        select(PrivacyRequest).where(PrivacyRequest.recipient_id == recipient_id, PrivacyRequest.kind == kind,
                                     PrivacyRequest.state == State.OPEN).order_by(PrivacyRequest.id).limit(1)
    )


async def requests_of(session: AsyncSession, recipient_id: int) -> list[PrivacyRequest]:
    return list(await session.scalars(
        select(PrivacyRequest).where(PrivacyRequest.recipient_id == recipient_id).order_by(PrivacyRequest.id)
    ))


# ---------------------------------------------------------------------------------------------- who is told
async def staff_accounts(session: AsyncSession, *, admins_only: bool = False) -> list[TelegramAccount]:
    roles = [StaffRole.ADMIN.value] if admins_only else [StaffRole.ADMIN.value, StaffRole.CASEWORKER.value]
    return list(await session.scalars(
        select(TelegramAccount).join(Staff, Staff.id == TelegramAccount.staff_id)
        .where(Staff.active.is_(True), Staff.role.in_(roles)).order_by(TelegramAccount.id)
    ))


async def tksk_account(session: AsyncSession, recipient: Recipient) -> TelegramAccount | None:
    from services.cases.opening import tksk_account_of

    _worker, account = await tksk_account_of(session, recipient.kecamatan_id)
    return account


async def _tell_team(session: AsyncSession, request: PrivacyRequest, recipient: Recipient, *, what: str,
                     now: datetime, settings: Settings, admins_only: bool = False) -> int:
    """Tell Dinas Sosial (and the TKSK, for a correction) about a request; ``what`` is new/remind/late."""
    people = await staff_accounts(session, admins_only=admins_only)
    if request.kind == Kind.CORRECTION:
        tksk = await tksk_account(session, recipient)
        if tksk is not None:
            people.append(tksk)
    for account in people:
        with speaking(locale_of(account)):
            text = team_notice(request, recipient, what=what, settings=settings, for_staff=account.staff_id is not None)
        await messages.enqueue(session, account=account, text=text, dedupe_key=f"req{request.id}:{what}", now=now,
                               voice_file_id=request.voice_file_id if what == "new" else None)
    return len(people)


def team_notice(request: PrivacyRequest, recipient: Recipient, *, what: str, settings: Settings,
                for_staff: bool) -> str:
    import html

    head = {
        "new": _("🔐 New data request #{id}: {kind}."),
        "remind": _("⏰ Data request #{id} ({kind}) must be answered by {due} WITA."),
        "late": _("🚩 Data request #{id} ({kind}) is late: it was due {due} WITA."),
    }[what].format(id=request.id, kind=kind_label(request.kind), due=wita(request.due_at, settings))
    lines = [head, _("From: {name} ({desa}, {kecamatan}).").format(
        name=html.escape(recipient.name), desa=html.escape(recipient.desa or "-"),
        kecamatan=html.escape(recipient.kecamatan.name))]
    if request.details:
        lines.append(_("They wrote: “{text}”").format(text=html.escape(request.details)))
    if request.voice_file_id:
        lines.append(_("They sent a voice note (below).") if what == "new" else _("They sent a voice note."))
    if request.via_proxy:
        lines.append(_("Sent from a relative's phone: check with the person before acting."))
    if what == "new":
        lines.append(_("Answer within 3×24 hours, by {due} WITA.").format(due=wita(request.due_at, settings)))
    if for_staff:
        lines.append(_("Handle it with: uep privacy requests (answer, apply or refuse)."))
    else:
        lines.append(_("Dinas Sosial makes the change; if you know the right data, tell them."))
    return "\n".join(lines)


async def tell_person(session: AsyncSession, request: PrivacyRequest, text_of, *, now: datetime,  # type: ignore[no-untyped-def]
                      key: str) -> bool:
    """Queue a message to the account that made the request; ``text_of()`` builds it in their language."""
    account = await session.get(TelegramAccount, request.account_id) if request.account_id else None
    if account is None:
        return False
    with speaking(locale_of(account)):
        text = text_of()
    await messages.enqueue(session, account=account, text=text, dedupe_key=f"req{request.id}:{key}", now=now)
    return True


# ---------------------------------------------------------------------------------------------- the person
async def open_request(
    session: AsyncSession, clock: Clock, settings: Settings, *, account: TelegramAccount | None, kind: str,
    details: str | None = None, voice_file_id: str | None = None,
) -> PrivacyRequest:
    """A correction, restriction or deletion asked by the person; the team is told. Raises RequestRefused."""
    kind = Kind(kind)
    if kind not in OPENED_BY_PERSON:
        raise ValueError(kind)
    recipient = _own_recipient(account)
    assert account is not None
    existing = await open_request_of(session, recipient.id, kind)
    if existing is not None:
        raise RequestRefused("already_open", existing)
    if kind is Kind.RESTRICTION and recipient.restricted_at is not None:
        raise RequestRefused("already_restricted")
    if kind is Kind.CORRECTION and not (details or "").strip() and not voice_file_id:
        raise RequestRefused("empty")
    now = clock.now()
    with speaking(locale_of(account)):
        kept = kept_after(kind) or None
    request = PrivacyRequest(
        recipient_id=recipient.id, account_id=account.id, kind=kind, state=State.OPEN,
        details=mask_niks(details.strip())[:2000] if details and details.strip() else None,
        voice_file_id=voice_file_id, via_proxy=account.is_proxy, created_at=now,
        due_at=now + timedelta(hours=settings.privacy.answer_hours), kept_note=kept,
    )
    session.add(request)
    await session.flush()
    audit(session, clock, actor=_actor_of(account), actor_account_id=account.id, action="privacy.request",
          target=f"recipient:{recipient.id}", details={"request_id": request.id, "kind": kind.value})
    await _tell_team(session, request, recipient, what="new", now=now, settings=settings)
    return request


async def record_done(
    session: AsyncSession, clock: Clock, *, account: TelegramAccount, recipient: Recipient, kind: str,
    answer: str,
) -> PrivacyRequest:
    """A request the bot fulfils at once (access, consent withdrawal), recorded with its answer."""
    kind = Kind(kind)
    now = clock.now()
    with speaking(locale_of(account)):
        kept = kept_after(kind) or None
    request = PrivacyRequest(
        recipient_id=recipient.id, account_id=account.id, kind=kind,
        state=State.ANSWERED if kind is Kind.ACCESS else State.APPLIED, via_proxy=account.is_proxy,
        created_at=now, due_at=now, closed_at=now, closed_by="bot", answer=answer, kept_note=kept,
    )
    session.add(request)
    await session.flush()
    audit(session, clock, actor=_actor_of(account), actor_account_id=account.id, action=f"privacy.{kind.value}",
          target=f"recipient:{recipient.id}", details={"request_id": request.id})
    return request


async def cancel_by_person(session: AsyncSession, clock: Clock, *, account: TelegramAccount | None,
                           request_id: int) -> PrivacyRequest:
    """The person takes back their own open request."""
    recipient = _own_recipient(account)
    assert account is not None
    request = await session.get(PrivacyRequest, request_id)
    if request is None or request.recipient_id != recipient.id:
        raise RequestRefused("not_yours")
    if request.state != State.OPEN:
        raise RequestRefused("closed", request)
    request.state, request.closed_at, request.closed_by = State.REFUSED, clock.now(), _actor_of(account)
    request.answer = "cancelled by the person"
    audit(session, clock, actor=_actor_of(account), actor_account_id=account.id, action="privacy.request.cancel",
          target=f"recipient:{recipient.id}", details={"request_id": request.id})
    await session.flush()
    return request


# ---------------------------------------------------------------------------------------------- Dinas Sosial
@dataclass(slots=True)
class Closed:
    request: PrivacyRequest
    changed: list[str]
    told: bool


async def _locked_open(session: AsyncSession, request_id: int) -> PrivacyRequest:
    query = select(PrivacyRequest).where(PrivacyRequest.id == request_id)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(of=PrivacyRequest)
    request = await session.scalar(query)
    if request is None:
        raise RequestRefused("not_found")
    if request.state != State.OPEN:
        raise RequestRefused("closed", request)
    return request


def _finish(request: PrivacyRequest, state: State, actor: str, answer: str | None, now: datetime) -> None:
    request.state, request.closed_at, request.closed_by, request.answer = state, now, actor, answer
    request.claimed_until = None


async def answer_request(session: AsyncSession, clock: Clock, settings: Settings, request_id: int, *, actor: str,
                         text: str) -> Closed:
    """Answer without a change (e.g. an explanation); the answer is recorded and sent to the person."""
    if not text.strip():
        raise RequestRefused("empty")
    request = await _locked_open(session, request_id)
    now = clock.now()
    _finish(request, State.ANSWERED, actor, mask_niks(text.strip()), now)
    audit(session, clock, actor=actor, action="privacy.request.answer", target=f"recipient:{request.recipient_id}",
          details={"request_id": request.id, "kind": request.kind})
    told = await tell_person(session, request, lambda: _(
        "📨 Answer to your data request #{id} ({kind}):\n{text}"
    ).format(id=request.id, kind=kind_label(request.kind), text=_html(request.answer)), now=now, key="answer")
    await session.flush()
    return Closed(request, [], told)


async def refuse_request(session: AsyncSession, clock: Clock, settings: Settings, request_id: int, *, actor: str,
                         reason: str) -> Closed:
    if not reason.strip():
        raise RequestRefused("no_reason")
    request = await _locked_open(session, request_id)
    now = clock.now()
    _finish(request, State.REFUSED, actor, mask_niks(reason.strip()), now)
    audit(session, clock, actor=actor, action="privacy.request.refuse", target=f"recipient:{request.recipient_id}",
          details={"request_id": request.id, "kind": request.kind})
    told = await tell_person(session, request, lambda: _(
        "Your data request #{id} ({kind}) was not carried out.\nReason: {reason}\n"
        "You may ask again, or contact the data protection officer (see /privasi)."
    ).format(id=request.id, kind=kind_label(request.kind), reason=_html(request.answer)), now=now, key="refuse")
    await session.flush()
    return Closed(request, [], told)


async def apply_request(session: AsyncSession, clock: Clock, settings: Settings, request_id: int, *, actor: str,
                        changes: Mapping[str, str] | None = None) -> Closed:
    """Do what was asked: correct (``changes``), restrict, or delete (anonymise, keeping what Art. 15 allows)."""
    from services.privacy.anonymise import anonymise
    from services.profile import correct_profile

    request = await _locked_open(session, request_id)
    recipient = await session.get(Recipient, request.recipient_id) if request.recipient_id else None
    if recipient is None or recipient.anonymised_at is not None:
        raise RequestRefused("already_deleted", request)
    now = clock.now()
    changed: list[str] = []
    if request.kind == Kind.CORRECTION:
        if not changes:
            raise RequestRefused("no_changes", request)
        changed = await correct_profile(session, clock, settings, recipient, changes, actor=actor,
                                        reason=f"privacy request #{request.id}")
        answer = "corrected: " + (", ".join(changed) or "nothing differed")
    elif request.kind == Kind.RESTRICTION:
        await restrict(session, recipient, now=now)
        answer = "restricted"
    elif request.kind == Kind.DELETION:
        await anonymise(session, clock, settings, recipient, reason=f"deletion request #{request.id}", actor=actor)
        answer = "deleted (anonymised)"
    else:
        raise RequestRefused("not_applicable", request)
    _finish(request, State.APPLIED, actor, answer, now)
    audit(session, clock, actor=actor, action="privacy.request.apply", target=f"recipient:{recipient.id}",
          details={"request_id": request.id, "kind": request.kind, "fields": changed})

    def text() -> str:
        if request.kind == Kind.CORRECTION:
            return _("✅ Your data request #{id} is done: your data has been corrected.").format(id=request.id)
        done = _("✅ Your data request #{id} ({kind}) is done.").format(id=request.id, kind=kind_label(request.kind))
        return done + "\n" + kept_after(request.kind)

    told = await tell_person(session, request, text, now=now, key="apply")
    await session.flush()
    return Closed(request, changed, told)


async def restrict(session: AsyncSession, recipient: Recipient, *, now: datetime) -> None:
    """Processing restricted: no reminders (pending ones skipped), no announcements; the records stay."""
    recipient.restricted_at = now
    recipient.updated_at = now
    await session.execute(
        update(Reminder)
        .where(Reminder.recipient_id == recipient.id, Reminder.status == ReminderStatus.PENDING)
        .values(status=ReminderStatus.SKIPPED, error="processing restricted")
        .execution_options(synchronize_session=False)
    )


def _html(text: str | None) -> str:
    import html

    return html.escape(text or "")


async def list_requests(session: AsyncSession, *, open_only: bool = True,
                        limit: int = 200) -> list[tuple[PrivacyRequest, Recipient | None]]:
    """Requests with their person, the nearest deadline first (the CLI's list and the web desk's)."""
    query = select(PrivacyRequest, Recipient).outerjoin(Recipient, Recipient.id == PrivacyRequest.recipient_id)
    if open_only:
        query = query.where(PrivacyRequest.state == State.OPEN)
    rows = await session.execute(query.order_by(PrivacyRequest.due_at, PrivacyRequest.id).limit(limit))
    return [(r, person) for r, person in rows.all()]


async def view_request(
    session: AsyncSession, clock: Clock, request_id: int, *, actor: str, actor_account_id: int | None = None
) -> tuple[PrivacyRequest, Recipient | None] | None:
    """One request whole, for Dinas Sosial; the view is audited (it shows what the person wrote)."""
    request = await session.get(PrivacyRequest, request_id)
    if request is None:
        return None
    person = await session.get(Recipient, request.recipient_id) if request.recipient_id else None
    audit(session, clock, actor=actor, actor_account_id=actor_account_id, action="privacy.request.view",
          target=f"recipient:{request.recipient_id}", details={"request_id": request.id})
    return request, person
