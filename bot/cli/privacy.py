"""``uep privacy …``: Dinas Sosial's side of UU PDP 27/2022 — people's requests (list, show, answer, apply,
refuse), one person's full data (``export``), retention, breaches — and ``uep audit``, the audit log read with
filters. Whoever acts names themselves with ``--actor`` (an active staff member); every action is audited."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli.app import app, fail, run_async
from bot.context import AppContext

privacy_app = typer.Typer(help="Personal data under UU PDP 27/2022: requests, exports, retention, breaches.",
                          no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")
requests_app = typer.Typer(help="People's requests (see, correct, restrict, delete, withdraw consent).",
                           invoke_without_command=True)
privacy_app.add_typer(requests_app, name="requests")
breach_app = typer.Typer(help="Personal-data breaches: record, notify the people and the authority.",
                         no_args_is_help=True)
privacy_app.add_typer(breach_app, name="breach")

_ActorOpt = Annotated[str, typer.Option("--actor", help="Your name as an active Dinas Sosial staff member (audited).")]


async def _staff(session, name: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from db.models import Staff

    found = (await session.scalars(
        select(Staff).where(func.lower(Staff.name) == name.strip().lower(), Staff.active.is_(True)))).all()
    if len(found) != 1:
        raise fail(f"--actor: {'no' if not found else 'more than one'} active staff member named {name!r}")
    return found[0]


def _label(staff) -> str:  # type: ignore[no-untyped-def]
    return f"{staff.name} ({staff.role})"


def _when(moment: datetime | None, ctx: AppContext) -> str:
    return "-" if moment is None else moment.astimezone(ctx.settings.program.tz).strftime("%d-%m-%Y %H:%M")


def _parse_time(value: str | None, ctx: AppContext, option: str) -> datetime | None:
    """ISO time; without a zone it is WITA."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{option}: {value!r} is not a time like 2026-03-02T09:00") from None
    return moment.replace(tzinfo=ctx.settings.program.tz) if moment.tzinfo is None else moment


# ---------------------------------------------------------------------------------------------- requests
@requests_app.callback()
def requests_list(
    typer_ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Closed requests too (default: open ones).")] = False,
) -> None:
    """List requests: number, kind, state, deadline (🚩 late), kecamatan. Then answer, apply or refuse one."""
    if typer_ctx.invoked_subcommand is not None:
        return
    from db.enums import PrivacyRequestState
    from services.privacy.requests import list_requests

    async def _do(ctx: AppContext) -> list[str]:
        async with ctx.session_factory() as session:
            rows = await list_requests(session, open_only=not all_, limit=10_000)
            now = ctx.clock.now()
            lines = []
            for r, person in rows:
                late = "🚩 " if r.state == PrivacyRequestState.OPEN and r.due_at <= now else ""
                where = person.kecamatan.name if person is not None else "-"
                proxy = " (relative's phone)" if r.via_proxy else ""
                lines.append(f"#{r.id}\t{r.kind}\t{r.state}\t{late}due {_when(r.due_at, ctx)}\trecipient "
                             f"{r.recipient_id} ({where}){proxy}")
            return lines or ["no requests" + ("" if all_ else " open")]

    typer.echo("\n".join(run_async(_do)))


@requests_app.command("show")
def requests_show(request_id: int, actor: _ActorOpt) -> None:
    """One request whole: who asked (name, kecamatan), what they wrote, the answer. Audited (a view)."""
    from services.privacy.requests import view_request

    async def _do(ctx: AppContext) -> str:
        async with ctx.session_factory.begin() as session:
            staff = await _staff(session, actor)
            found = await view_request(session, ctx.clock, request_id, actor=_label(staff))
            if found is None:
                raise fail(f"no request #{request_id}")
            r, person = found
            return "\n".join([
                f"request #{r.id}: {r.kind}, {r.state}; asked {_when(r.created_at, ctx)}, due {_when(r.due_at, ctx)}",
                f"recipient {r.recipient_id}: {person.name if person else '-'}, "
                f"{person.desa if person else '-'}, {person.kecamatan.name if person else '-'}"
                + (" (sent from a relative's phone: check who asked)" if r.via_proxy else ""),
                f"they wrote: {r.details or '-'}" + (" (+ a voice note, sent to the team in Telegram)"
                                                       if r.voice_file_id else ""),
                f"kept (Art. 15): {r.kept_note or '-'}",
                f"closed: {_when(r.closed_at, ctx)} by {r.closed_by or '-'}: {r.answer or '-'}",
            ])

    typer.echo(run_async(_do))


