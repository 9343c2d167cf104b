"""The breakdowns of survival: which attribute splits the recipients into groups, how a group is named, and
how the difference between the groups is described.

A breakdown is pluggable: give it either a ``key`` function over :class:`~.survival.Subject`, or a ``column``
(an SQL expression over ``recipients``, e.g. a correlated scalar subquery into another table) that is loaded
with the recipients and grouped by its value. Register it with :func:`register` and every report, chart,
export and page shows it with the same rules (minimum, interval, verdict, sorting, log-rank)::

    register(Breakdown(
        "assessment_verdict", N_("By assessment verdict"), N_("Difference between assessment verdicts"),
        column=select(Assessment.verdict).where(Assessment.recipient_id == Recipient.id)
               .order_by(Assessment.id.desc()).limit(1).scalar_subquery(),
        fixed_labels={"fit": N_("Fit"), "none": N_("Not assessed")},
    ))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.reports.survival import Subject


def N_(message: str) -> str:
    """Marks a msgid for extraction; translated later through the gettext passed in."""
    return message


@dataclass(frozen=True, slots=True)
class Names:
    """Names from the database a breakdown may label its groups with (loaded once by the report)."""

    kabupaten: Mapping[str, str] = field(default_factory=dict)
    kecamatan: Mapping[str, str] = field(default_factory=dict)
    tksk: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Breakdown:
    name: str
    title: str  # msgid, "By business type"
    difference: str  # msgid naming what the log-rank test compares, "Difference between business types"
    key: Callable[[Subject], str] | None = None
    column: Any = None  # SQL expression over recipients; its value (None → "none") is the group key
    fixed_labels: Mapping[str, str] = field(default_factory=dict)  # group key → msgid
    names: Callable[[Names], Mapping[str, str]] | None = None  # group key → a name from the database
    business_type_labels: bool = False  # keys are business type codes (labels from the settings)

    def __post_init__(self) -> None:
        if (self.key is None) == (self.column is None):
            raise ValueError(f"breakdown {self.name!r}: give exactly one of key or column")

    def group_key(self, subject: Subject) -> str:
        if self.key is not None:
            return self.key(subject)
        value = subject.extra.get(self.name)
        return "none" if value is None else str(value)


BREAKDOWNS: dict[str, Breakdown] = {}


def register(breakdown: Breakdown) -> Breakdown:
    BREAKDOWNS[breakdown.name] = breakdown
    return breakdown


register(
    Breakdown(
        "business_type",
        N_("By business type"),
        N_("Difference between business types"),
        key=lambda s: s.business_type,
        business_type_labels=True,
    )
)
register(
    Breakdown(
        "kabupaten",
        N_("By kabupaten/kota"),
        N_("Difference between kabupaten/kota"),
        key=lambda s: str(s.kabupaten_id),
        names=lambda n: n.kabupaten,
    )
)
register(
    Breakdown(
        "kecamatan",
        N_("By kecamatan"),
        N_("Difference between kecamatan"),
        key=lambda s: str(s.kecamatan_id),
        names=lambda n: n.kecamatan,
    )
)
register(
    Breakdown(
        "sex",
        N_("By sex"),
        N_("Difference between women and men"),
        key=lambda s: s.sex,
        fixed_labels={"P": N_("Women"), "L": N_("Men")},
    )
)
register(
    Breakdown(
        "pkh",
        N_("By PKH membership"),
        N_("Difference between PKH and other families"),
        key=lambda s: "pkh" if s.pkh else "non_pkh",
        fixed_labels={"pkh": N_("PKH families"), "non_pkh": N_("Not in PKH")},
    )
)
register(
    Breakdown(
        "tksk",
        N_("By TKSK"),
        N_("Difference between TKSK"),
        key=lambda s: str(s.tksk_id) if s.tksk_id is not None else "none",
        fixed_labels={"none": N_("No TKSK")},
        names=lambda n: n.tksk,
    )
)


class UnknownBreakdown(ValueError):
    pass


def get(name: str) -> Breakdown:
    try:
        return BREAKDOWNS[name]
    except KeyError:
        raise UnknownBreakdown(f"unknown breakdown {name!r}; choose one of {', '.join(BREAKDOWNS)}") from None


__all__ = ["BREAKDOWNS", "Breakdown", "Names", "UnknownBreakdown", "get", "register"]
