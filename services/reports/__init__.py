"""Reports for Dissos: business survival after the aid (Kaplan–Meier, against the old group model's 46%),
onboarding, check-in compliance and cases.

The bot's /laporan and /ringkasan and ``uep report`` use::

    report = await build_report(session, settings=settings, clock=clock,
                                scope=ReportScope.of(kecamatan_ids or None), breakdown="kabupaten")
    text = render_summary(report, gettext, locale)        # plain text, translated through gettext
    png = render_chart(report, gettext=gettext, locale=locale)   # bytes

Definitions of every figure are in the docstrings of :mod:`.survival` and :mod:`.operations`.
"""

from services.aid import survival_breakdowns as _assessment_breakdowns  # noqa: F401  (registers two breakdowns, #19)
from services.reports.breakdowns import BREAKDOWNS, Breakdown, UnknownBreakdown, register
from services.reports.charts import render_chart, render_charts
from services.reports.logrank import LogRank, logrank
from services.reports.operations import Compliance, Operations, classify_due
from services.reports.report import Report, ReportScope, build_report, build_reports
from services.reports.summary import render_summary, translator
from services.reports.survival import (
    Estimate,
    GroupSurvival,
    KMCurve,
    Observation,
    Rules,
    Subject,
    Verdict,
    kaplan_meier,
    observe,
)
from services.reports.unknown import UnknownReason

__all__ = [
    "BREAKDOWNS",
    "Breakdown",
    "Compliance",
    "Estimate",
    "GroupSurvival",
    "LogRank",
    "Rules",
    "UnknownReason",
    "Verdict",
    "logrank",
    "register",
    "KMCurve",
    "Observation",
    "Operations",
    "Report",
    "ReportScope",
    "Subject",
    "UnknownBreakdown",
    "build_report",
    "build_reports",
    "classify_due",
    "kaplan_meier",
    "observe",
    "render_chart",
    "render_charts",
    "render_summary",
    "translator",
]
