"""``/asesmen`` for Dinas Sosial staff: the assessments waiting for a decision, each with its score, verdict,
recommendation, photos and voice note; approve with a business type and the catalog's package (adjustable
item by item, always within Rp4.5–5 million), or reject with a reason. The TKSK (and the candidate, when they
have an account) are told. Every button re-checks the role and the candidate's stage on the server.
"""

from __future__ import annotations

import html

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import BUSINESS_TYPE_CODES, Settings
from bot.context import AppContext
from bot.filters import STAFF_ROLES, RoleFilter
from bot.i18n import N_, CatalogI18n
from bot.messenger import Messenger
from bot.routing import Router
from db.enums import CandidateStage, Role
from db.models import AidPackage, Assessment, Candidate, TelegramAccount
from services.aid import assessment as rules
from services.aid.catalog import PackageOutOfRange, rupiah
from services.aid.decision import DecisionRefused, approve, reject
from services.aid.lifecycle import Actor
from services.aid.notices import decision_notices, queue
from services.aid.packages import PackageLocked, item_line, lines_of, set_lines, with_quantity
from services.crypto import mask_nik
from services.i18n_labels import business_type_label

router = Router(name="assessment_staff")
router.message.filter(RoleFilter(*STAFF_ROLES))
router.callback_query.filter(RoleFilter(*STAFF_ROLES))

DECISION_REFUSALS = {
    "not_assessed": N_("This candidate has not been assessed. Only an admin can approve them, with a reason."),
    "already_decided": N_("This candidate has already been decided on."),
    "already_recipient": N_("This person is already an aid recipient."),
    "no_business_type": N_("Choose a business type first."),
    "no_reason": N_("Please give a reason."),
}


class DcCb(CallbackData, prefix="dc"):
    a: str          # open | ok | types | okt | no
    id: int         # candidate id
    v: str = ""


class PkCb(CallbackData, prefix="pk"):
    id: int         # package id
    pos: int        # item position
    d: int          # +1 / -1


class Decide(StatesGroup):
    reason = State()  # data: candidate_id


def _kb(rows: list[list[tuple[str, CallbackData]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=cb.pack()) for t, cb in row] for row in rows]
    )


def _locale() -> str:
    from aiogram.utils.i18n import get_i18n

    return get_i18n().current_locale


def staff_actor(account: TelegramAccount) -> Actor:
    assert account.staff is not None
    return Actor(f"{account.staff.role} {account.staff.name}", account.id)


@router.message(Command("asesmen"))
async def waiting(message: Message, session: AsyncSession, state: FSMContext, settings: Settings) -> None:
    await state.clear()
    rows = await rules.waiting_for_decision(session)
    if not rows:
        await message.answer(_("No assessments are waiting for a decision."))
        return
    buttons = [[(f"{a.candidate.name} · {a.candidate.kecamatan.name} · {a.score:.1f}"[:60],
                 DcCb(a="open", id=a.candidate_id))] for a in rows[:20]]
    await message.answer(_("📝 Assessments waiting for a decision: {n}. Oldest first:").format(n=len(rows)),
                         reply_markup=_kb(buttons))


def _card(a: Assessment, settings: Settings, role: Role, cipher) -> str:  # type: ignore[no-untyped-def]
    from conversations.assessment import verdict_label

    locale = _locale()
    c = a.candidate
    nik = cipher.decrypt(c.nik_encrypted)
    lines = [
        _("📝 <b>{name}</b> · NIK {nik}").format(name=html.escape(c.name),
                                                  nik=nik if role is Role.ADMIN else mask_nik(nik)),
        f"{html.escape(c.address)}, {html.escape(c.desa)}, {html.escape(c.kecamatan.name)}, "
        f"{html.escape(c.kecamatan.kabupaten.name)}",
        _("Assessed by {worker}").format(worker=html.escape(a.worker.name)),
        _("Score: {score} · {verdict}").format(score=f"{a.score or 0:.2f}", verdict=verdict_label(a.verdict)),
    ]
    for aspect, label in settings.assessment.aspects.items():
        value = (a.aspect_scores or {}).get(aspect)
        if value is not None:
            mark = "✅" if value > settings.assessment.feasible_above else "⚠️"
            lines.append(f"{mark} {html.escape(label.text(locale))}: {value:.2f}")
    rec = a.recommended_business_type
    lines.append(_("Recommended business: {label}").format(
        label=business_type_label(rec, settings, locale) if rec else "–"))
    if a.suggested_business_type:
        lines.append(_("Suggested by the answers: {label}").format(
            label=business_type_label(a.suggested_business_type, settings, locale)))
    lines.append(_("Reason: {reason}").format(reason=html.escape(a.recommendation_reason or "")))
    if rec:
        lines.append(_("Package: {total}").format(total=rupiah(settings.program.catalog.default_total(rec))))
    return "\n".join(lines)


