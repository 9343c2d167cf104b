"""``/asesmen`` for a TKSK or PSM: assess a candidate of their own kecamatan at home.

The draft is the ``assessments`` row, written answer by answer (``services.aid.assessment``); the
conversation state only holds its id. Every step re-reads the row and re-checks the worker (own kecamatan,
still a candidate, their own draft), so a restart, a second phone or an old button never writes anything
wrong: after a restart ``/asesmen`` lists the draft first and it resumes where it stopped.

```mermaid
stateDiagram-v2
    [*] --> pick: /asesmen (candidates of own kecamatan, drafts first)
    pick --> location: a candidate (new draft or resumed)
    location --> photos: GPS location shared
    photos --> photos: photo (1 to 3)
    photos --> question: continue
    question --> question: button answer (next question)
    question --> voice: last answer
    voice --> recommend: voice note / skip
    recommend --> reason: business type (bot suggests one)
    reason --> confirm: short reason typed
    confirm --> [*]: submit (candidate assessed, waits for Dinas Sosial)
    confirm --> [*]: later (the draft stays)
```
"""

from __future__ import annotations

import html
import logging

from aiogram import F
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import BUSINESS_TYPE_CODES, Settings
from bot.context import AppContext
from bot.filters import ButtonText, RoleFilter
from bot.i18n import N_
from bot.routing import Router
from db.enums import Role
from db.models import Assessment, FieldWorker, TelegramAccount
from services.aid import assessment as rules
from services.aid.assessment import NO_TYPE, AssessmentRefused
from services.i18n_labels import business_type_label
from services.photos import PhotoTooLarge, best_photo_size, image_document

log = logging.getLogger(__name__)
router = Router(name="assessment")
router.message.filter(RoleFilter(Role.TKSK, Role.PSM))
router.callback_query.filter(RoleFilter(Role.TKSK, Role.PSM))

PAGE_SIZE = 8
CONTINUE = N_("➡️ Continue")
SEND_LOCATION = N_("📍 Send the location")

REFUSALS = {
    "not_found": N_("This candidate is not on your list."),
    "other_kecamatan": N_("This candidate lives outside your kecamatan. You can only assess candidates of your "
                          "own kecamatan."),
    "not_a_candidate": N_("This candidate has already been assessed."),
    "already_recipient": N_("This person is already an aid recipient and is not assessed again."),
    "someone_else": N_("{name} has already started assessing this candidate."),
    "not_yours": N_("This assessment belongs to another worker."),
    "submitted": N_("This assessment has already been sent."),
    "stale": N_("This button is no longer active. Please use the latest message."),
    "incomplete": N_("Some answers are still missing."),
}


class Asesmen(StatesGroup):
    location = State()
    photos = State()
    question = State()
    voice = State()
    recommend = State()
    reason = State()
    confirm = State()


class AsCb(CallbackData, prefix="as"):
    a: str          # page | pick | q | novoice | rec | send | later
    id: int = 0     # page number, candidate id or assessment id
    k: str = ""     # question key
    v: str = ""     # answer


def _locale() -> str:
    from aiogram.utils.i18n import get_i18n

    return get_i18n().current_locale


def _refusal(exc: AssessmentRefused) -> str:
    return _(REFUSALS.get(exc.code, REFUSALS["stale"])).format(**{k: html.escape(str(v)) for k, v in
                                                                     exc.details.items()})


def _worker(account: TelegramAccount | None) -> FieldWorker | None:
    if account is None or account.worker is None or not account.worker.active:
        return None
    return account.worker


def _kb(rows: list[list[tuple[str, AsCb]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=cb.pack()) for t, cb in row] for row in rows]
    )


@router.message(Command("asesmen"))
async def list_candidates(message: Message, session: AsyncSession, account: TelegramAccount | None,
                          state: FSMContext) -> None:
    worker = _worker(account)
    if worker is None:
        await message.answer(_("Your field-worker account is not active. Please contact Dinas Sosial."))
        return
    await state.clear()
    text, markup = await _list_page(session, worker, 0)
    await message.answer(text, reply_markup=markup)


