"""The report as a short text for Telegram or the terminal.

Every user-facing string goes through the ``gettext`` passed in (English msgids; Indonesian in
``locales/id/LC_MESSAGES/reports.po``), so the bot's i18n can translate it. Numbers are formatted for
``locale`` with Babel (``1.234`` and ``45,6%`` in Indonesian, ``1,234`` and ``45.6%`` in English); times are
shown in the program's zone (WITA)."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent

from services.reports.report import Report
from services.reports.survival import HORIZONS_MONTHS, GroupSurvival

Gettext = Callable[[str], str]

MAX_GROUP_LINES = 12


def N_(message: str) -> str:
    """Marks a msgid for extraction; translated later through the gettext passed in."""
    return message


BREAKDOWN_TITLES = {
    "business_type": N_("By business type"),
    "kabupaten": N_("By kabupaten/kota"),
    "kecamatan": N_("By kecamatan"),
    "sex": N_("By sex"),
    "pkh": N_("By PKH membership"),
    "tksk": N_("By TKSK"),
}
FIXED_GROUP_LABELS = {
    ("sex", "P"): N_("Women"),
    ("sex", "L"): N_("Men"),
    ("pkh", "pkh"): N_("PKH families"),
    ("pkh", "non_pkh"): N_("Not in PKH"),
    ("tksk", "none"): N_("No TKSK"),
    ("all", "all"): N_("All recipients"),
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
}


def _identity(message: str) -> str:
    return message


def number(value: int | float, locale: str) -> str:
    return format_decimal(value, locale=locale)


def percent(share: float | None, locale: str) -> str:
    return "–" if share is None else format_percent(share, "#,##0.0%", locale=locale)


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
    if group.key == "all":
        breakdown = "all"
    fixed = FIXED_GROUP_LABELS.get((breakdown, group.key))
    if fixed is not None:
        return gettext(fixed)
    if breakdown == "business_type" and group.key in report.business_type_labels:
        label_id, label_en = report.business_type_labels[group.key]
        return label_id if locale.startswith("id") else label_en
    return group.label


def _survival_cells(group: GroupSurvival, locale: str) -> str:
    return " · ".join(percent(group.running_at.get(m), locale) for m in HORIZONS_MONTHS)


def render_summary(report: Report, gettext: Gettext = _identity, locale: str = "en") -> str:
    """The report as plain text (no markup), a few hundred characters plus one line per group."""
    _ = gettext
    n = lambda v: number(v, locale)  # noqa: E731
    p = lambda v: percent(v, locale)  # noqa: E731
    o = report.overall
    lines = [_("UEP report, {when}").format(when=when(report, locale))]
    if report.scope.kecamatan_ids is not None:
        lines.append(_("Area: {count} kecamatan").format(count=n(len(report.scope.kecamatan_ids))))
    lines.append(
        _("Recipients: {total}; {waiting} still waiting for their aid").format(
            total=n(report.recipients), waiting=n(report.awaiting_aid)
        )
    )
    lines.append("")
    lines.append(_("Businesses still running (Kaplan–Meier, {n} recipients with aid):").format(n=n(o.n)))
    lines.append(
        " · ".join(
            _("{months} months: {share}").format(months=m, share=p(o.running_at.get(m)))
            for m in HORIZONS_MONTHS
        )
    )
    lines.append(_("Old group model: {share} still running").format(share=p(report.baseline)))
    lines.append(
        _("Status unknown now (missed check-ins): {count} ({share}), never counted as running").format(
            count=n(o.unknown), share=p(o.unknown_share)
        )
    )
    status = " · ".join(
        f"{_(label)} {n(o.status_counts.get(code, 0))}" for code, label in STATUS_LABELS.items()
    )
    lines.append(_("Status now: {list}").format(list=status))
    if report.breakdown is not None:
        lines.append("")
        lines.append(
            _("{title} (still running after 3 · 6 · 12 months):").format(
                title=_(BREAKDOWN_TITLES[report.breakdown])
            )
        )
        for group in report.groups[:MAX_GROUP_LINES]:
            lines.append(
                _("• {label} (n={n}): {cells}; unknown {unknown}").format(
                    label=group_label(report, group, gettext, locale),
                    n=n(group.n),
                    cells=_survival_cells(group, locale),
                    unknown=p(group.unknown_share),
                )
            )
        rest = len(report.groups) - MAX_GROUP_LINES
        if rest > 0:
            lines.append(_("… and {count} more (see the chart or the export)").format(count=n(rest)))

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
        lines.append(_("No check-ins due yet."))
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


__all__ = ["Gettext", "group_label", "number", "percent", "render_summary", "translator", "when"]