async def _assessed(query: CallbackQuery, session: AsyncSession, candidate_id: int) -> Candidate | None:
    candidate = await session.get(Candidate, candidate_id)
    if candidate is None or candidate.stage != CandidateStage.ASSESSED:
        await query.answer(_(DECISION_REFUSALS["already_decided"]), show_alert=True)
        return None
    return candidate


@router.callback_query(DcCb.filter(F.a == "open"))
async def open_card(query: CallbackQuery, callback_data: DcCb, session: AsyncSession, settings: Settings,
                    role: Role, ctx: AppContext, account: TelegramAccount | None, messenger: Messenger) -> None:
    candidate = await _assessed(query, session, callback_data.id)
    if candidate is None or not isinstance(query.message, Message) or account is None:
        return
    from sqlalchemy import select

    from services.audit import audit

    a = await session.scalar(select(Assessment).where(Assessment.candidate_id == candidate.id))
    assert a is not None
    await query.answer()
    audit(session, ctx.clock, actor=staff_actor(account).name, actor_account_id=account.id,
          action="candidate.viewed", target=f"candidate:{candidate.id}", details={"full_nik": role is Role.ADMIN})
    photos = [p["file_id"] for p in a.photos]
    if len(photos) > 1:
        await query.message.answer_media_group([InputMediaPhoto(media=f) for f in photos])
    elif photos:
        await query.message.answer_photo(photos[0])
    if a.voice_file_id:
        await query.message.answer_voice(a.voice_file_id)
    rec = a.recommended_business_type or ""
    rows: list[list[tuple[str, CallbackData]]] = []
    if rec:
        rows.append([(_("✅ Approve: {label}").format(label=business_type_label(rec, settings, _locale())),
                      DcCb(a="okt", id=candidate.id, v=rec))])
    rows.append([(_("🔁 Approve with another business"), DcCb(a="types", id=candidate.id))])
    rows.append([(_("❌ Not approved (give a reason)"), DcCb(a="no", id=candidate.id))])
    await query.message.answer(_card(a, settings, role, ctx.cipher), reply_markup=_kb(rows))


@router.callback_query(DcCb.filter(F.a == "types"))
async def choose_type(query: CallbackQuery, callback_data: DcCb, session: AsyncSession, settings: Settings) -> None:
    candidate = await _assessed(query, session, callback_data.id)
    if candidate is None or not isinstance(query.message, Message):
        return
    await query.answer()
    rows: list[list[tuple[str, CallbackData]]] = [
        [(business_type_label(code, settings, _locale()), DcCb(a="okt", id=candidate.id, v=code))]
        for code in BUSINESS_TYPE_CODES]
    await query.message.edit_reply_markup(reply_markup=_kb(rows))


def package_text(package: AidPackage, settings: Settings, name: str) -> tuple[str, InlineKeyboardMarkup]:
    lines = [_("🎁 Package of {name}:").format(name=html.escape(name))]
    rows: list[list[tuple[str, CallbackData]]] = []
    for item in package.items:
        lines.append(f"{item.position}. {item_line(item)}")
        rows.append([("➖", PkCb(id=package.id, pos=item.position, d=-1)),
                     (f"{item.position}. {item.quantity or 1}×"[:20], PkCb(id=package.id, pos=item.position, d=0)),
                     ("➕", PkCb(id=package.id, pos=item.position, d=1))])
    lines.append(_("Total value: {total}").format(total=rupiah(package.value)))
    lines.append(_("Allowed: {low} to {high}. Adjust with ➖ ➕.").format(
        low=rupiah(settings.program.aid_min), high=rupiah(settings.program.aid_max)))
    return "\n".join(lines), _kb(rows)


@router.callback_query(DcCb.filter(F.a == "okt"))
async def approve_as(query: CallbackQuery, callback_data: DcCb, session: AsyncSession, settings: Settings,
                     account: TelegramAccount | None, ctx: AppContext, messenger: Messenger, i18n: CatalogI18n,
                     role: Role) -> None:
    candidate = await _assessed(query, session, callback_data.id)
    if candidate is None or not isinstance(query.message, Message) or account is None:
        return
    try:
        decision = await approve(session, ctx.clock, settings, candidate, business_type=callback_data.v,
                                 actor=staff_actor(account), is_admin=role is Role.ADMIN)
    except DecisionRefused as exc:
        await query.answer(_(DECISION_REFUSALS[exc.code]), show_alert=True)
        return
    except PackageOutOfRange as exc:
        await query.answer(_("The package totals {total}, outside {low} to {high}. Not approved yet.").format(
            total=rupiah(exc.total), low=rupiah(exc.aid_min), high=rupiah(exc.aid_max)), show_alert=True)
        return
    assert decision.package is not None
    await queue(session, await decision_notices(
        session, candidate, decision.assessment, approved=True, settings=settings, i18n=i18n,
        total=decision.package.value))
    await session.commit()
    await query.answer()
    await query.message.edit_text(_("✅ {name} approved: {business}. The TKSK has been told.").format(
        name=html.escape(candidate.name),
        business=business_type_label(callback_data.v, settings, _locale())))
    await session.refresh(decision.package, ["items"])
    text, markup = package_text(decision.package, settings, candidate.name)
    await query.message.answer(text, reply_markup=markup)


