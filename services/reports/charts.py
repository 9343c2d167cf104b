"""Survival charts as PNGs that read well on a phone (1024 × 1280 px, big type), drawn the way published
survival plots are:

* the Kaplan–Meier step curve with its confidence band (Greenwood, log-log) and a tick at every censoring;
* solid while at least ``reports.min_at_risk`` recipients are still observed, faded after that (the tail the
  figures do not report); a group that never reaches the minimum is drawn faded and marked in the legend;
* a number-at-risk table under the time axis, one row per curve;
* the dashed 46% baseline of the old group model;
* the data's date range and freshness, and when the chart was made, in the footer.

At most five curves (the overall one and four groups), so the colours stay apart and the table fits.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display; Figure objects are used directly (no pyplot global state)

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MultipleLocator  # noqa: E402

from services.reports.report import Report  # noqa: E402
from services.reports.summary import (  # noqa: E402
    BREAKDOWN_TITLES,
    N_,
    Gettext,
    _identity,
    data_range,
    group_label,
    number,
    when,
    whole_percent,
)
from services.reports.survival import MONTH_DAYS, GroupSurvival, KMCurve, log_log_interval  # noqa: E402

MAX_GROUPS_PER_CHART = 4  # + the overall curve = 5 curves and 5 rows of numbers at risk
_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a")
_OVERALL = "#222222"
_BASELINE = "#b00020"
_TITLE = N_("Businesses still running after aid")
_FADED = 0.3


def _groups_for(report: Report, groups: Sequence[str] | None) -> list[GroupSurvival]:
    if groups is None:
        return [g for g in report.groups if g.n > 0][:MAX_GROUPS_PER_CHART]
    by_key = {g.key: g for g in report.groups}
    return [by_key[k] for k in groups if k in by_key][:MAX_GROUPS_PER_CHART]


def render_chart(
    report: Report,
    *,
    groups: Sequence[str] | None = None,
    gettext: Gettext = _identity,
    locale: str = "en",
) -> bytes:
    """PNG bytes: the overall curve plus ``groups`` of the report's breakdown (default: the first four)."""
    fig = build_figure(report, groups=groups, gettext=gettext, locale=locale)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _series(curve: KMCurve, confidence: float) -> tuple[list[float], list[float], list[float], list[float]]:
    """x (months), S, lower, upper as post-steps from (0, 1) to the last observation."""
    xs, ss, lo, hi = [0.0], [1.0], [1.0], [1.0]
    for step in curve.steps:
        if step.events:
            low, high = log_log_interval(step.survival, step.greenwood, confidence)
            x = step.days / MONTH_DAYS
            if x == xs[-1]:
                ss[-1], lo[-1], hi[-1] = step.survival, low, high
            else:
                xs.append(x)
                ss.append(step.survival)
                lo.append(low)
                hi.append(high)
    end = curve.max_days / MONTH_DAYS
    if end > xs[-1]:
        xs.append(end)
        ss.append(ss[-1])
        lo.append(lo[-1])
        hi.append(hi[-1])
    return xs, ss, lo, hi


def _reliable_until(curve: KMCurve, min_at_risk: int) -> float:
    """The last time (months) at which at least ``min_at_risk`` recipients were still observed."""
    last = -1.0
    for step in curve.steps:
        if step.at_risk >= min_at_risk:
            last = step.days / MONTH_DAYS
        else:
            break
    return last


def _draw(  # type: ignore[no-untyped-def]
    ax, curve: KMCurve, colour: str, width: float, label: str, confidence: float, cut: float, band: float = 0.15
) -> None:
    xs, ss, lo, hi = _series(curve, confidence)
    ys = [s * 100 for s in ss]
    los, his = [v * 100 for v in lo], [v * 100 for v in hi]
    # Split at the cut: solid (and banded) while enough people are observed, faded afterwards.
    solid = [i for i, x in enumerate(xs) if x <= cut]
    if solid and cut > 0:
        k = solid[-1] + 1
        xs_solid = xs[:k] + [cut]
        ys_solid, lo_solid, hi_solid = ys[:k] + [ys[k - 1]], los[:k] + [los[k - 1]], his[:k] + [his[k - 1]]
        ax.fill_between(xs_solid, lo_solid, hi_solid, step="post", color=colour, alpha=band, linewidth=0)
        ax.step(xs_solid, ys_solid, where="post", color=colour, linewidth=width, label=label)
        tail_x, tail_y = [cut] + xs[k:], [ys[k - 1]] + ys[k:]
        ax.step(tail_x, tail_y, where="post", color=colour, linewidth=width * 0.7, alpha=_FADED)
    else:
        ax.step(xs, ys, where="post", color=colour, linewidth=width * 0.7, alpha=_FADED, label=label)
    # Censoring ticks on the curve (days where someone stopped being followed).
    cx = [s.days / MONTH_DAYS for s in curve.steps if s.censored and s.days > 0]
    if cx:
        cy = [curve.survival_at(s.days) * 100 for s in curve.steps if s.censored and s.days > 0]  # type: ignore[operator]
        alphas = [1.0 if x <= cut else _FADED for x in cx]
        ax.scatter(cx, cy, marker="|", s=90, color=colour, linewidths=1.4, alpha=alphas, zorder=3)


