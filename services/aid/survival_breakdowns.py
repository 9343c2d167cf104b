"""Survival by the assessment before the aid: does the verdict (layak / meragukan / tidak layak) or the score
band predict which businesses last? Two pluggable breakdowns of :mod:`services.reports.breakdowns`, so the
figures follow the same rules as every other survival figure (minimum at risk, intervals, verdict against 46%,
log-rank). Recipients who were never assessed (the roster before the assessments) form "not assessed".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import select

from bot.config import AssessmentSettings
from db.enums import AssessmentStatus
from db.models import Assessment, Candidate, Recipient
from services.reports.breakdowns import N_, Breakdown, register
from services.reports.survival import Subject


def _latest(column):  # type: ignore[no-untyped-def]
    return (
        select(column).join(Candidate, Candidate.id == Assessment.candidate_id)
        .where(Candidate.recipient_id == Recipient.id, Assessment.status == AssessmentStatus.SUBMITTED)
        .order_by(Assessment.id.desc()).limit(1).scalar_subquery()
    )


@cache
def _assessment_settings() -> AssessmentSettings:
    """The score bands of this process's configuration (read once), or the defaults without one."""
    from bot.config import ConfigError, load_settings

    try:
        return load_settings().assessment
    except ConfigError:
        return AssessmentSettings()


@dataclass(frozen=True, slots=True)
class _ScoreBands(Breakdown):
    def group_key(self, subject: Subject) -> str:
        from services.aid.assessment import score_band

        value = subject.extra.get(self.name)
        return "none" if value is None else score_band(float(value), _assessment_settings())


register(Breakdown(
    "assessment_verdict", N_("By assessment verdict"), N_("Difference between assessment verdicts"),
    column=_latest(Assessment.verdict),
    fixed_labels={"layak": N_("feasible (layak)"), "meragukan": N_("doubtful (meragukan)"),
                  "tidak_layak": N_("not feasible (tidak layak)"), "none": N_("Not assessed")},
))
register(_ScoreBands(
    "assessment_score", N_("By assessment score band"), N_("Difference between assessment score bands"),
    column=_latest(Assessment.score),
    fixed_labels={"none": N_("Not assessed")},
))