async def _list_page(session: AsyncSession, worker: FieldWorker, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    rows = await rules.candidates_to_assess(session, worker)
    if not rows:
        return _("There are no candidates to assess in {kecamatan}.").format(
            kecamatan=html.escape(worker.kecamatan.name)), None
    pages = (len(rows) + PAGE_SIZE - 1) // PAGE_SIZE
    page = max(0, min(page, pages - 1))
    buttons: list[list[tuple[str, AsCb]]] = []
    for candidate, draft in rows[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]:
        mark = "▶️ " if draft is not None else ""
        buttons.append([(f"{mark}{candidate.name} · {candidate.desa}"[:60], AsCb(a="pick", id=candidate.id))])
    nav: list[tuple[str, AsCb]] = []
    if page > 0:
        nav.append(("◀️", AsCb(a="page", id=page - 1)))
    if page < pages - 1:
        nav.append(("▶️", AsCb(a="page", id=page + 1)))
    if nav:
        buttons.append(nav)
    text = _("📝 Candidates to assess in {kecamatan}: {n} (page {page} of {pages}).\n"
             "▶️ marks an assessment you have started. Choose a candidate:").format(
        kecamatan=html.escape(worker.kecamatan.name), n=len(rows), page=page + 1, pages=pages)
    return text, _kb(buttons)


@router.callback_query(AsCb.filter(F.a == "page"))
async def list_page(query: CallbackQuery, callback_data: AsCb, session: AsyncSession,
                    account: TelegramAccount | None) -> None:
    worker = _worker(account)
    if worker is None or not isinstance(query.message, Message):
        await query.answer(_(REFUSALS["stale"]), show_alert=True)
        return
    text, markup = await _list_page(session, worker, callback_data.id)
    await query.answer()
    await query.message.edit_text(text, reply_markup=markup)


@router.callback_query(AsCb.filter(F.a == "pick"))
async def pick(query: CallbackQuery, callback_data: AsCb, session: AsyncSession, account: TelegramAccount | None,
               state: FSMContext, ctx: AppContext, settings: Settings) -> None:
    worker = _worker(account)
    if worker is None or not isinstance(query.message, Message):
        await query.answer(_(REFUSALS["stale"]), show_alert=True)
        return
    try:
        assessment = await rules.start_or_resume(session, ctx.clock, worker, callback_data.id)
    except AssessmentRefused as exc:
        await query.answer(_refusal(exc), show_alert=True)
        return
    await query.answer()
    candidate = assessment.candidate
    wish = (business_type_label(candidate.preferred_business_type, settings, _locale())
            if candidate.preferred_business_type else _("not stated"))
    await query.message.edit_text(
        _("📝 Assessment of <b>{name}</b>\n{address}, {desa}\nWished business: {wish}").format(
            name=html.escape(candidate.name), address=html.escape(candidate.address),
            desa=html.escape(candidate.desa), wish=wish)
    )
    await state.set_data({"assessment_id": assessment.id})
    await _ask_next(query.message, assessment, state, settings)


async def _ask_next(message: Message, assessment: Assessment, state: FSMContext, settings: Settings) -> None:
    step = rules.next_step(assessment, settings)
    cfg = settings.assessment
    if step == "location":
        await state.set_state(Asesmen.location)
        await message.answer(
            _("📍 At the candidate's home or place of business, share the location."),
            reply_markup=ReplyKeyboardMarkup(
                keyboard=[[KeyboardButton(text=_(SEND_LOCATION), request_location=True)]], resize_keyboard=True),
        )
    elif step == "photos":
        await state.set_state(Asesmen.photos)
        await message.answer(
            _("📷 Send {min} to {max} photos of the home or place of business.").format(
                min=cfg.min_photos, max=cfg.max_photos),
            reply_markup=ReplyKeyboardRemove(),
        )
    elif step == "voice":
        await state.set_state(Asesmen.voice)
        await message.answer(_("🎤 You may add a voice note about the candidate, or press Skip."),
                             reply_markup=_kb([[(_("Skip"), AsCb(a="novoice", id=assessment.id))]]))
    elif step == "recommend":
        await state.set_state(Asesmen.recommend)
        await message.answer(**_recommend_prompt(assessment, settings))
    elif step == "reason":
        await state.set_state(Asesmen.reason)
        await message.answer(_("✍️ Why this business? Type a short reason."))
    elif step == "confirm":
        await state.set_state(Asesmen.confirm)
        await message.answer(
            _summary(assessment, settings) + "\n\n" + _("Send this assessment to Dinas Sosial?"),
            reply_markup=_kb([[(_("✅ Send"), AsCb(a="send", id=assessment.id))],
                              [(_("⏸ Later (keep the draft)"), AsCb(a="later", id=assessment.id))]]),
        )
    else:
        await state.set_state(Asesmen.question)
        await message.answer(**_question_prompt(assessment, step, settings))


def _question_prompt(assessment: Assessment, key: str, settings: Settings) -> dict:  # type: ignore[type-arg]
    cfg = settings.assessment
    q = cfg.question(key)
    assert q is not None
    n = [x.key for x in cfg.questions].index(key) + 1
    locale = _locale()
    if q.kind == "business_type":
        rows = [[(business_type_label(code, settings, locale), AsCb(a="q", id=assessment.id, k=key, v=code))]
                for code in BUSINESS_TYPE_CODES]
        rows.append([(_("None of these"), AsCb(a="q", id=assessment.id, k=key, v=NO_TYPE))])
    else:
        rows = [[(o.text(locale), AsCb(a="q", id=assessment.id, k=key, v=str(o.score)))] for o in q.options]
    text = _("Question {n} of {total}: <b>{text}</b>").format(n=n, total=len(cfg.questions),
                                                             text=html.escape(q.text(locale)))
    return {"text": text, "reply_markup": _kb(rows)}


def _scores_text(assessment: Assessment, settings: Settings) -> str:
    result = rules.scoring(assessment, settings)
    locale = _locale()
    lines = [_("Score: {score} · {verdict}").format(score=f"{result.score:.2f}", verdict=verdict_label(result.verdict))]
    for aspect, label in settings.assessment.aspects.items():
        value = result.aspect_scores.get(aspect)
        mark = "✅" if result.feasible.get(aspect) else "⚠️"
        lines.append(f"{mark} {html.escape(label.text(locale))}: {value:.2f}" if value is not None else
                     f"· {html.escape(label.text(locale))}: –")
    return "\n".join(lines)


VERDICT_LABELS = {"layak": N_("feasible (layak)"), "meragukan": N_("doubtful (meragukan)"),
                  "tidak_layak": N_("not feasible (tidak layak)")}


def verdict_label(verdict: str | None) -> str:
    return _(VERDICT_LABELS[verdict]) if verdict in VERDICT_LABELS else "–"


def _recommend_prompt(assessment: Assessment, settings: Settings) -> dict:  # type: ignore[type-arg]
    result = rules.scoring(assessment, settings)
    locale = _locale()
    suggested = result.suggested_business_type
    order = ([suggested] if suggested else []) + [c for c in BUSINESS_TYPE_CODES if c != suggested]
    rows = [[(("⭐ " if code == suggested else "") + business_type_label(code, settings, locale),
              AsCb(a="rec", id=assessment.id, v=code))] for code in order]
    text = _scores_text(assessment, settings) + "\n\n"
    if suggested:
        text += _("Suggested business: {label} (from the answers). You decide:").format(
            label=business_type_label(suggested, settings, locale))
    else:
        text += _("Which business do you recommend?")
    return {"text": text, "reply_markup": _kb(rows)}


def _summary(assessment: Assessment, settings: Settings) -> str:
    locale = _locale()
    rec = assessment.recommended_business_type
    return "\n".join([
        _("📝 <b>{name}</b>").format(name=html.escape(assessment.candidate.name)),
        _scores_text(assessment, settings),
        _("Photos: {n}").format(n=len(assessment.photos)),
        _("Voice note: yes") if assessment.voice_file_id else _("Voice note: none"),
        _("Recommended business: {label}").format(label=business_type_label(rec, settings, locale) if rec else "–"),
        _("Reason: {reason}").format(reason=html.escape(assessment.recommendation_reason or "")),
    ])


async def _draft(session: AsyncSession, account: TelegramAccount | None, assessment_id: int | None) -> Assessment:
    worker = _worker(account)
    if worker is None or assessment_id is None:
        raise AssessmentRefused("stale")
    return await rules.draft_for(session, worker, assessment_id)


async def _draft_of_state(message: Message, session: AsyncSession, account: TelegramAccount | None,
                          state: FSMContext) -> Assessment | None:
    try:
        return await _draft(session, account, (await state.get_data()).get("assessment_id"))
    except AssessmentRefused as exc:
        await state.clear()
        await message.answer(_refusal(exc), reply_markup=ReplyKeyboardRemove())
        return None


@router.message(Asesmen.location, F.location)
async def got_location(message: Message, session: AsyncSession, account: TelegramAccount | None,
                       state: FSMContext, ctx: AppContext, settings: Settings) -> None:
    assessment = await _draft_of_state(message, session, account, state)
    if assessment is None:
        return
    assert message.location is not None
    rules.set_location(assessment, ctx.clock, message.location.latitude, message.location.longitude)
    await message.answer(_("📍 Location saved."), reply_markup=ReplyKeyboardRemove())
    await _ask_next(message, assessment, state, settings)


@router.message(Asesmen.location)
async def location_expected(message: Message) -> None:
    await message.answer(
        _("Please share the location with the button below (GPS on)."),
        reply_markup=ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text=_(SEND_LOCATION), request_location=True)]], resize_keyboard=True),
    )


