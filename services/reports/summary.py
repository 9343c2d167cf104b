"""The report as a short text for Telegram or the terminal.

Every user-facing string goes through the ``gettext`` passed in (English msgids; Indonesian in
``locales/id/LC_MESSAGES/reports.po``), so the bot's i18n can translate it. Numbers are formatted for
``locale`` with Babel (``1.234`` and ``45,6%`` in Indonesian, ``1,234`` and ``45.6%`` in English); times are
shown in the program's zone (WITA)."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

from services.reports.breakdowns import BREAKDOWNS, N_
from services.reports.logrank import LogRank
from services.reports.report import Report
from services.reports.survival import Estimate, GroupSurvival, Verdict
from services.reports.unknown import REASONS

Gettext = Callable[[str], str]

MAX_GROUP_LINES = 12


class _Titles(dict[str, str]):
    """breakdown name → title msgid, following the registry (a breakdown registered later shows up too)."""

    def __missing__(self, name: str) -> str:
        return BREAKDOWNS[name].title

    def __contains__(self, name: object) -> bool:
        return name in BREAKDOWNS


BREAKDOWN_TITLES: dict[str, str] = _Titles()
ALL_RECIPIENTS = N_("All recipients")
VERDICTS = {
    Verdict.BETTER: N_("better than the group model ({baseline})"),
    Verdict.UNCERTAIN: N_("not certain yet against the group model ({baseline})"),
    Verdict.LOWER: N_("lower than the group model ({baseline})"),
}
NOT_ENOUGH = N_("not enough data (n={n})")
UNKNOWN_REASON_LABELS = {
    "never_reported": N_("never reported since the aid"),
    "missed": N_("check-ins missed"),
    "not_yet_due": N_("first check-in not yet due"),
}
STATUS_LABELS = {
    "running": N_("running"),
    "changed": N_("changed business"),
    "paused": N_("paused"),
    "stopped": N_("stopped"),
    "unknown": N_("unknown"),
}
ONBOARDING_LABELS = {
    "not_joined": N_("not joined"),
    "consent": N_("consent pending"),
    "declined": N_("declined"),
    "phone": N_("phone check"),
    "profile": N_("profile check"),
    "aid_waiting": N_("waiting for aid"),
    "aid_receipt": N_("aid receipt pending"),
    "active": N_("active"),
}
CASE_KIND_LABELS = {
    "capital": N_("capital"),
    "materials": N_("materials"),
    "equipment": N_("equipment"),
    "no_buyers": N_("no buyers"),
    "health_family": N_("health or family"),
    "permit_place": N_("permit or place"),
    "disaster": N_("disaster"),
    "other": N_("other"),
    "aid_incomplete": N_("aid incomplete"),
    "business_stopped": N_("business stopped"),
    "profile_correction": N_("profile correction"),
    "phone_mismatch": N_("phone mismatch"),
    "account_conflict": N_("account conflict"),
    "nik_guessing": N_("wrong NIK tries"),
}


def _identity(message: str) -> str:
    return message


def number(value: int | float, locale: str) -> str:
    return format_decimal(value, locale=locale)


def percent(share: float | None, locale: str) -> str:
    return "–" if share is None else format_percent(share, "#,##0.0%", locale=locale)


def whole_percent(share: float, locale: str) -> str:
    """46% (the baseline, as people quote it)."""
    return format_percent(share, "#,##0%", locale=locale)


def _interval(lower: float, upper: float, locale: str) -> str:
    """80,1–94,0%: the range in the locale's decimal format, one percent sign."""
    low = format_decimal(round(lower * 100, 1), "#,##0.0", locale=locale)
    return f"{low}–{percent(upper, locale)}"


def estimate_text(est: Estimate, gettext: Gettext, locale: str) -> str:
    """"74,1% (65,2–81,0%)" or "belum cukup data (n=12)": never a bare percentage without its interval."""
    if est.survival is None or est.lower is None or est.upper is None:
        return gettext(NOT_ENOUGH).format(n=number(est.at_risk, locale))
    return f"{percent(est.survival, locale)} ({_interval(est.lower, est.upper, locale)})"


def verdict_text(est: Estimate, baseline: float, gettext: Gettext, locale: str) -> str:
    """The figure against the baseline in words ("" when there is no figure)."""
    if est.verdict is Verdict.NOT_ENOUGH:
        return ""
    return gettext(VERDICTS[est.verdict]).format(baseline=whole_percent(baseline, locale))


def horizon_line(est: Estimate, baseline: float, gettext: Gettext, locale: str) -> str:
    """• 6 months: 74.1% (65.2–81.0%), 5 observed — better than the group model (46%)"""
    if not est.enough:
        return gettext("• {months} months: {figure}").format(
            months=est.months, figure=estimate_text(est, gettext, locale)
        )
    return gettext("• {months} months: {figure}, {at_risk} observed — {verdict}").format(
        months=est.months,
        figure=estimate_text(est, gettext, locale),
        at_risk=number(est.at_risk, locale),
        verdict=verdict_text(est, baseline, gettext, locale),
    )