@router.callback_query(PkCb.filter())
async def adjust(query: CallbackQuery, callback_data: PkCb, session: AsyncSession, settings: Settings,
                 account: TelegramAccount | None, ctx: AppContext) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from services.audit import audit

    package = await session.scalar(select(AidPackage).where(AidPackage.id == callback_data.id)
                                   .options(selectinload(AidPackage.items)))
    item = next((i for i in package.items if i.position == callback_data.pos), None) if package else None
    if package is None or item is None or callback_data.d not in (-1, 1) or account is None:
        await query.answer()
        return
    candidate = await session.scalar(select(Candidate).where(Candidate.recipient_id == package.recipient_id))
    new = with_quantity(lines_of(package), item.name, (item.quantity or 1) + callback_data.d)
    try:
        total = await set_lines(session, package, new, program=settings.program)
    except PackageOutOfRange as exc:
        await query.answer(_("That would make the package {total}, outside {low} to {high}.").format(
            total=rupiah(exc.total), low=rupiah(exc.aid_min), high=rupiah(exc.aid_max)), show_alert=True)
        return
    except PackageLocked:
        await query.answer(_("This package has been handed over and can no longer change."), show_alert=True)
        return
    audit(session, ctx.clock, actor=staff_actor(account).name, actor_account_id=account.id,
          action="package.adjusted", target=f"package:{package.id}",
          details={"item": item.name, "delta": callback_data.d, "total": total})
    await session.commit()
    await session.refresh(package, ["items"])
    await query.answer(rupiah(total))
    if isinstance(query.message, Message):
        text, markup = package_text(package, settings, candidate.name if candidate else "")
        await query.message.edit_text(text, reply_markup=markup)


@router.callback_query(DcCb.filter(F.a == "no"))
async def ask_reason(query: CallbackQuery, callback_data: DcCb, session: AsyncSession, state: FSMContext) -> None:
    candidate = await _assessed(query, session, callback_data.id)
    if candidate is None or not isinstance(query.message, Message):
        return
    await query.answer()
    await state.set_state(Decide.reason)
    await state.set_data({"candidate_id": candidate.id})
    await query.message.answer(_("Why is {name} not approved? Type the reason (the TKSK will read it).").format(
        name=html.escape(candidate.name)))


@router.message(StateFilter(Decide.reason), F.text, ~F.text.startswith("/"))
async def got_reason(message: Message, session: AsyncSession, state: FSMContext, settings: Settings,
                     account: TelegramAccount | None, ctx: AppContext, messenger: Messenger,
                     i18n: CatalogI18n) -> None:
    data = await state.get_data()
    candidate = await session.get(Candidate, data.get("candidate_id", 0))
    if candidate is None or account is None:
        await state.clear()
        return
    try:
        decision = await reject(session, ctx.clock, candidate, reason=message.text or "", actor=staff_actor(account))
    except DecisionRefused as exc:
        await state.clear()
        await message.answer(_(DECISION_REFUSALS[exc.code]))
        return
    await queue(session, await decision_notices(
        session, candidate, decision.assessment, approved=False, settings=settings, i18n=i18n))
    await session.commit()
    await state.clear()
    await message.answer(_("Recorded: {name} not approved. The TKSK has been told.").format(
        name=html.escape(candidate.name)))


@router.message(Command("bast"))
async def bast_pdf(message: Message, session: AsyncSession, settings: Settings, role: Role,
                   account: TelegramAccount | None, ctx: AppContext) -> None:
    """``/bast NUMBER``: the BAST PDF of a hand-over (NIK in full for an admin, audited)."""
    from aiogram.types import BufferedInputFile

    from services.aid import bast

    parts = (message.text or "").split(maxsplit=1)
    if len(parts) < 2 or account is None:
        await message.answer(_("Send /bast followed by the BAST number, e.g. /bast 00001/BAST-UEP/6407/2026."))
        return
    try:
        data = await bast.load(session, parts[1].strip())
    except bast.BastNotFound:
        await message.answer(_("No hand-over has the BAST number {number}.").format(number=html.escape(parts[1])))
        return
    full = role is Role.ADMIN
    pdf = bast.render(data, settings, ctx.cipher, full_nik=full)
    bast.audit_print(session, ctx.clock, data, actor=staff_actor(account).name, account_id=account.id,
                     full_nik=full)
    await session.commit()
    await message.answer_document(BufferedInputFile(pdf, filename=bast.file_name(data.handover.number)),
                                  caption=_("BAST {number}").format(number=html.escape(data.handover.number)))