def _continue_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=_(CONTINUE))]], resize_keyboard=True)


@router.message(Asesmen.photos, F.photo | F.document)
async def got_photo(message: Message, session: AsyncSession, account: TelegramAccount | None, state: FSMContext,
                    ctx: AppContext, settings: Settings) -> None:
    assessment = await _draft_of_state(message, session, account, state)
    if assessment is None:
        return
    try:
        ref = (best_photo_size(message.photo, settings.storage.max_download_bytes) if message.photo
               else image_document(message.document, settings.storage.max_download_bytes))  # type: ignore[arg-type]
    except PhotoTooLarge:
        await message.answer(_("This photo is too large for me to receive. Please send a smaller photo."))
        return
    if ref is None:
        await message.answer(_("I can only use photos here."))
        return
    cfg = settings.assessment
    if not rules.add_photo(assessment, ctx.clock, ref, settings):
        if len(assessment.photos) >= cfg.max_photos:
            await message.answer(_("That is enough photos ({max}). Press Continue.").format(max=cfg.max_photos),
                                 reply_markup=_continue_keyboard())
        return
    await message.answer(
        _("📷 Photo {n} of at most {max} saved. Send another or press Continue.").format(
            n=len(assessment.photos), max=cfg.max_photos),
        reply_markup=_continue_keyboard(),
    )