def group_line(report: Report, group: GroupSurvival, gettext: Gettext, locale: str) -> str:
    """One group of a breakdown at the report's sorting horizon, with its n, interval and verdict."""
    est = group.estimates[report.sort_months]
    label = group_label(report, group, gettext, locale)
    if not est.enough:
        return gettext("• {label} (n={n}): {figure}").format(
            label=label, n=number(group.n, locale), figure=estimate_text(est, gettext, locale)
        )
    return gettext("• {label} (n={n}): {figure}, {at_risk} observed — {verdict}").format(
        label=label,
        n=number(group.n, locale),
        figure=estimate_text(est, gettext, locale),
        at_risk=number(est.at_risk, locale),
        verdict=verdict_text(est, report.baseline, gettext, locale),
    )


def breakdown_heading(report: Report, gettext: Gettext) -> str:
    assert report.breakdown is not None
    return gettext("{title}, still running after {months} months (highest first):").format(
        title=gettext(BREAKDOWN_TITLES[report.breakdown]), months=report.sort_months
    )


def logrank_text(report: Report, gettext: Gettext, locale: str) -> str | None:
    """"Perbedaan antar jenis usaha: belum bermakna (log-rank p = 0,41)", or why it cannot be tested."""
    spec = report.breakdown_spec()
    if spec is None:
        return None
    test: LogRank | None = report.logrank
    what = gettext(spec.difference)
    if test is None:
        return gettext(
            "{difference}: cannot be tested yet (needs two groups with at least {min} recipients followed)"
        ).format(difference=what, min=number(report.rules.min_at_risk, locale))
    p = (
        "< " + format_decimal(0.001, "0.000", locale=locale)
        if test.p_value < 0.001
        else "= " + format_decimal(test.p_value, "0.000", locale=locale)
    )
    msgid = (
        N_("{difference}: significant (log-rank p {p}, {groups} groups)")
        if test.significant(report.rules.significance)
        else N_("{difference}: not significant yet (log-rank p {p}, {groups} groups)")
    )
    return gettext(msgid).format(difference=what, p=p, groups=number(test.groups, locale))


def unknown_line(group: GroupSurvival, gettext: Gettext, locale: str) -> str:
    """Status unknown 1,273 = never reported since the aid 1,200 + check-ins missed 50 + … (always adds up)."""
    parts = " + ".join(
        f"{gettext(UNKNOWN_REASON_LABELS[r])} {number(group.unknown_reasons.get(r, 0), locale)}" for r in REASONS
    )
    return gettext("Status unknown: {count} ({share}) = {parts}").format(
        count=number(group.unknown, locale), share=percent(group.unknown_share, locale), parts=parts
    )


def data_range(report: Report, gettext: Gettext, locale: str) -> str:
    """Aid from 1 Jan 2025 · latest report 1 Mar 2026, 10:00 WITA (the date range and freshness)."""
    tz = ZoneInfo(report.timezone)
    if report.first_aid is None:
        return gettext("No recipient has received aid yet.")
    first = format_date(report.first_aid, "d MMM yyyy", locale=locale)
    if report.last_report_at is None:
        return gettext("Data: aid from {first}; no report received yet").format(first=first)
    latest = format_datetime(report.last_report_at, "d MMM yyyy, HH:mm", tzinfo=tz, locale=locale)
    return gettext("Data: aid from {first}; latest report {latest} {zone}").format(
        first=first, latest=latest, zone=report.zone_abbreviation
    )


def when(report: Report, locale: str) -> str:
    text = format_datetime(
        report.generated_at, "d MMM yyyy, HH:mm", tzinfo=ZoneInfo(report.timezone), locale=locale
    )
    return f"{text} {report.zone_abbreviation}"


def group_label(
    report: Report, group: GroupSurvival, gettext: Gettext, locale: str, breakdown: str | None = None
) -> str:
    """A group's name in the reader's language (business type labels come from the settings)."""
    breakdown = breakdown if breakdown is not None else (report.breakdown or "all")
    if group.key == "all" or breakdown == "all":
        return gettext(ALL_RECIPIENTS)
    spec = BREAKDOWNS.get(breakdown)
    if spec is None:
        return group.label
    fixed = spec.fixed_labels.get(group.key)
    if fixed is not None:
        return gettext(fixed)
    if spec.business_type_labels and group.key in report.business_type_labels:
        label_id, label_en = report.business_type_labels[group.key]
        return label_id if locale.startswith("id") else label_en
    return group.label