def _close(request_id: int, actor: str, how: str, **kwargs: Any) -> None:
    from services.importer.normalize import Invalid
    from services.privacy import requests as rules

    async def _do(ctx: AppContext) -> str:
        async with ctx.session_factory.begin() as session:
            staff = await _staff(session, actor)
            fn = {"answer": rules.answer_request, "apply": rules.apply_request, "refuse": rules.refuse_request}[how]
            try:
                closed = await fn(session, ctx.clock, ctx.settings, request_id, actor=_label(staff), **kwargs)
            except rules.RequestRefused as exc:
                state = f" (it is {exc.request.state})" if exc.request is not None else ""
                raise fail(f"request #{request_id}: {exc.reason.replace('_', ' ')}{state}", 1) from None
            except Invalid as exc:
                raise fail(f"request #{request_id}: {exc}", 1) from None
            r = closed.request
            told = "the person is told in the bot" if closed.told else "the person has no account to tell"
            changed = f"; changed: {', '.join(closed.changed)}" if closed.changed else ""
            return f"request #{r.id} ({r.kind}) {r.state}{changed}; {told}"

    typer.echo(run_async(_do))


@requests_app.command("answer")
def requests_answer(
    request_id: int, actor: _ActorOpt,
    text: Annotated[str, typer.Option("--text", help="The answer, as the person will read it.")],
) -> None:
    """Answer a request without changing data (recorded and sent to the person)."""
    _close(request_id, actor, "answer", text=text)


@requests_app.command("apply")
def requests_apply(
    request_id: int, actor: _ActorOpt,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="A correction, FIELD=VALUE (name, phone, address, desa, birth_date, sex); repeatable.")] = None,
) -> None:
    """Do what was asked: a correction (with --set), a restriction, or a deletion (anonymising the person,
    keeping what UU PDP Art. 15 allows)."""
    changes: dict[str, str] = {}
    for item in set_ or []:
        field, sep, value = item.partition("=")
        if not sep:
            raise fail(f"--set {item!r}: write FIELD=VALUE")
        changes[field.strip()] = value
    _close(request_id, actor, "apply", changes=changes)


@requests_app.command("refuse")
def requests_refuse(request_id: int, actor: _ActorOpt,
                    reason: Annotated[str, typer.Option("--reason", help="Why, as the person will read it.")]) -> None:
    """Refuse a request with a reason (recorded and sent to the person)."""
    _close(request_id, actor, "refuse", reason=reason)


