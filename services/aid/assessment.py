"""The TKSK's or PSM's assessment of a candidate, and its score.

Scoring (numbers from ``[assessment]`` in config.toml): each scored answer is 1-5 for one aspect; an aspect's
score is the weighted mean of its answers and the aspect is feasible when that is above ``feasible_above``;
the verdict is "layak" when the share of feasible aspects is above ``layak_above``, "meragukan" from
``meragukan_from`` up to it, "tidak layak" below. The overall score is the mean of the aspect scores.
The suggested business type sums ``suggest_weight`` of every business-type answer plus
``preference_weight`` for the candidate's own wish; the worker decides.

The draft is the row itself: every answer is written as it comes (a restart or an interruption loses
nothing, and ``next_step`` says where to resume). Every write re-checks that the worker may assess this
candidate (own kecamatan, still a candidate, the draft is theirs) and refuses with :class:`AssessmentRefused`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import BUSINESS_TYPE_CODES, AssessmentSettings, Settings
from db.enums import AssessmentStatus, CandidateStage, Verdict
from db.models import Assessment, Candidate, FieldWorker, Recipient
from services.aid.lifecycle import Actor, move
from services.clock import Clock
from services.photos import PhotoRef, add_pending

NO_TYPE = "none"


@dataclass(frozen=True)
class Scoring:
    aspect_scores: dict[str, float]
    feasible: dict[str, bool]
    feasible_share: float
    verdict: Verdict
    score: float
    suggested_business_type: str | None


def verdict_for(share: float, cfg: AssessmentSettings) -> Verdict:
    if share > cfg.layak_above:
        return Verdict.LAYAK
    if share >= cfg.meragukan_from:
        return Verdict.MERAGUKAN
    return Verdict.TIDAK_LAYAK


def score_answers(answers: dict[str, Any], cfg: AssessmentSettings, preferred: str | None = None) -> Scoring:
    sums: dict[str, float] = defaultdict(float)
    weights: dict[str, float] = defaultdict(float)
    tally: dict[str, float] = defaultdict(float)
    for q in cfg.questions:
        value = answers.get(q.key)
        if value is None:
            continue
        if q.kind == "business_type":
            if value in BUSINESS_TYPE_CODES:
                tally[value] += q.suggest_weight
        else:
            sums[q.aspect] += float(value) * q.weight
            weights[q.aspect] += q.weight
    aspects = {a: round(sums[a] / weights[a], 2) for a in cfg.aspects if weights[a] > 0}
    feasible = {a: s > cfg.feasible_above for a, s in aspects.items()}
    share = sum(feasible.values()) / len(cfg.aspects) if cfg.aspects else 0.0
    overall = round(sum(aspects.values()) / len(aspects), 2) if aspects else 0.0
    if preferred in BUSINESS_TYPE_CODES:
        tally[preferred] += cfg.preference_weight
    suggested = None
    if tally:
        best = max(tally.values())
        order = ([preferred] if preferred else []) + list(BUSINESS_TYPE_CODES)
        suggested = next(code for code in order if tally.get(code) == best)
    return Scoring(aspects, feasible, round(share, 4), verdict_for(share, cfg), overall, suggested)


def score_band(score: float | None, cfg: AssessmentSettings) -> str:
    """``<3.0``, ``3.0–4.0``, ``≥4.0`` for the configured edges (``unknown`` without a score)."""
    if score is None:
        return "unknown"
    edges = sorted(cfg.score_bands)
    if not edges or score < edges[0]:
        return f"<{edges[0]:.1f}" if edges else "all"
    for low, high in zip(edges, edges[1:], strict=False):
        if low <= score < high:
            return f"{low:.1f}–{high:.1f}"
    return f"≥{edges[-1]:.1f}"


class AssessmentRefused(Exception):
    """Why a worker may not do this; ``code`` picks the message shown to them."""

    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code, self.details = code, details


def worker_actor(worker: FieldWorker, account_id: int | None) -> Actor:
    return Actor(f"{worker.role.upper()} {worker.name}", account_id)


async def candidates_to_assess(
    session: AsyncSession, worker: FieldWorker
) -> list[tuple[Candidate, Assessment | None]]:
    """The candidates of the worker's own kecamatan still to assess, drafts first, then by name."""
    rows = await session.execute(
        select(Candidate, Assessment)
        .outerjoin(Assessment, Assessment.candidate_id == Candidate.id)
        .where(Candidate.kecamatan_id == worker.kecamatan_id, Candidate.stage == CandidateStage.CANDIDATE)
        .order_by(Assessment.id.is_(None), Candidate.name, Candidate.id)
    )
    return [(c, a) for c, a in rows]


