"""The survival figures as a table (CSV or XLSX) for ``uep report`` and the bot's /ekspor: one row per group
and horizon, with the same figure text, minimum and verdict wording as the summary, the numbers behind them
(observed, S, interval) and the unknown counts of the one definition in :mod:`.unknown`.

A cell that is below the minimum has no percentage here either: the number columns are empty and the
figure column reads "belum cukup data (n=…)". CSV follows the exports' convention (:mod:`services.exports`):
``;`` between columns and decimal commas in Indonesian, ``,`` and decimal points in English."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from typing import IO, Literal

from services.reports.report import Report
from services.reports.summary import (
    ALL_RECIPIENTS,
    BREAKDOWN_TITLES,
    N_,
    Gettext,
    _identity,
    estimate_text,
    group_label,
    verdict_text,
)
from services.reports.survival import GroupSurvival
from services.reports.unknown import REASONS

COLUMNS = (
    N_("breakdown"),
    N_("group"),
    N_("recipients (n)"),
    N_("months after aid"),
    N_("observed (at risk)"),
    N_("still running %"),
    N_("interval low %"),
    N_("interval high %"),
    N_("figure"),
    N_("against the group model"),
    N_("status unknown"),
    N_("never reported since the aid"),
    N_("check-ins missed"),
    N_("first check-in not yet due"),
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: object) -> object:
    """Text a spreadsheet would run as a formula (a kecamatan or TKSK name starting with "=") gets a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def survival_rows(
    reports: Sequence[Report], gettext: Gettext = _identity, locale: str = "en"
) -> Iterator[list[object]]:
    """The header, the overall rows (of the first report), then the groups of each report's breakdown in
    the report's order (several reports of the same moment: one per breakdown)."""
    yield [gettext(c) for c in COLUMNS]
    first = reports[0]
    groups: list[tuple[str, GroupSurvival, str, Report]] = [(gettext(ALL_RECIPIENTS), first.overall, "", first)]
    for report in reports:
        if report.breakdown:
            title = gettext(BREAKDOWN_TITLES[report.breakdown])
            groups += [(group_label(report, g, gettext, locale), g, title, report) for g in report.groups]
    for label, group, where, report in groups:
        for est in group.estimates.values():
            yield [
                _safe(where),
                _safe(label),
                group.n,
                est.months,
                est.at_risk,
                _pct(est.survival),
                _pct(est.lower),
                _pct(est.upper),
                estimate_text(est, gettext, locale),
                verdict_text(est, report.baseline, gettext, locale),
                group.unknown,
                *(group.unknown_reasons.get(r, 0) for r in REASONS),
            ]


def write_survival_table(
    reports: Sequence[Report],
    out: IO[bytes],
    *,
    fmt: Literal["csv", "xlsx"] = "csv",
    gettext: Gettext = _identity,
    locale: str = "en",
) -> int:
    """Write the table; returns the number of data rows. CSV is UTF-8 with a BOM (Excel opens it right)."""
    rows = list(survival_rows(reports, gettext, locale))
    if fmt == "csv":
        indonesian = locale.startswith("id")
        text = io.StringIO()
        writer = csv.writer(text, delimiter=";" if indonesian else ",")
        for row in rows:
            writer.writerow(
                [str(v).replace(".", ",") if indonesian and isinstance(v, float) else v for v in row]
            )
        out.write(text.getvalue().encode("utf-8-sig"))
    else:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(gettext("Survival")[:31])
        for row in rows:
            ws.append(row)
        wb.save(out)
    return len(rows) - 1


__all__ = ["COLUMNS", "survival_rows", "write_survival_table"]