@router.message(Asesmen.photos, ButtonText(CONTINUE))
async def photos_continue(message: Message, session: AsyncSession, account: TelegramAccount | None,
                          state: FSMContext, ctx: AppContext, settings: Settings) -> None:
    assessment = await _draft_of_state(message, session, account, state)
    if assessment is None:
        return
    if not rules.photos_done(assessment, ctx.clock, settings):
        await message.answer(_("Please send at least {min} photo first.").format(min=settings.assessment.min_photos))
        return
    await message.answer(_("Thank you. Now a few questions."), reply_markup=ReplyKeyboardRemove())
    await _ask_next(message, assessment, state, settings)


@router.message(Asesmen.photos)
async def photos_expected(message: Message, settings: Settings) -> None:
    await message.answer(_("📷 Send {min} to {max} photos of the home or place of business.").format(
        min=settings.assessment.min_photos, max=settings.assessment.max_photos))


async def _callback_draft(query: CallbackQuery, callback_data: AsCb, session: AsyncSession,
                          account: TelegramAccount | None) -> Assessment | None:
    if not isinstance(query.message, Message):
        await query.answer(_(REFUSALS["stale"]), show_alert=True)
        return None
    try:
        return await _draft(session, account, callback_data.id)
    except AssessmentRefused as exc:
        await query.answer(_refusal(exc), show_alert=True)
        return None


@router.callback_query(AsCb.filter(F.a == "q"))
async def answered(query: CallbackQuery, callback_data: AsCb, session: AsyncSession,
                   account: TelegramAccount | None, state: FSMContext, ctx: AppContext, settings: Settings) -> None:
    assessment = await _callback_draft(query, callback_data, session, account)
    if assessment is None:
        return
    try:
        rules.answer(assessment, ctx.clock, settings, callback_data.k, callback_data.v)
    except AssessmentRefused as exc:
        await query.answer(_refusal(exc), show_alert=True)
        return
    await query.answer()
    q = settings.assessment.question(callback_data.k)
    assert q is not None and isinstance(query.message, Message)
    locale = _locale()
    if q.kind == "business_type":
        chosen = (_("None of these") if callback_data.v == NO_TYPE
                  else business_type_label(callback_data.v, settings, locale))
    else:
        chosen = next(o.text(locale) for o in q.options if str(o.score) == callback_data.v)
    await query.message.edit_text(f"{html.escape(q.text(locale))} — <b>{html.escape(chosen)}</b>")
    await state.update_data(assessment_id=assessment.id)
    await _ask_next(query.message, assessment, state, settings)


