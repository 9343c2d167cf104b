"""Survival curves as a PNG that reads well on a phone: big fonts, at most six lines (the overall curve, up to
four groups and the dashed 46% baseline of the old group model), months after aid on the x axis."""

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
    group_label,
    number,
    percent,
    when,
)
from services.reports.survival import GroupSurvival  # noqa: E402

MAX_GROUPS_PER_CHART = 4  # + overall + baseline = 6 lines
_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a")
_TITLE = N_("Businesses still running after aid")


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
    """PNG bytes: the overall curve plus ``groups`` of the report's breakdown (default: the four largest)."""
    fig = build_figure(report, groups=groups, gettext=gettext, locale=locale)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def build_figure(
    report: Report,
    *,
    groups: Sequence[str] | None = None,
    gettext: Gettext = _identity,
    locale: str = "en",
) -> Figure:
    """The matplotlib figure behind :func:`render_chart`."""
    _ = gettext
    chosen = _groups_for(report, groups) if report.breakdown else []
    fig = Figure(figsize=(7.2, 7.2), dpi=150)  # 1080 × 1080 px
    ax = fig.add_subplot()
    fs = 15

    curves = [(report.overall, "#222222", 3.5)] + [
        (g, c, 2.5) for g, c in zip(chosen, _COLOURS, strict=False)
    ]
    x_max = 12.0
    for group, colour, width in curves:
        pts = group.curve.points()
        if group.n == 0 or len(pts) < 1:
            continue
        xs, ys = zip(*pts, strict=True)
        x_max = max(x_max, xs[-1])
        label = f"{group_label(report, group, gettext, locale)} (n={number(group.n, locale)})"
        ax.plot(xs, [y * 100 for y in ys], color=colour, linewidth=width, label=label, drawstyle="default")

    base = report.baseline * 100
    ax.axhline(base, color="#b00020", linestyle=(0, (6, 4)), linewidth=2.2)
    ax.text(
        0.3,
        base - 2.5,
        _("Old group model: {share}").format(share=percent(report.baseline, locale)),
        color="#b00020",
        fontsize=fs - 1,
        va="top",
    )

    ax.set_xlim(0, x_max)
    ax.set_ylim(0, 102)
    ax.xaxis.set_major_locator(MultipleLocator(3 if x_max <= 24 else 6))
    ax.yaxis.set_major_locator(MultipleLocator(20))
    ax.yaxis.set_major_formatter(
        FuncFormatter(lambda v, _pos: percent(v / 100, locale).replace(",0", "").replace(".0", ""))
    )
    ax.set_xlabel(_("Months after aid"), fontsize=fs + 1)
    ax.set_ylabel(_("Still running"), fontsize=fs + 1)
    ax.tick_params(labelsize=fs)
    ax.grid(True, alpha=0.3)
    title = _(_TITLE)
    if report.breakdown:
        title += "\n" + _(BREAKDOWN_TITLES[report.breakdown])
    ax.set_title(title, fontsize=fs + 3, loc="left")
    ax.legend(loc="lower left", fontsize=fs - 2, frameon=True, framealpha=0.9)
    fig.text(0.99, 0.005, when(report, locale), ha="right", va="bottom", fontsize=fs - 5, color="#555555")
    fig.tight_layout()
    return fig


def render_charts(
    report: Report, *, gettext: Gettext = _identity, locale: str = "en", max_charts: int = 3
) -> list[bytes]:
    """The breakdown's groups (largest first) spread over up to ``max_charts`` PNGs of four groups
    each, each with the overall curve and the baseline; just the overall chart without a breakdown."""
    if not report.breakdown or not report.groups:
        return [render_chart(report, gettext=gettext, locale=locale)]
    keys = [g.key for g in report.groups if g.n > 0]
    pages = [keys[i : i + MAX_GROUPS_PER_CHART] for i in range(0, len(keys), MAX_GROUPS_PER_CHART)][
        :max_charts
    ]
    return [render_chart(report, groups=page, gettext=gettext, locale=locale) for page in pages]


__all__ = ["MAX_GROUPS_PER_CHART", "build_figure", "render_chart", "render_charts"]
