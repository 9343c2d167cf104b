"""Everything held about one recipient (UU PDP Art. 7: the right to see it): collected once, shown as a short
summary in the chat and as a file with all of it, in the person's language.

The same collection serves ``uep privacy export NIK`` (JSON for Dinas Sosial, audited). Sections: profile and
Telegram accounts, consent history, aid package, check-ins, photos (a list: when, for what, stored or not),
cases, messages sent to them (reminders, notices, announcements, privacy messages), their privacy requests.
"""

from __future__ import annotations

import html
import json
import re
from datetime import date, datetime
from typing import Any

from aiogram.utils.i18n import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.config import Settings
from db.enums import DeliveryStatus, ReminderStatus
from db.models import (
    AidPackage,
    Assessment,
    Broadcast,
    BroadcastDelivery,
    Candidate,
    Case,
    Checkin,
    ConsentRecord,
    Handover,
    OutboxMessage,
    Photo,
    PrivacyRequest,
    Recipient,
    Reminder,
    TelegramAccount,
    Visit,
)
from services.crypto import NikCipher, mask_nik
from services.dates import long_date, long_moment
from services.i18n_labels import business_status_label, business_type_label, case_kind_label, case_state_label


def _iso(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def collect(session: AsyncSession, recipient: Recipient, *, cipher: NikCipher, full_nik: bool = False
                  ) -> dict[str, Any]:
    """All data held about ``recipient`` as plain JSON-able values (stored codes, UTC ISO times)."""
    rid = recipient.id
    nik = cipher.decrypt(recipient.nik_encrypted) if recipient.nik_encrypted else ""
    accounts = list(await session.scalars(select(TelegramAccount).where(
        or_(TelegramAccount.recipient_id == rid,
            TelegramAccount.id.in_(select(ConsentRecord.telegram_account_id).where(ConsentRecord.recipient_id == rid))))
        .order_by(TelegramAccount.id)))
    account_ids = [a.id for a in accounts]
    data: dict[str, Any] = {
        "profile": {
            "name": recipient.name, "nik": nik if full_nik else mask_nik(nik), "sex": recipient.sex,
            "birth_date": _iso(recipient.birth_date), "phone": recipient.phone, "address": recipient.address,
            "desa": recipient.desa, "kecamatan": recipient.kecamatan.name,
            "kabupaten": recipient.kecamatan.kabupaten.name, "dtks_id": recipient.dtks_id, "pkh": recipient.pkh,
            "business_type": recipient.business_type, "aid_value": recipient.aid_value,
            "aid_date": _iso(recipient.aid_date), "onboarding_state": recipient.onboarding_state,
            "business_status": recipient.business_status, "joined_at": _iso(recipient.joined_at),
            "restricted_at": _iso(recipient.restricted_at), "anonymised_at": _iso(recipient.anonymised_at),
        },
        "telegram_accounts": [
            {"telegram_user_id": a.telegram_user_id, "first_name": a.first_name, "language": a.language,
             "contact_phone": a.contact_phone, "relative_phone": a.is_proxy, "linked": a.recipient_id == rid,
             "created_at": _iso(a.created_at), "last_seen_at": _iso(a.last_seen_at)}
            for a in accounts
        ],
        "consent": [
            {"decision": c.decision, "text_version": c.text_version, "language": c.language, "at": _iso(c.at)}
            for c in await session.scalars(select(ConsentRecord).where(ConsentRecord.recipient_id == rid)
                                           .order_by(ConsentRecord.id))
        ],
    }
    package = await session.scalar(select(AidPackage).where(AidPackage.recipient_id == rid)
                                   .options(selectinload(AidPackage.items)))
    data["aid_package"] = None if package is None else {
        "business_type": package.business_type, "value": package.value, "delivered_on": _iso(package.delivered_on),
        "receipt_confirmed_at": _iso(package.receipt_confirmed_at),
        "items": [{"name": i.name, "received": i.received} for i in package.items],
    }
    photos = list(await session.scalars(select(Photo).where(Photo.recipient_id == rid).order_by(Photo.id)))
    per_checkin: dict[int, int] = {}
    for p in photos:
        if p.checkin_id is not None:
            per_checkin[p.checkin_id] = per_checkin.get(p.checkin_id, 0) + 1
    data["checkins"] = [
        {"submitted_at": _iso(c.submitted_at), "status": c.status, "days_open": c.days_open,
         "sales_bracket": c.sales_bracket, "reason": c.reason, "note": c.note, "voice_note": bool(c.voice_file_id),
         "location": [c.latitude, c.longitude] if c.latitude is not None else None,
         "photos": per_checkin.get(c.id, 0), "extra": c.is_extra}
        for c in await session.scalars(select(Checkin).where(Checkin.recipient_id == rid).order_by(Checkin.id))
    ]
    data["photos"] = [
        {"at": _iso(p.created_at),
         "for": "checkin" if p.checkin_id else "case" if p.case_id else "aid" if p.aid_package_id else "other",
         "stored": p.status == "stored", "width": p.width, "height": p.height}
        for p in photos
    ]
    data["cases"] = [
        {"number": c.number, "kind": c.kind, "state": c.state, "created_at": _iso(c.created_at),
         "description": c.description, "voice_note": bool(c.voice_file_id),
         "video_note": bool(c.video_note_file_id), "resolution": c.resolution,
         "resolved_at": _iso(c.resolved_at)}
        for c in await session.scalars(select(Case).where(Case.recipient_id == rid).order_by(Case.id))
    ]
    sent: list[dict[str, Any]] = [
        {"at": _iso(r.sent_at), "kind": r.kind}
        for r in await session.scalars(select(Reminder).where(
            Reminder.recipient_id == rid, Reminder.status == ReminderStatus.SENT).order_by(Reminder.sent_at))
    ]
    if account_ids:
        for m in await session.scalars(select(OutboxMessage).where(
                OutboxMessage.account_id.in_(account_ids), OutboxMessage.status == "sent")
                .order_by(OutboxMessage.sent_at)):
            sent.append({"at": _iso(m.sent_at), "kind": m.kind, "text": m.text})
        for delivery, broadcast in await session.execute(
                select(BroadcastDelivery, Broadcast).join(Broadcast, Broadcast.id == BroadcastDelivery.broadcast_id)
                .where(BroadcastDelivery.telegram_account_id.in_(account_ids),
                       BroadcastDelivery.status == DeliveryStatus.SENT).order_by(BroadcastDelivery.sent_at)):
            text = broadcast.text_en if delivery.language == "en" and broadcast.text_en else broadcast.text_id
            sent.append({"at": _iso(delivery.sent_at), "kind": "announcement", "text": text})
    sent.sort(key=lambda m: m["at"] or "")
    data["messages_sent"] = sent
    data["privacy_requests"] = [
        {"id": r.id, "kind": r.kind, "state": r.state, "created_at": _iso(r.created_at), "due_at": _iso(r.due_at),
         "closed_at": _iso(r.closed_at), "details": r.details, "answer": r.answer, "kept": r.kept_note}
        for r in await session.scalars(select(PrivacyRequest).where(PrivacyRequest.recipient_id == rid)
                                       .order_by(PrivacyRequest.id))
    ]
    data["before_the_aid"] = [
        {"stage": c.stage, "preferred_business_type": c.preferred_business_type,
         "approved_business_type": c.approved_business_type, "decision_reason": c.decision_reason,
         "assessment": None if a is None else {
             "status": a.status, "submitted_at": _iso(a.submitted_at), "verdict": a.verdict,
             "recommended_business_type": a.recommended_business_type, "answers": a.answers,
             "photos": len(a.photos or []), "location": a.latitude is not None, "voice_note": bool(a.voice_file_id)}}
        for c, a in await session.execute(
            select(Candidate, Assessment).outerjoin(Assessment, Assessment.candidate_id == Candidate.id)
            .where(Candidate.recipient_id == rid).order_by(Candidate.id))
    ]
    data["handovers"] = [
        {"number": h.number, "handed_over_on": _iso(h.handed_over_on), "total_value": h.total_value}
        for h in await session.scalars(select(Handover).where(Handover.recipient_id == rid).order_by(Handover.id))
    ]
    data["visits"] = [
        {"visited_at": _iso(v.visited_at), "observed_status": v.observed_status, "days_open": v.days_open,
         "sales_bracket": v.sales_bracket, "stock": v.stock, "equipment": v.equipment, "obstacles": v.obstacles,
         "advice": v.advice, "photos": len(v.photo_file_ids or []), "location": v.latitude is not None,
         "next_visit_on": _iso(v.next_visit_on)}
        for v in await session.scalars(select(Visit).where(Visit.recipient_id == rid).order_by(Visit.visited_at))
    ]
    for extra in _EXTRA_SECTIONS:
        data.update(await extra(session, recipient))
    return data


# Other features add their sections here (visits, assessments): ``async def section(session, recipient) -> dict``.
_EXTRA_SECTIONS: list[Any] = []


def as_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode()


# ---------------------------------------------------------------------------------------------- for the person
def _when(value: str | None, settings: Settings) -> str:
    if not value:
        return "-"
    moment = datetime.fromisoformat(value)
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return long_moment(moment, settings.program.tz)
    return long_date(moment.date())


def _plain(text: str) -> str:
    """Message texts are HTML; the file is plain text."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _yes(value: bool | None) -> str:
    return "-" if value is None else (_("yes") if value else _("no"))


def summary_text(data: dict[str, Any], settings: Settings, locale: str) -> str:
    """A few lines for the chat (HTML), in the current language."""
    p = data["profile"]
    lines = [
        _("<b>Your data with the UEP program</b>"),
        _("Name: {name}").format(name=html.escape(p["name"])),
        _("NIK: {nik}").format(nik=p["nik"]),
        _("Phone: {phone}").format(phone=html.escape(p["phone"] or "-")),
        _("Address: {address}, {desa}, {kecamatan}").format(
            address=html.escape(p["address"] or "-"), desa=html.escape(p["desa"] or "-"),
            kecamatan=html.escape(p["kecamatan"])),
        _("Business: {business}, aid Rp{value}").format(
            business=business_type_label(p["business_type"], settings, locale),
            value=f"{p['aid_value']:,}".replace(",", ".")),
        _("Reports: {checkins} · photos: {photos} · problems reported: {cases} · messages to you: {messages}").format(
            checkins=len(data["checkins"]), photos=len(data["photos"]), cases=len(data["cases"]),
            messages=len(data["messages_sent"])),
        _("Consent: {n} record(s), the last on {date} WITA.").format(
            n=len(data["consent"]), date=_when(data["consent"][-1]["at"], settings) if data["consent"] else "-"),
        "",
        _("Everything is in the file below. If something is wrong, press ✏️ Correct my data in /privasi."),
    ]
    return "\n".join(lines)


def full_text(data: dict[str, Any], settings: Settings, locale: str) -> str:
    """The file for the person: every section in plain words (UTF-8 text, readable on any phone)."""
    p = data["profile"]
    out: list[str] = [_("YOUR DATA WITH THE UEP PROGRAM (Dinas Sosial Provinsi Kalimantan Timur)"), ""]

    def section(title: str) -> None:
        out.extend(["", f"== {title} =="])

    section(_("Profile"))
    rows = [
        (_("Name"), p["name"]), (_("NIK"), p["nik"]), (_("Sex"), p["sex"]), (_("Date of birth"), p["birth_date"]),
        (_("Phone"), p["phone"] or "-"), (_("Address"), p["address"] or "-"), (_("Desa"), p["desa"] or "-"),
        (_("Kecamatan"), p["kecamatan"]), (_("Kabupaten/Kota"), p["kabupaten"]), (_("DTKS id"), p["dtks_id"] or "-"),
        (_("PKH"), _yes(p["pkh"])), (_("Business"), business_type_label(p["business_type"], settings, locale)),
        (_("Aid value"), f"Rp{p['aid_value']:,}".replace(",", ".")), (_("Aid date"), p["aid_date"] or "-"),
        (_("Business status"), business_status_label(p["business_status"])),
        (_("Joined the bot"), _when(p["joined_at"], settings)),
        (_("Use restricted since"), _when(p["restricted_at"], settings)),
    ]
    out.extend(f"{k}: {v}" for k, v in rows)
    section(_("Telegram accounts"))
    for a in data["telegram_accounts"]:
        out.append(_("Telegram id {id}, name {name}, language {language}, shared phone {phone}, "
                     "relative's phone: {proxy}, linked now: {linked}").format(
            id=a["telegram_user_id"], name=a["first_name"] or "-", language=a["language"] or "-",
            phone=a["contact_phone"] or "-", proxy=_yes(a["relative_phone"]), linked=_yes(a["linked"])))
    section(_("Consent history"))
    for c in data["consent"]:
        version = _("text version {version}, {language}").format(version=c["text_version"], language=c["language"])
        out.append(f"{_when(c['at'], settings)}: {c['decision']} ({version})")
    if data["aid_package"]:
        section(_("Aid package"))
        pkg = data["aid_package"]
        out.append(_("Handed over: {date}; receipt confirmed: {confirmed}").format(
            date=pkg["delivered_on"] or "-", confirmed=_when(pkg["receipt_confirmed_at"], settings)))
        out.extend(f"- {i['name']}: {_yes(i['received'])}" for i in pkg["items"])
    section(_("Business reports"))
    for c in data["checkins"]:
        line = (f"{_when(c['submitted_at'], settings)}: {business_status_label(c['status'])}"
                + (", " + _("days open {n}").format(n=c["days_open"]) if c["days_open"] is not None else "")
                + (", " + _("sales {bracket}").format(bracket=c["sales_bracket"]) if c["sales_bracket"] else "")
                + (", " + _("reason {reason}").format(reason=c["reason"]) if c["reason"] else "")
                + ", " + _("photos {n}").format(n=c["photos"]))
        if c["note"]:
            line += ", " + _("note: {note}").format(note=c["note"])
        if c["voice_note"]:
            line += ", " + _("voice note")
        if c["location"]:
            line += ", " + _("location {lat}, {lon}").format(lat=c["location"][0], lon=c["location"][1])
        out.append(line)
    section(_("Photos"))
    for ph in data["photos"]:
        what = {"checkin": _("business report"), "case": _("problem report"), "aid": _("aid receipt")}.get(
            ph["for"], ph["for"])
        out.append(f"{_when(ph['at'], settings)}: {what}, " + (_("stored") if ph["stored"] else _("not stored")))
    section(_("Problems reported (cases)"))
    for c in data["cases"]:
        line = (f"{c['number']} {_when(c['created_at'], settings)}: {case_kind_label(c['kind'])}, "
                f"{case_state_label(c['state'])}")
        if c["description"]:
            line += f" — {c['description']}"
        if c["resolution"]:
            line += " (" + _("solution: {text}").format(text=c["resolution"]) + ")"
        out.append(line)
    if data["before_the_aid"] or data["handovers"]:
        section(_("Before the aid: assessment and hand-over"))
        for c in data["before_the_aid"]:
            a = c["assessment"]
            out.append(_("Candidate stage: {stage}; assessment: {assessment}").format(
                stage=c["stage"], assessment="-" if a is None else f"{a['status']}, {a['verdict'] or '-'}"))
            if a and a["answers"]:
                out.append(json.dumps(a["answers"], ensure_ascii=False))
        for h in data["handovers"]:
            out.append(_("Hand-over {number} on {date}, Rp{value}").format(
                number=h["number"], date=h["handed_over_on"], value=f"{h['total_value']:,}".replace(",", ".")))
    if data["visits"]:
        section(_("Visits by your TKSK or PSM"))
        for v in data["visits"]:
            line = f"{_when(v['visited_at'], settings)}: {business_status_label(v['observed_status'])}"
            if v["advice"]:
                line += " — " + _("advice: {text}").format(text=v["advice"])
            line += ", " + _("photos {n}").format(n=v["photos"])
            out.append(line)
    for key, title in _EXTRA_TITLES.items():
        if data.get(key):
            section(_(title))
            out.extend(json.dumps(item, ensure_ascii=False) for item in data[key])
    section(_("Messages sent to you"))
    for m in data["messages_sent"]:
        out.append(f"{_when(m['at'], settings)}: {m['kind']}" + (f" — {_plain(m['text'])}" if m.get("text") else ""))
    section(_("Your data requests"))
    for r in data["privacy_requests"]:
        out.append(f"#{r['id']} {_when(r['created_at'], settings)}: {r['kind']}, {r['state']}"
                   + (f" — {r['answer']}" if r["answer"] else ""))
    out.append("")
    return "\n".join(out)


# Titles of sections other features add (msgids translated where shown).
_EXTRA_TITLES: dict[str, str] = {}


class ExportRefused(Exception):
    pass


async def export_person(session: AsyncSession, clock, *, cipher: NikCipher, nik: str, actor) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One person's data for Dinas Sosial (``uep privacy export NIK``), full NIK included: an active admin
    only, audited (by recipient id, never the NIK) before anything is returned."""
    from db.enums import StaffRole
    from services.audit import audit
    from services.importer.normalize import Invalid
    from services.importer.normalize import nik as normalize_nik

    if actor is None or actor.role != StaffRole.ADMIN or not actor.active:
        raise ExportRefused("a person's full data may be exported only by an active admin")
    try:
        clean = normalize_nik(nik)
    except Invalid as exc:
        raise ExportRefused(str(exc)) from None
    recipient = await session.scalar(select(Recipient).where(Recipient.nik_hash == cipher.blind_index(clean)))
    if recipient is None:
        raise ExportRefused("no recipient with this NIK (or their data was anonymised)")
    audit(session, clock, actor=f"{actor.name} ({actor.role})", action="privacy.export",
          target=f"recipient:{recipient.id}", details={"full_nik": True})
    await session.flush()
    return await collect(session, recipient, cipher=cipher, full_nik=True)