# ---------------------------------------------------------------------------------------------- export
@privacy_app.command("export")
def export(
    nik: str, actor: _ActorOpt,
    out: Annotated[Path | None, typer.Option("--out", help="JSON file to write (default data-<time>.json).")] = None,
) -> None:
    """Everything held about one person (full NIK included) as JSON: an active admin only; audited."""
    from services.privacy.held import ExportRefused, as_json, export_person

    async def _do(ctx: AppContext) -> tuple[Path, dict[str, Any]]:
        async with ctx.session_factory.begin() as session:
            staff = await _staff(session, actor)
            try:
                data = await export_person(session, ctx.clock, cipher=ctx.cipher, nik=nik, actor=staff)
            except ExportRefused as exc:
                raise fail(str(exc), 1) from None
        stamp = ctx.clock.now().astimezone(ctx.settings.program.tz).strftime("%Y%m%d-%H%M")
        path = out or Path(f"data-{stamp}.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(as_json(data))
        return path, data

    path, data = run_async(_do)
    sizes = ", ".join(f"{k} {len(v)}" for k, v in data.items() if isinstance(v, list))
    typer.echo(f"wrote {path} ({sizes}); recorded in the audit log")


# ---------------------------------------------------------------------------------------------- retention
@privacy_app.command("retention")
def retention(
    apply: Annotated[bool, typer.Option("--apply", help="Anonymise them now (default: only count).")] = False,
) -> None:
    """People whose retention (privacy.retention_days_after_program) has ended; --apply anonymises them (the
    scan does the same every tick)."""
    from sqlalchemy import func, select

    from db.models import Recipient
    from services.privacy.anonymise import retention_over_clause, run_retention

    async def _do(ctx: AppContext) -> str:
        now = ctx.clock.now()
        if apply:
            return f"anonymised {await run_retention(ctx, now)} people whose retention ended"
        async with ctx.session_factory() as session:
            n = await session.scalar(select(func.count()).select_from(Recipient).where(
                retention_over_clause(ctx.settings, now)))
        return f"{n} people's retention has ended (run with --apply, or let the scan do it)"

    typer.echo(run_async(_do))


# ---------------------------------------------------------------------------------------------- breach
@breach_app.command("record")
def breach_record(
    actor: _ActorOpt,
    what: Annotated[str, typer.Option("--what", help="What happened, in plain words (it goes into the notices).")],
    discovered: Annotated[str, typer.Option("--discovered", help="When it was found (ISO time, WITA).")],
    occurred: Annotated[str | None, typer.Option("--occurred", help="When it happened, if known.")] = None,
    data: Annotated[str, typer.Option("--data", help="Which personal data, e.g. 'names, phone numbers'.")] = "",
    measures: Annotated[str, typer.Option("--measures", help="What was done about it.")] = "",
    all_: Annotated[bool, typer.Option("--all", help="Everyone is affected.")] = False,
    kabupaten: Annotated[list[str] | None, typer.Option("--kabupaten", help="Affected kabupaten/kota.")] = None,
    kecamatan: Annotated[list[str] | None, typer.Option("--kecamatan", help="Affected kecamatan.")] = None,
    business_type: Annotated[list[str] | None, typer.Option("--business-type", help="Affected business type.")] = None,
    recipient_id: Annotated[list[int] | None, typer.Option("--recipient-id", help="Affected recipient id.")] = None,
    joined_only: Annotated[bool, typer.Option("--joined-only", help="Only people who use the bot.")] = False,
) -> None:
    """Record an incident and who is affected (a query); the 3×24-hour notice clock starts at --discovered."""
    from services.privacy.breach import BreachProblem, record_breach

    query: dict[str, Any] = {k: v for k, v in {
        "all": all_, "kabupaten": kabupaten, "kecamatan": kecamatan, "business_type": business_type,
        "recipient_ids": recipient_id, "joined_only": joined_only}.items() if v}

    async def _do(ctx: AppContext) -> str:
        async with ctx.session_factory.begin() as session:
            staff = await _staff(session, actor)
            try:
                b = await record_breach(
                    session, ctx.clock, ctx.settings, description=what,
                    discovered_at=_parse_time(discovered, ctx, "--discovered"),  # type: ignore[arg-type]
                    occurred_at=_parse_time(occurred, ctx, "--occurred"), data_kinds=data, measures=measures,
                    query=query, actor=_label(staff))
            except BreachProblem as exc:
                raise fail(str(exc), 1) from None
            return (f"breach #{b.id} recorded: {b.affected_count} people affected; notify them and the authority "
                    f"by {_when(b.notify_due_at, ctx)} WITA (uep privacy breach notify {b.id})")

    typer.echo(run_async(_do))


@breach_app.command("list")
def breach_list() -> None:
    """Breaches with their deadline and who has been told."""
    from sqlalchemy import select

    from db.models import PrivacyBreach

    async def _do(ctx: AppContext) -> str:
        async with ctx.session_factory() as session:
            rows = list(await session.scalars(select(PrivacyBreach).order_by(PrivacyBreach.id)))
        now = ctx.clock.now()
        lines = []
        for b in rows:
            done = b.people_notified_at is not None and b.authority_notified_at is not None
            late = "🚩 " if not done and b.notify_due_at <= now else ""
            lines.append(f"#{b.id}\t{late}due {_when(b.notify_due_at, ctx)}\taffected {b.affected_count}\t"
                         f"people told {_when(b.people_notified_at, ctx)}\tauthority told "
                         f"{_when(b.authority_notified_at, ctx)}\t{b.description[:60]}")
        return "\n".join(lines) or "no breaches recorded"

    typer.echo(run_async(_do))


@breach_app.command("notify")
def breach_notify(
    breach_id: int, actor: _ActorOpt,
    authority_out: Annotated[Path | None, typer.Option(
        "--authority-out", help="Write the notice to the supervising authority to this file.")] = None,
    authority_sent: Annotated[bool, typer.Option(
        "--authority-sent", help="Record that the authority's notice has been sent.")] = False,
) -> None:
    """Queue the notice to every affected person (in their language, through the bot), and write the notice
    for the supervising authority."""
    from services.privacy.breach import (
        BreachProblem,
        authority_notice,
        counts,
        mark_authority_notified,
        notify_people,
    )

    async def _do(ctx: AppContext) -> str:
        async with ctx.session_factory.begin() as session:
            staff = await _staff(session, actor)
            try:
                result = await notify_people(session, ctx.clock, ctx.settings, breach_id, actor=_label(staff))
                from db.models import PrivacyBreach

                breach = await session.get(PrivacyBreach, breach_id)
                told, unreachable = await counts(session, breach_id)
                letter = authority_notice(breach, ctx.settings, told=told, not_reachable=unreachable)
                if authority_sent:
                    await mark_authority_notified(session, ctx.clock, breach_id, actor=_label(staff))
            except BreachProblem as exc:
                raise fail(str(exc), 1) from None
        if authority_out is not None:
            authority_out.write_text(letter + "\n", encoding="utf-8")
        lines = [f"breach #{breach_id}: {result.queued} notices queued (sent by the bot's scan); "
                 f"{result.not_reachable} affected people have no linked account: tell them through their TKSK"]
        lines.append(f"authority notice written to {authority_out}" if authority_out else letter)
        if authority_sent:
            lines.append("authority notice recorded as sent")
        return "\n".join(lines)

    typer.echo(run_async(_do))


# ---------------------------------------------------------------------------------------------- audit
AUDIT_KINDS = {
    "full-nik": ("nik.view", "desk.nik_viewed", "export.full_nik", "privacy.export"),
    "exports": ("export", "export.full_nik", "export.photos", "privacy.export", "broadcast.failed_list"),
    "phone": ("case.phone_viewed", "desk.phone_viewed", "recipient.phone_confirmed", "recipient.phone_rejected"),
    "sign-ins": ("web.sign_in", "web.link_issued", "staff.linked", "worker.linked", "worker.link_refused"),
    "privacy": ("privacy.",),
    "corrections": ("recipient.corrected",),
}


@app.command("audit")
def audit_log(
    kind: Annotated[list[str] | None, typer.Option(
        "--kind", help=f"What to show: {', '.join(AUDIT_KINDS)} (repeatable).")] = None,
    action: Annotated[str | None, typer.Option("--action", help="Actions starting with this, e.g. privacy.")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Actor contains this (case-insensitive).")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Exact target, e.g. recipient:12.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="From this time (ISO, WITA).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Before this time (ISO, WITA).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Newest N entries.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Read the audit log: who viewed full NIKs, exports, phone look-ups, sign-ins, privacy actions."""
    from sqlalchemy import func, or_, select

    from db.models import AuditLog

    unknown = [k for k in kind or [] if k not in AUDIT_KINDS]
    if unknown:
        raise fail(f"--kind: unknown {unknown[0]!r}; choose from {', '.join(AUDIT_KINDS)}")

    async def _do(ctx: AppContext) -> list[str]:
        query = select(AuditLog)
        prefixes = [p for k in kind or [] for p in AUDIT_KINDS[k]]
        if prefixes:
            query = query.where(or_(*(
                AuditLog.action.startswith(p) if p.endswith(".") else AuditLog.action == p for p in prefixes)))
        if action:
            query = query.where(AuditLog.action.startswith(action))
        if actor:
            query = query.where(func.lower(AuditLog.actor).contains(actor.lower()))
        if target:
            query = query.where(AuditLog.target == target)
        if (start := _parse_time(since, ctx, "--since")) is not None:
            query = query.where(AuditLog.at >= start)
        if (end := _parse_time(until, ctx, "--until")) is not None:
            query = query.where(AuditLog.at < end)
        async with ctx.session_factory() as session:
            rows = list(await session.scalars(query.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)))
        rows.reverse()
        if as_json:
            return [json.dumps({"at": r.at.isoformat(), "actor": r.actor, "action": r.action, "target": r.target,
                                "details": r.details}, ensure_ascii=False) for r in rows]
        return [f"{_when(r.at, ctx)}\t{r.actor}\t{r.action}\t{r.target or '-'}\t"
                f"{json.dumps(r.details, ensure_ascii=False) if r.details else ''}" for r in rows] or ["no entries"]

    typer.echo("\n".join(run_async(_do)))