async def _check_candidate(session: AsyncSession, worker: FieldWorker, candidate: Candidate | None) -> Candidate:
    if candidate is None:
        raise AssessmentRefused("not_found")
    if candidate.kecamatan_id != worker.kecamatan_id:
        raise AssessmentRefused("other_kecamatan")
    if candidate.stage != CandidateStage.CANDIDATE:
        raise AssessmentRefused("not_a_candidate", stage=candidate.stage)
    taken = await session.scalar(select(Recipient.id).where(Recipient.nik_hash == candidate.nik_hash))
    if taken is not None:
        raise AssessmentRefused("already_recipient")
    return candidate


async def start_or_resume(
    session: AsyncSession, clock: Clock, worker: FieldWorker, candidate_id: int
) -> Assessment:
    candidate = await _check_candidate(session, worker, await session.get(Candidate, candidate_id))
    assessment = await session.scalar(select(Assessment).where(Assessment.candidate_id == candidate.id))
    now = clock.now()
    if assessment is None:
        assessment = Assessment(candidate_id=candidate.id, worker_id=worker.id, status=AssessmentStatus.DRAFT,
                                answers={}, photos=[], started_at=now, updated_at=now)
        session.add(assessment)
        await session.flush()
        await session.refresh(assessment, ["candidate", "worker"])
    elif assessment.worker_id != worker.id:
        raise AssessmentRefused("someone_else", name=assessment.worker.name)
    return assessment


async def draft_for(session: AsyncSession, worker: FieldWorker, assessment_id: int) -> Assessment:
    """The worker's own draft, re-checked (kecamatan, stage, ownership): stale and forged buttons end here."""
    assessment = await session.get(Assessment, assessment_id)
    if assessment is None:
        raise AssessmentRefused("not_found")
    if assessment.worker_id != worker.id:
        raise AssessmentRefused("not_yours")
    await _check_candidate(session, worker, assessment.candidate)
    if assessment.status != AssessmentStatus.DRAFT:
        raise AssessmentRefused("submitted")
    return assessment


def next_step(assessment: Assessment, settings: Settings) -> str:
    """Where a draft resumes: ``location``, ``photos``, a question key, ``voice``, ``recommend``, ``reason``,
    ``confirm``."""
    if assessment.latitude is None:
        return "location"
    if len(assessment.photos) < settings.assessment.min_photos or not assessment.answers.get("_photos_done"):
        return "photos"
    for q in settings.assessment.questions:
        if q.key not in assessment.answers:
            return q.key
    if "_voice_done" not in assessment.answers:
        return "voice"
    if assessment.recommended_business_type is None:
        return "recommend"
    if assessment.recommendation_reason is None:
        return "reason"
    return "confirm"


def _touch(assessment: Assessment, clock: Clock, **answers: Any) -> None:
    # A new dict, so SQLAlchemy sees the JSON column change.
    assessment.answers = {**assessment.answers, **answers}
    assessment.updated_at = clock.now()


def set_location(assessment: Assessment, clock: Clock, latitude: float, longitude: float) -> None:
    assessment.latitude, assessment.longitude = latitude, longitude
    assessment.updated_at = clock.now()