@router.message(Asesmen.voice, F.voice)
async def got_voice(message: Message, session: AsyncSession, account: TelegramAccount | None, state: FSMContext,
                    ctx: AppContext, settings: Settings) -> None:
    assessment = await _draft_of_state(message, session, account, state)
    if assessment is None:
        return
    assert message.voice is not None
    rules.set_voice(assessment, ctx.clock, message.voice.file_id)
    await message.answer(_("🎤 Voice note saved."))
    await _ask_next(message, assessment, state, settings)


@router.callback_query(AsCb.filter(F.a == "novoice"))
async def no_voice(query: CallbackQuery, callback_data: AsCb, session: AsyncSession,
                   account: TelegramAccount | None, state: FSMContext, ctx: AppContext, settings: Settings) -> None:
    assessment = await _callback_draft(query, callback_data, session, account)
    if assessment is None:
        return
    if rules.next_step(assessment, settings) != "voice":
        await query.answer(_(REFUSALS["stale"]), show_alert=True)
        return
    rules.set_voice(assessment, ctx.clock, None)
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.edit_text(_("No voice note."))
    await _ask_next(query.message, assessment, state, settings)


@router.callback_query(AsCb.filter(F.a == "rec"))
async def recommended(query: CallbackQuery, callback_data: AsCb, session: AsyncSession,
                      account: TelegramAccount | None, state: FSMContext, ctx: AppContext,
                      settings: Settings) -> None:
    assessment = await _callback_draft(query, callback_data, session, account)
    if assessment is None:
        return
    try:
        rules.recommend(assessment, ctx.clock, settings, callback_data.v)
    except AssessmentRefused as exc:
        await query.answer(_refusal(exc), show_alert=True)
        return
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.edit_text(_("Recommended business: {label}").format(
        label=business_type_label(callback_data.v, settings, _locale())))
    await state.update_data(assessment_id=assessment.id)
    await _ask_next(query.message, assessment, state, settings)


@router.message(Asesmen.reason, F.text, ~F.text.startswith("/"))
async def got_reason(message: Message, session: AsyncSession, account: TelegramAccount | None, state: FSMContext,
                     ctx: AppContext, settings: Settings) -> None:
    assessment = await _draft_of_state(message, session, account, state)
    if assessment is None:
        return
    if len((message.text or "").strip()) < 3:
        await message.answer(_("✍️ Why this business? Type a short reason."))
        return
    rules.set_reason(assessment, ctx.clock, message.text or "")
    await _ask_next(message, assessment, state, settings)


@router.callback_query(AsCb.filter(F.a == "later"))
async def later(query: CallbackQuery, callback_data: AsCb, session: AsyncSession, account: TelegramAccount | None,
                state: FSMContext) -> None:
    assessment = await _callback_draft(query, callback_data, session, account)
    if assessment is None:
        return
    await state.clear()
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.edit_text(_("⏸ The draft is kept. Continue it any time with /asesmen."))


@router.callback_query(AsCb.filter(F.a == "send"))
async def send(query: CallbackQuery, callback_data: AsCb, session: AsyncSession, account: TelegramAccount | None,
               state: FSMContext, ctx: AppContext, settings: Settings) -> None:
    assessment = await _callback_draft(query, callback_data, session, account)
    if assessment is None:
        return
    assert account is not None and account.worker is not None
    try:
        result = await rules.submit(session, ctx.clock, assessment, settings,
                                    actor=rules.worker_actor(account.worker, account.id))
    except AssessmentRefused as exc:
        await query.answer(_refusal(exc), show_alert=True)
        return
    await session.commit()  # what the worker is told is stored first
    await state.clear()
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.edit_text(
        _("✅ Assessment of {name} sent: {verdict}, score {score}. Dinas Sosial will decide; you will be told.")
        .format(name=html.escape(assessment.candidate.name), verdict=verdict_label(result.verdict),
                score=f"{result.score:.2f}"))
