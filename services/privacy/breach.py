"""Personal-data breaches (UU PDP Art. 46): the record, who is affected (selected by a query), the notices to
the people affected — each in their own language, through the durable outgoing messages — and the notice to
the supervising authority, both due within ``privacy.answer_hours`` (3×24 hours) of the discovery. The scan
(services/privacy/deadlines.py) reminds the admins before that deadline and escalates when it passes.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiogram.utils.i18n import gettext as _
from sqlalchemy import ColumnElement, and_, func, insert, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from db.models import Kabupaten, Kecamatan, PrivacyBreach, PrivacyBreachPerson, Recipient, TelegramAccount
from services.audit import audit
from services.clock import Clock
from services.dates import Gettext, indonesian, long_moment
from services.outgoing.priority import Priority
from services.privacy import messages
from services.privacy.language import locale_of, speaking

QUERY_KEYS = ("all", "kabupaten", "kecamatan", "business_type", "recipient_ids", "joined_only")


class BreachProblem(Exception):
    pass


def affected_clause(query: dict[str, Any]) -> ColumnElement[bool]:
    """Recipients matched by a breach query: ``all``, or any of kabupaten / kecamatan names, business type,
    recipient ids, ``joined_only`` (those who use the bot). Already anonymised people are not affected."""
    unknown = set(query) - set(QUERY_KEYS)
    if unknown:
        raise BreachProblem(f"unknown query key {sorted(unknown)[0]!r}; allowed: {', '.join(QUERY_KEYS)}")
    parts: list[ColumnElement[bool]] = [Recipient.anonymised_at.is_(None)]
    if query.get("kabupaten"):
        parts.append(Recipient.kecamatan_id.in_(
            select(Kecamatan.id).join(Kabupaten, Kabupaten.id == Kecamatan.kabupaten_id)
            .where(func.lower(Kabupaten.name).in_([k.lower() for k in query["kabupaten"]]))))
    if query.get("kecamatan"):
        parts.append(Recipient.kecamatan_id.in_(
            select(Kecamatan.id).where(func.lower(Kecamatan.name).in_([k.lower() for k in query["kecamatan"]]))))
    if query.get("business_type"):
        parts.append(Recipient.business_type.in_(query["business_type"]))
    if query.get("recipient_ids"):
        parts.append(Recipient.id.in_(query["recipient_ids"]))
    if query.get("joined_only"):
        parts.append(Recipient.id.in_(select(TelegramAccount.recipient_id).where(
            TelegramAccount.recipient_id.is_not(None))))
    if len(parts) == 1 and not query.get("all"):
        raise BreachProblem("the query selects nobody: give --all or at least one filter")
    return and_(true(), *parts)


async def record_breach(
    session: AsyncSession, clock: Clock, settings: Settings, *, description: str, discovered_at: datetime,
    occurred_at: datetime | None, data_kinds: str, measures: str, query: dict[str, Any], actor: str,
) -> PrivacyBreach:
    if not description.strip():
        raise BreachProblem("describe what happened")
    now = clock.now()
    if discovered_at > now:
        raise BreachProblem("the discovery time is in the future")
    breach = PrivacyBreach(
        description=description.strip(), data_kinds=data_kinds.strip(), occurred_at=occurred_at,
        discovered_at=discovered_at, recorded_at=now, recorded_by=actor, affected_query=query,
        measures=measures.strip(), notify_due_at=discovered_at + timedelta(hours=settings.privacy.answer_hours),
    )
    session.add(breach)
    await session.flush()
    await session.execute(insert(PrivacyBreachPerson).from_select(
        ["breach_id", "recipient_id"],
        select(literal(breach.id, PrivacyBreachPerson.breach_id.type), Recipient.id)
        .where(affected_clause(query)).order_by(Recipient.id)))
    breach.affected_count = (await session.scalar(select(func.count()).select_from(PrivacyBreachPerson).where(
        PrivacyBreachPerson.breach_id == breach.id))) or 0
    audit(session, clock, actor=actor, action="privacy.breach.record", target=f"breach:{breach.id}",
          details={"affected": breach.affected_count, "query": query})
    await session.flush()
    return breach


def _when(moment: datetime | None, settings: Settings, gettext: Gettext | None = None) -> str:
    return "-" if moment is None else long_moment(moment, settings.program.tz, gettext=gettext)


def person_notice(breach: PrivacyBreach, settings: Settings) -> str:
    """The notice to one affected person, in the current language (plain words)."""
    p = settings.privacy
    contact = " · ".join(html.escape(x) for x in (p.dpo_email, p.dpo_phone) if x)
    lines = [
        _("⚠️ <b>Notice about your data</b>"),
        _("On {date} WITA Dinas Sosial found that some personal data of UEP recipients, including yours, may "
          "have been seen by someone who should not see it.").format(date=_when(breach.discovered_at, settings)),
        _("What happened: {what}").format(what=html.escape(breach.description)),
    ]
    if breach.data_kinds:
        lines.append(_("Which data: {kinds}").format(kinds=html.escape(breach.data_kinds)))
    if breach.measures:
        lines.append(_("What we did: {measures}").format(measures=html.escape(breach.measures)))
    lines.append(_("What you can do: be careful with calls or messages asking for your NIK, PIN or money in the "
                   "name of the program. Dinas Sosial never asks for money."))
    lines.append(_("Questions: {name}").format(name=html.escape(p.dpo_name)) + (f" ({contact})" if contact else ""))
    return "\n".join(lines)


def authority_notice(breach: PrivacyBreach, settings: Settings, *, told: int, not_reachable: int) -> str:
    """The written notice to the supervising authority (Indonesian, the language of official letters)."""
    p = settings.privacy
    return "\n".join([
        f"Kepada: {p.authority_name}",
        "Dari: Dinas Sosial Provinsi Kalimantan Timur (pengendali data pribadi), program UEP",
        f"Perihal: Pemberitahuan kegagalan pelindungan data pribadi (UU 27/2022 Pasal 46), insiden #{breach.id}",
        "",
        f"Waktu kejadian: {_when(breach.occurred_at, settings, indonesian())} WITA",
        f"Waktu diketahui: {_when(breach.discovered_at, settings, indonesian())} WITA",
        f"Batas pemberitahuan (3 x 24 jam): {_when(breach.notify_due_at, settings, indonesian())} WITA",
        f"Uraian: {breach.description}",
        f"Data pribadi yang terungkap: {breach.data_kinds or '-'}",
        f"Jumlah subjek data terdampak: {breach.affected_count}",
        f"Subjek data yang sudah diberi tahu lewat bot: {told}; tidak terjangkau lewat bot (diberi tahu TKSK/surat): "
        f"{not_reachable}",
        f"Langkah penanganan dan pemulihan: {breach.measures or '-'}",
        f"Narahubung (pejabat pelindungan data pribadi): {p.dpo_name}"
        + (f", {p.dpo_email}" if p.dpo_email else "") + (f", {p.dpo_phone}" if p.dpo_phone else ""),
    ])


@dataclass(slots=True)
class Notified:
    queued: int
    not_reachable: int


async def notify_people(session: AsyncSession, clock: Clock, settings: Settings, breach_id: int, *,
                        actor: str) -> Notified:
    """Queue the notice for every affected person with a linked account (once each), in their language."""
    breach = await session.get(PrivacyBreach, breach_id)
    if breach is None:
        raise BreachProblem(f"no breach #{breach_id}")
    now = clock.now()
    rows = (await session.execute(
        select(PrivacyBreachPerson, TelegramAccount)
        .outerjoin(TelegramAccount, TelegramAccount.recipient_id == PrivacyBreachPerson.recipient_id)
        .where(PrivacyBreachPerson.breach_id == breach.id).order_by(PrivacyBreachPerson.id)
    )).all()
    queued = not_reachable = 0
    for person, account in rows:
        if account is None:
            not_reachable += 1
            continue
        if person.notified_at is not None:
            continue
        with speaking(locale_of(account)):
            text = person_notice(breach, settings)
        await messages.enqueue(session, account=account, text=text, dedupe_key=f"breach{breach.id}:notice", now=now,
                               priority=Priority.URGENT)
        person.notified_at = now
        queued += 1
    breach.people_notified_at = breach.people_notified_at or now
    audit(session, clock, actor=actor, action="privacy.breach.notify", target=f"breach:{breach.id}",
          details={"queued": queued, "not_reachable": not_reachable})
    await session.flush()
    return Notified(queued, not_reachable)


async def counts(session: AsyncSession, breach_id: int) -> tuple[int, int]:
    """(people told through the bot, people without a linked account)."""
    told = await session.scalar(select(func.count()).select_from(PrivacyBreachPerson).where(
        PrivacyBreachPerson.breach_id == breach_id, PrivacyBreachPerson.notified_at.is_not(None))) or 0
    unreachable = await session.scalar(
        select(func.count()).select_from(PrivacyBreachPerson)
        .outerjoin(TelegramAccount, TelegramAccount.recipient_id == PrivacyBreachPerson.recipient_id)
        .where(PrivacyBreachPerson.breach_id == breach_id, TelegramAccount.id.is_(None))) or 0
    return told, unreachable


async def mark_authority_notified(session: AsyncSession, clock: Clock, breach_id: int, *, actor: str) -> PrivacyBreach:
    breach = await session.get(PrivacyBreach, breach_id)
    if breach is None:
        raise BreachProblem(f"no breach #{breach_id}")
    breach.authority_notified_at = breach.authority_notified_at or clock.now()
    audit(session, clock, actor=actor, action="privacy.breach.authority", target=f"breach:{breach.id}")
    await session.flush()
    return breach