def add_photo(assessment: Assessment, clock: Clock, ref: PhotoRef, settings: Settings) -> bool:
    """Keep one more photo; False when it is a repeat or the maximum is reached."""
    if any(p["file_unique_id"] == ref.file_unique_id for p in assessment.photos):
        return False
    if len(assessment.photos) >= settings.assessment.max_photos:
        return False
    assessment.photos = [*assessment.photos, ref.as_dict()]
    assessment.updated_at = clock.now()
    return True


def photos_done(assessment: Assessment, clock: Clock, settings: Settings) -> bool:
    if len(assessment.photos) < settings.assessment.min_photos:
        return False
    _touch(assessment, clock, _photos_done=True)
    return True


def answer(assessment: Assessment, clock: Clock, settings: Settings, key: str, value: str) -> None:
    """Record the answer to the question that is next (anything else is a stale or forged button)."""
    if next_step(assessment, settings) != key:
        raise AssessmentRefused("stale")
    q = settings.assessment.question(key)
    assert q is not None
    if q.kind == "business_type":
        if value not in (*BUSINESS_TYPE_CODES, NO_TYPE):
            raise AssessmentRefused("stale")
        _touch(assessment, clock, **{key: value})
        return
    if not value.isdigit() or int(value) not in {o.score for o in q.options}:
        raise AssessmentRefused("stale")
    _touch(assessment, clock, **{key: int(value)})


def set_voice(assessment: Assessment, clock: Clock, file_id: str | None) -> None:
    assessment.voice_file_id = file_id
    _touch(assessment, clock, _voice_done=True)


def scoring(assessment: Assessment, settings: Settings) -> Scoring:
    return score_answers(assessment.answers, settings.assessment, assessment.candidate.preferred_business_type)


def recommend(assessment: Assessment, clock: Clock, settings: Settings, business_type: str) -> None:
    if next_step(assessment, settings) != "recommend" or business_type not in settings.program.business_types:
        raise AssessmentRefused("stale")
    assessment.recommended_business_type = business_type
    assessment.updated_at = clock.now()


def set_reason(assessment: Assessment, clock: Clock, text: str) -> None:
    assessment.recommendation_reason = " ".join(text.split())[:1000]
    assessment.updated_at = clock.now()


async def submit(
    session: AsyncSession, clock: Clock, assessment: Assessment, settings: Settings, *, actor: Actor
) -> Scoring:
    """Score, store the photos for download, and move the candidate to ``assessed``."""
    if next_step(assessment, settings) != "confirm":
        raise AssessmentRefused("incomplete")
    result = scoring(assessment, settings)
    now = clock.now()
    photo_ids: list[int] = []
    for p in assessment.photos:
        photo = add_pending(session, PhotoRef.from_dict(p), now=now, recipient_id=None)
        await session.flush()
        photo_ids.append(photo.id)
    assessment.aspect_scores = result.aspect_scores
    assessment.feasible_share = result.feasible_share
    assessment.verdict = result.verdict
    assessment.score = result.score
    assessment.suggested_business_type = result.suggested_business_type
    assessment.photos = [{**p, "photo_id": pid} for p, pid in zip(assessment.photos, photo_ids, strict=True)]
    assessment.status = AssessmentStatus.SUBMITTED
    assessment.submitted_at = now
    assessment.updated_at = now
    move(session, clock, assessment.candidate, CandidateStage.ASSESSED, actor=actor, action="assessed",
         note=f"{result.verdict} {result.score:.2f}; {assessment.recommended_business_type}")
    await session.flush()
    return result


async def waiting_for_decision(session: AsyncSession) -> Sequence[Assessment]:
    """Submitted assessments whose candidate is still ``assessed`` (oldest first)."""
    rows = await session.scalars(
        select(Assessment).join(Candidate, Candidate.id == Assessment.candidate_id)
        .where(Assessment.status == AssessmentStatus.SUBMITTED, Candidate.stage == CandidateStage.ASSESSED)
        .order_by(Assessment.submitted_at, Assessment.id)
    )
    return rows.unique().all()