def build_figure(
    report: Report,
    *,
    groups: Sequence[str] | None = None,
    gettext: Gettext = _identity,
    locale: str = "en",
) -> Figure:
    """The matplotlib figure behind :func:`render_chart`."""
    _ = gettext
    rules = report.rules
    chosen = _groups_for(report, groups) if report.breakdown else []
    curves = [(report.overall, _OVERALL, 3.2)] + [(g, c, 2.6) for g, c in zip(chosen, _COLOURS, strict=False)]
    curves = [c for c in curves if c[0].n > 0] or [(report.overall, _OVERALL, 3.2)]

    # 1024 × 1280 px, portrait for a phone: the largest Telegram keeps without rescaling (1280 px sides).
    fig = Figure(figsize=(6.4, 8.0), dpi=160)
    fs = 15
    rows = len(curves)
    row_h = 0.034
    table_top = 0.115 + row_h * rows  # the number-at-risk table sits between the axis and the footer
    ax_bottom = table_top + 0.12
    head = 0.125 if report.breakdown else 0.095
    left, width = 0.22, 0.74
    ax = fig.add_axes((left, ax_bottom, width, 1 - head - 0.02 - ax_bottom))

    x_max = 12.0
    for group, _c, _w in curves:
        x_max = max(x_max, group.curve.max_days / MONTH_DAYS)
    x_max = float(int(x_max / 3 + 0.999) * 3)

    for group, colour, width_ in curves:
        name = group_label(report, group, gettext, locale)
        cut = _reliable_until(group.curve, rules.min_at_risk)
        label = f"{name} (n={number(group.n, locale)})"
        if cut <= 0:  # nobody beyond the aid day with enough people observed
            label += " – " + _("not enough data")
        _draw(ax, group.curve, colour, width_, label, rules.confidence, cut, 0.2 if group is report.overall else 0.12)

    overall_observed = report.overall.curve.at_risk_at(1)
    if _reliable_until(report.overall.curve, rules.min_at_risk) <= 0:
        # Say it in the picture too, so a faded line at 100% is never read as "everybody is still running".
        ax.text(
            x_max / 2,
            72,
            _("Not enough data yet:\n{n} observed after the aid day,\nat least {min} needed").format(
                n=number(overall_observed, locale), min=number(rules.min_at_risk, locale)
            ),
            fontsize=fs + 1,
            ha="center",
            va="center",
            color="#333333",
            bbox={"facecolor": "#fff3cd", "edgecolor": "#c9a227", "boxstyle": "round,pad=0.6"},
        )

    base = report.baseline * 100
    ax.axhline(base, color=_BASELINE, linestyle=(0, (6, 4)), linewidth=2.2)
    ax.text(
        x_max * 0.985,
        base - 1.5,
        _("Old group model: {share}").format(share=whole_percent(report.baseline, locale)),
        color=_BASELINE,
        fontsize=fs - 2,
        ha="right",
        va="top",
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5},
    )

    ax.set_xlim(0, x_max)
    ax.set_ylim(0, 102)
    step = 3 if x_max <= 24 else 6
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.yaxis.set_major_locator(MultipleLocator(20))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: whole_percent(v / 100, locale)))
    ax.set_xlabel(_("Months after aid"), fontsize=fs)
    ax.set_ylabel(_("Still running"), fontsize=fs)
    ax.tick_params(labelsize=fs - 1)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower left", fontsize=fs - 4, frameon=True, framealpha=0.9)

    title = _(_TITLE)
    if report.breakdown:
        title += "\n" + _(BREAKDOWN_TITLES[report.breakdown])
    fig.text(0.03, 0.985, title, fontsize=fs + 2, va="top", ha="left", weight="bold")
    fig.text(
        0.03,
        0.985 - head + 0.035,
        _("Band: {confidence} interval · | = no longer followed · faded: fewer than {min} observed").format(
            confidence=whole_percent(rules.confidence, locale), min=number(rules.min_at_risk, locale)
        ),
        fontsize=fs - 5,
        va="top",
        ha="left",
        color="#444444",
    )

    # Number at risk under the time axis, as in published survival plots: one row per curve, at every tick.
    ticks = [t * step for t in range(int(x_max // step) + 1)]
    fig.text(0.03, table_top + 0.012, _("Number observed (at risk)"), fontsize=fs - 3, va="bottom", weight="bold")
    for r, (group, colour, _w) in enumerate(curves):
        y = table_top - row_h * (r + 0.5)
        name = group_label(report, group, gettext, locale)
        short = name if len(name) <= 10 else name[:9] + "…"
        fig.text(0.02, y, short, fontsize=fs - 4, color=colour, va="center", ha="left")
        for t in ticks:
            count = group.curve.at_risk_at(t * MONTH_DAYS) if t > 0 else group.n
            faded = count < rules.min_at_risk
            fig.text(
                left + width * t / x_max,
                y,
                number(count, locale),
                fontsize=fs - 4,
                color=colour,
                alpha=_FADED + 0.2 if faded else 1.0,
                va="center",
                ha="center",
            )

    fig.text(0.03, 0.045, data_range(report, gettext, locale), fontsize=fs - 5, color="#333333", va="bottom")
    fig.text(
        0.03,
        0.015,
        _("Made {when}").format(when=when(report, locale)),
        fontsize=fs - 5,
        color="#555555",
        va="bottom",
    )
    return fig


def render_charts(
    report: Report, *, gettext: Gettext = _identity, locale: str = "en", max_charts: int = 3
) -> list[bytes]:
    """The breakdown's groups (in the report's order: by survival) spread over up to ``max_charts`` PNGs of
    four groups each, each with the overall curve and the baseline; just the overall chart without a
    breakdown."""
    if not report.breakdown or not report.groups:
        return [render_chart(report, gettext=gettext, locale=locale)]
    keys = [g.key for g in report.groups if g.n > 0]
    pages = [keys[i : i + MAX_GROUPS_PER_CHART] for i in range(0, len(keys), MAX_GROUPS_PER_CHART)][
        :max_charts
    ]
    return [render_chart(report, groups=page, gettext=gettext, locale=locale) for page in pages]


__all__ = ["MAX_GROUPS_PER_CHART", "build_figure", "render_chart", "render_charts"]