def render_summary(report: Report, gettext: Gettext = _identity, locale: str = "en") -> str:
    """The report as plain text (no markup), a few hundred characters plus one line per group."""
    _ = gettext
    n = lambda v: number(v, locale)  # noqa: E731
    p = lambda v: percent(v, locale)  # noqa: E731
    lines = [_("UEP report, {when}").format(when=when(report, locale))]
    if report.scope.kecamatan_ids is not None:
        lines.append(_("Area: {count} kecamatan").format(count=n(len(report.scope.kecamatan_ids))))
    lines.append(
        _("Recipients: {total}; {waiting} still waiting for their aid").format(
            total=n(report.recipients), waiting=n(report.awaiting_aid)
        )
    )
    lines.append(data_range(report, gettext, locale))
    lines.extend(survival_lines(report, gettext, locale))
    if report.breakdown is not None:
        lines.append("")
        lines.append(breakdown_heading(report, gettext))
        for group in report.groups[:MAX_GROUP_LINES]:
            lines.append(group_line(report, group, gettext, locale))
        rest = len(report.groups) - MAX_GROUP_LINES
        if rest > 0:
            lines.append(_("… and {count} more (see the chart or the export)").format(count=n(rest)))
        test = logrank_text(report, gettext, locale)
        if test:
            lines.append(test)

    ops = report.operations
    lines.append("")
    onboarding = " · ".join(
        f"{_(label)} {n(ops.onboarding.get(code, 0))}"
        for code, label in ONBOARDING_LABELS.items()
        if ops.onboarding.get(code, 0)
    )
    lines.append(_("Onboarding: {list}").format(list=onboarding or "–"))
    c = ops.compliance_total
    if c.closed or c.open:
        lines.append(
            _(
                "Check-ins, last {months} months: on time {on_time} · late {late} · missed {missed} "
                "(open: {open})"
            ).format(
                months=ops.compliance_months,
                on_time=p(c.share("on_time")),
                late=p(c.share("late")),
                missed=p(c.share("missed")),
                open=n(c.open),
            )
        )
    else:
        lines.append(
            _(
                "No check-in period in the bot has fallen due in the last {months} months "
                "(recipients get them once they confirm their aid in the bot)."
            ).format(months=ops.compliance_months)
        )
    cs = ops.cases
    lines.append(_("Cases: {open} open, {overdue} overdue").format(open=n(cs.open), overdue=n(cs.overdue)))
    if cs.by_kind:
        kinds = " · ".join(
            f"{_(CASE_KIND_LABELS.get(kind, kind))} {n(cc.open)}" for kind, cc in list(cs.by_kind.items())[:6]
        )
        lines.append(_("Open by kind: {list}").format(list=kinds))
    if cs.by_kabupaten and report.scope.kecamatan_ids is None:
        kabs = " · ".join(
            f"{report.kabupaten_names.get(kab, '?')} {n(cc.open)}/{n(cc.overdue)}"
            for kab, cc in list(cs.by_kabupaten.items())[:6]
        )
        lines.append(_("Open/overdue by kabupaten/kota: {list}").format(list=kabs))
    lines.append(
        _("Median time to take a case: {take}; to resolve: {resolve}").format(
            take=_duration(cs.median_take_hours, gettext, locale),
            resolve=_duration(cs.median_resolve_hours, gettext, locale),
        )
    )
    lines.append(
        _("Flagged as reused photos: {photos} photos, {checkins} check-ins").format(
            photos=n(ops.reuse_flagged_photos), checkins=n(ops.reuse_flagged_checkins)
        )
    )
    return "\n".join(lines)


def survival_lines(report: Report, gettext: Gettext, locale: str) -> list[str]:
    """The survival block every surface shows: the horizons with interval, observed and verdict, the
    minimum, and the unknown statuses (which add up)."""
    _ = gettext
    o = report.overall
    n = lambda v: number(v, locale)  # noqa: E731
    lines = [
        "",
        _(
            "Businesses still running (Kaplan–Meier, {n} recipients with aid; {confidence} interval; "
            "observed = followed at least that long):"
        ).format(n=n(o.n), confidence=whole_percent(report.rules.confidence, locale)),
    ]
    lines.extend(horizon_line(e, report.baseline, gettext, locale) for e in o.estimates.values())
    lines.append(
        _("A figure needs at least {min} recipients observed; the old group model kept {share} running.").format(
            min=n(report.rules.min_at_risk), share=whole_percent(report.baseline, locale)
        )
    )
    lines.append(unknown_line(o, gettext, locale))
    status = " · ".join(
        f"{_(label)} {n(o.status_counts.get(code, 0))}" for code, label in STATUS_LABELS.items()
    )
    lines.append(_("Status now: {list}").format(list=status))
    lines.append(_("An unknown status is never counted as running: the curve follows a person to their last report."))
    return lines


def _duration(hours: float | None, gettext: Gettext, locale: str) -> str:
    if hours is None:
        return "–"
    if hours < 48:
        return gettext("{value} hours").format(value=format_decimal(round(hours, 1), locale=locale))
    return gettext("{value} days").format(value=format_decimal(round(hours / 24, 1), locale=locale))


def translator(lang: str) -> Gettext:
    """A gettext for one language from the team's merged catalogs (for the CLI; the bot passes its own)."""
    from bot.i18n import CatalogI18n

    return CatalogI18n(default_locale=lang, locales=(lang,)).translator(lang)


__all__ = [
    "BREAKDOWN_TITLES",
    "Gettext",
    "breakdown_heading",
    "data_range",
    "estimate_text",
    "group_label",
    "group_line",
    "horizon_line",
    "logrank_text",
    "number",
    "percent",
    "render_summary",
    "survival_lines",
    "translator",
    "unknown_line",
    "verdict_text",
    "when",
    "whole_percent",
]
