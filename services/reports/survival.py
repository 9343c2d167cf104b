"""Business survival after the aid: the share of businesses still running 3, 6 and 12 months after the aid was
handed over, as a Kaplan–Meier estimate, overall and per group.

Definitions (what the figures mean)
-----------------------------------
* **Who counts.** Every recipient with an ``aid_date`` on or before the report day (local date, WITA).
  Recipients still waiting for their aid are left out (and counted separately by the report).
* **Time.** Whole days from ``aid_date`` to the local (WITA) date of an event or of the censoring. A month is
  365.25/12 days, so the horizons 3, 6 and 12 months are days 91, 183 and 365.
* **Event (failure) = the business stopped**: the first ``stopped`` in the status history (or, with no
  history row, the recipient's current status ``stopped`` since ``business_status_since``). The first stop
  counts even if the recipient later reports running again, so a restart never hides a failure. ``changed``
  (switched to another business) counts as still running; ``paused`` is *not* a failure.
* **Censoring.** A recipient who has not stopped is censored at their *last known status date*: the latest
  moment there is evidence of a not-stopped business (a ``running``/``changed``/``paused`` status-history
  row or check-in, or ``business_status_since`` when the current status is one of those). They count as "at
  risk" up to that day and never as a failure. Recipients not yet 12 months after the aid are therefore
  simply censored early.
* **Unknown.** A recipient whose *current* status is unknown is censored at the time of their last known
  running (or changed/paused) status; if they never reported one, they are censored at day 0 and contribute
  nothing to the curve. They are never counted as running. Why a status is unknown (never reported since the
  aid, check-ins missed, first check-in not yet due) has one definition, in :mod:`.unknown`; the report shows
  those counts beside every curve (``GroupSurvival.unknown_reasons``) and they add up to ``unknown``.
* **"Running at m months"** is the Kaplan–Meier estimate S(t) at t = the horizon's day, with its confidence
  interval (95% by default): Greenwood's variance on the log(−log S) scale, exactly as lifelines and R's
  ``survival`` (``conf.type="log-log"``) compute it, so the interval stays inside [0, 1]. Before the first
  stop (S = 1) that interval is (100%, 100%); the report then shows the exact interval for no stop among
  those observed instead (:func:`figure_interval`), so "100%" never comes with false certainty.
* **Observed (at risk) at t** = recipients whose time is at least t: those the figure at t rests on.
* **The minimum.** A horizon where fewer than ``reports.min_at_risk`` (default 20) recipients were observed
  has no percentage: it is "not enough data (n=…)" (:class:`Estimate` with ``survival=None``), overall and in
  every group. Nothing downstream can print a figure the data do not back.
* **The verdict against the old group model (46%)**: *better* only when the whole interval lies above the
  baseline, *lower* only when it lies wholly below, *not certain yet* when the interval contains it.

The pure functions (:func:`observe`, :func:`kaplan_meier`, :func:`group_survival`, :func:`survival_by`) work
on plain dataclasses and can be checked by hand; :func:`load_subjects` reads them from the database with one
query over the recipients, whose rows carry the history's first stop and last known status
(:mod:`db.survival_facts`, kept with every check-in and status row).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from statistics import NormalDist
from typing import Any, NamedTuple

from sqlalchemy import Integer, String, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import BusinessStatus
from db.models import Recipient

MONTH_DAYS = 365.25 / 12
_ZERO = timedelta(0)
HORIZONS_MONTHS: tuple[int, ...] = (3, 6, 12)
STOPPED = BusinessStatus.STOPPED.value
NOT_STOPPED = (BusinessStatus.RUNNING.value, BusinessStatus.CHANGED.value, BusinessStatus.PAUSED.value)
STATUSES = tuple(s.value for s in BusinessStatus)


def horizon_days(months: float) -> int:
    """3 → 91, 6 → 183, 12 → 365."""
    return round(months * MONTH_DAYS)


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ is several times slower at 100,000 rows
class Subject:
    """One recipient as the survival analysis sees it (from :func:`load_subjects`, or by hand in tests)."""

    recipient_id: int
    aid_date: date
    status: str  # current business status (Recipient.business_status)
    status_since: datetime | None = None
    first_stopped_at: datetime | None = None  # earliest "stopped" in the history / check-ins
    last_known_at: datetime | None = None  # latest running/changed/paused evidence (history or check-in)
    business_type: str = ""
    sex: str = ""
    pkh: bool = False
    kecamatan_id: int = 0
    kabupaten_id: int = 0
    tksk_id: int | None = None
    # Values of the extra columns a pluggable breakdown asked for (see :mod:`.breakdowns`), by breakdown name.
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ever_reported(self) -> bool:
        """Any evidence of the business's status since the aid (a check-in or a status row)."""
        return self.first_stopped_at is not None or self.last_known_at is not None


class Observation(NamedTuple):  # a tuple: made once per recipient, cheaper than a frozen dataclass
    days: int  # days from aid to the stop (event) or to the censoring
    stopped: bool  # True = event (business stopped); False = censored
    status: str  # current status, for the "status now" counts (unknown is reported beside the curve)


def _local_days(at: datetime, aid_date: date, tz: tzinfo) -> int:
    if type(tz) is timezone:  # a fixed zone (see fixed_zone): the local time is the UTC time plus the offset
        return ((at + tz.utcoffset(None)).date() - aid_date).days  # type: ignore[operator]
    return (at.astimezone(tz).date() - aid_date).days


def fixed_zone(tz: tzinfo, at: datetime) -> tzinfo:
    """The zone's offset at ``at`` as a fixed zone: the same local dates for Indonesia's zones (no daylight
    saving time), and converting 100,000 datetimes to it is several times cheaper than through a ZoneInfo."""
    return timezone(tz.utcoffset(at) or _ZERO)


def observe(subject: Subject, *, today: date, tz: tzinfo) -> Observation:
    """Turn one recipient's history into (time, event) following the module's definitions."""
    aid, status = subject.aid_date, subject.status
    limit = (today - aid).days
    limit = limit if limit > 0 else 0
    stop_at = subject.first_stopped_at
    if stop_at is None and status == STOPPED:
        stop_at = subject.status_since or subject.last_known_at
        if stop_at is None:  # stopped with no date at all: the most we know is "stopped by today"
            return Observation(limit, True, status)
    if stop_at is not None:
        return Observation(_clamp(_local_days(stop_at, aid, tz), limit), True, status)

    # Censored at the latest evidence of a business not stopped.
    known = subject.last_known_at
    since = subject.status_since
    if since is not None and status in NOT_STOPPED and (known is None or since > known):
        known = since
    if known is None:
        return Observation(0, False, status)
    return Observation(_clamp(_local_days(known, aid, tz), limit), False, status)


def _clamp(days: int, limit: int) -> int:
    """Within the follow-up: not before the aid day, not after today."""
    return 0 if days < 0 else limit if days > limit else days


@dataclass(frozen=True, slots=True)
class KMStep:
    days: int
    at_risk: int  # observed at least this long (censored on this day still count as at risk)
    events: int  # stops on this day
    censored: int  # censored on this day
    survival: float  # S(t) just after this day
    greenwood: float = 0.0  # Σ d_i / (n_i (n_i − d_i)) over event days up to this one (inf once S = 0)


@dataclass(frozen=True, slots=True)
class KMCurve:
    n: int
    steps: tuple[KMStep, ...]  # one per day with an event or a censoring, ascending

    @property
    def max_days(self) -> int:
        return self.steps[-1].days if self.steps else 0

    def survival_at(self, days: float) -> float | None:
        """S(days); None when nobody was observed that long (the estimate does not reach there)."""
        if not self.steps:
            return None
        s = 1.0
        for step in self.steps:
            if step.days > days:
                return s
            s = step.survival
        # Past the last observation: defined only when the curve already reached zero.
        return s if (self.max_days >= days or s == 0.0) else None

    def step_at(self, days: float) -> KMStep | None:
        """The last step on or before ``days`` (None before the first one)."""
        found = None
        for step in self.steps:
            if step.days > days:
                break
            found = step
        return found

    def interval_at(self, days: float, confidence: float = 0.95) -> tuple[float, float] | None:
        """The confidence interval of S(days) (Greenwood, log-log); None where S is not defined."""
        s = self.survival_at(days)
        if s is None:
            return None
        step = self.step_at(days)
        return log_log_interval(s, step.greenwood if step is not None else 0.0, confidence)

    def at_risk_at(self, days: float) -> int:
        """How many recipients were observed at least ``days`` days."""
        for step in self.steps:
            if step.days >= days:
                return step.at_risk
        return 0

    def points(self) -> list[tuple[float, float]]:
        """Step-function vertices in months for plotting: from (0, 1) to the last observation."""
        pts = [(0.0, 1.0)]
        s = 1.0
        for step in self.steps:
            if step.survival != s:
                pts.append((step.days / MONTH_DAYS, s))
                s = step.survival
                pts.append((step.days / MONTH_DAYS, s))
        if self.steps and pts[-1][0] < self.max_days / MONTH_DAYS:
            pts.append((self.max_days / MONTH_DAYS, s))
        return pts


def kaplan_meier(observations: Iterable[Observation]) -> KMCurve:
    """The product-limit estimator: S(t) = Π over event days t_i ≤ t of (1 − d_i / n_i)."""
    observations = observations if isinstance(observations, Collection) else list(observations)
    events = Counter(o.days for o in observations if o.stopped)
    censored = Counter(o.days for o in observations if not o.stopped)
    n = at_risk = len(observations)
    s = 1.0
    greenwood = 0.0
    steps = []
    for day in sorted(events.keys() | censored.keys()):
        d, c = events[day], censored[day]
        if d:
            s *= 1.0 - d / at_risk
            greenwood = greenwood + d / (at_risk * (at_risk - d)) if d < at_risk else math.inf
        steps.append(KMStep(day, at_risk, d, c, s, greenwood))
        at_risk -= d + c
    return KMCurve(n, tuple(steps))


def z_value(confidence: float) -> float:
    """1.96 for 0.95: the two-sided normal quantile."""
    return NormalDist().inv_cdf((1.0 + confidence) / 2.0)


def log_log_interval(s: float, greenwood: float, confidence: float = 0.95) -> tuple[float, float]:
    """The interval of S on the log(−log S) scale: S^exp(±z·σ) with σ = √greenwood / |log S|.
    S = 1 (no stop yet) and S = 0 (everybody stopped) have no spread: (1, 1) and (0, 0), as in lifelines."""
    if s >= 1.0:
        return 1.0, 1.0
    if s <= 0.0 or math.isinf(greenwood):
        return 0.0, 0.0
    spread = z_value(confidence) * math.sqrt(greenwood) / abs(math.log(s))
    return s ** math.exp(spread), s ** math.exp(-spread)


def figure_interval(s: float, greenwood: float, at_risk: int, confidence: float = 0.95) -> tuple[float, float]:
    """The interval a report shows. The log-log interval, except before the first stop (S = 1), where
    Greenwood's variance is zero and survival software prints (100%, 100%) — a certainty nobody has. There the
    interval is the exact (Clopper–Pearson) one for no stop among the ``at_risk`` observed: from
    ((1 − confidence) / 2)^(1/at_risk) to 100% (32 observed: 89.1–100%)."""
    if s >= 1.0 and at_risk > 0:
        return ((1.0 - confidence) / 2.0) ** (1.0 / at_risk), 1.0
    return log_log_interval(s, greenwood, confidence)


class Verdict(StrEnum):
    """A figure against the old group model's baseline, decided by the whole interval."""

    BETTER = "better"  # the whole interval above the baseline
    UNCERTAIN = "uncertain"  # the interval contains the baseline
    LOWER = "lower"  # the whole interval below the baseline
    NOT_ENOUGH = "not_enough"  # fewer than the minimum observed: no figure at all


@dataclass(frozen=True, slots=True)
class Estimate:
    """One horizon of one group: S(t) with its interval, or nothing when too few were observed."""

    months: int
    days: int
    at_risk: int  # recipients observed at least this long (the figure rests on them)
    survival: float | None  # None = not enough data (at_risk < minimum) or the curve does not reach t
    lower: float | None
    upper: float | None
    verdict: Verdict

    @property
    def enough(self) -> bool:
        return self.survival is not None


def estimate_at(
    curve: KMCurve, months: int, *, min_at_risk: int, confidence: float = 0.95, baseline: float = 0.46
) -> Estimate:
    days = horizon_days(months)
    at_risk = curve.at_risk_at(days)
    s = curve.survival_at(days)
    if s is None or at_risk < min_at_risk:
        return Estimate(months, days, at_risk, None, None, None, Verdict.NOT_ENOUGH)
    step = curve.step_at(days)
    lower, upper = figure_interval(s, step.greenwood if step is not None else 0.0, at_risk, confidence)
    if lower > baseline:
        verdict = Verdict.BETTER
    elif upper < baseline:
        verdict = Verdict.LOWER
    else:
        verdict = Verdict.UNCERTAIN
    return Estimate(months, days, at_risk, s, lower, upper, verdict)


@dataclass(frozen=True, slots=True)
class Rules:
    """How figures are judged (from ``settings.reports`` and ``settings.program``)."""

    min_at_risk: int = 20
    confidence: float = 0.95
    baseline: float = 0.46
    significance: float = 0.05
    horizons: tuple[int, ...] = HORIZONS_MONTHS

    @classmethod
    def from_settings(cls, settings: Any) -> Rules:
        r = settings.reports
        return cls(r.min_at_risk, r.confidence, settings.program.group_baseline_survival, r.significance)


@dataclass(frozen=True, slots=True)
class GroupSurvival:
    key: str  # "all", a business type code, an id, "L"/"P", "pkh"/"non_pkh", "none"
    label: str  # a name (kabupaten, kecamatan, TKSK) or the key when the label needs translating
    n: int
    curve: KMCurve
    estimates: dict[int, Estimate]  # months → the figure (or "not enough data") at that horizon
    status_counts: dict[str, int] = field(default_factory=dict)  # current status → recipients
    unknown_reasons: dict[str, int] = field(default_factory=dict)  # UnknownReason → recipients (sum = unknown)
    observations: tuple[Observation, ...] = ()  # kept for the log-rank test between groups

    @property
    def unknown(self) -> int:
        return self.status_counts.get(BusinessStatus.UNKNOWN, 0)

    @property
    def unknown_share(self) -> float:
        return self.unknown / self.n if self.n else 0.0

    @property
    def enough(self) -> bool:
        """At least one horizon has a figure."""
        return any(e.enough for e in self.estimates.values())

    def headline(self) -> Estimate | None:
        """The longest horizon with a figure (None when none has one)."""
        found = [e for e in self.estimates.values() if e.enough]
        return max(found, key=lambda e: e.months) if found else None


def group_survival(
    key: str,
    label: str,
    observations: Collection[Observation],
    rules: Rules | None = None,
    unknown_reasons: Mapping[str, int] | None = None,
) -> GroupSurvival:
    rules = rules or Rules()
    curve = kaplan_meier(observations)
    counts = dict.fromkeys(STATUSES, 0) | Counter(o.status for o in observations)
    estimates = {
        m: estimate_at(
            curve, m, min_at_risk=rules.min_at_risk, confidence=rules.confidence, baseline=rules.baseline
        )
        for m in rules.horizons
    }
    return GroupSurvival(
        key, label, len(observations), curve, estimates, counts, dict(unknown_reasons or {}), tuple(observations)
    )


def sort_by_survival(groups: Sequence[GroupSurvival], months: int | None) -> list[GroupSurvival]:
    """Groups with a figure at ``months`` first, highest survival first; then the rest (below the minimum
    there) largest first. Ties by label."""

    def order(g: GroupSurvival) -> tuple[int, float, int, str]:
        e = g.estimates.get(months) if months is not None else None
        if e is not None and e.survival is not None:
            return (0, -e.survival, -g.n, g.label)
        return (1, 0.0, -g.n, g.label)

    return sorted(groups, key=order)


def survival_by(
    pairs: Iterable[tuple[Subject, Observation]],
    key: Callable[[Subject], str],
    labels: Mapping[str, str] | None = None,
    rules: Rules | None = None,
    reason_of: Callable[[Subject], str | None] | None = None,
    sort_months: int | None = None,
) -> list[GroupSurvival]:
    """One :class:`GroupSurvival` per value of ``key``, sorted by :func:`sort_by_survival` at
    ``sort_months`` (default: the longest horizon)."""
    rules = rules or Rules()
    groups: dict[str, list[Observation]] = defaultdict(list)
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    for subject, obs in pairs:
        k = key(subject)
        groups[k].append(obs)
        if reason_of is not None:
            why = reason_of(subject)
            if why is not None:
                reasons[k][why] += 1
    labels = labels or {}
    result = [group_survival(k, labels.get(k, k), obs, rules, reasons.get(k)) for k, obs in groups.items()]
    return sort_by_survival(result, sort_months if sort_months is not None else max(rules.horizons))


async def load_subjects(
    session: AsyncSession,
    *,
    today: date,
    kecamatan_ids: Collection[int] | None = None,
    kabupaten_of: Mapping[int, int] | None = None,
    tksk_of: Mapping[int, int] | None = None,
    extra_columns: Mapping[str, Any] | None = None,
) -> list[Subject]:
    """Every recipient with aid delivered by ``today``, with their history condensed to the two facts kept on
    their row (``first_stopped_at``, ``last_known_at``: see :mod:`db.survival_facts`): one query, one row per
    recipient, whatever the length of the history.
    ``extra_columns`` (name → SQL expression over ``recipients``, e.g. a correlated scalar subquery) are
    selected with the recipients and land in :attr:`Subject.extra` (what a pluggable breakdown groups by)."""
    extra_columns = dict(extra_columns or {})
    rec_filter = [Recipient.aid_date.is_not(None), Recipient.aid_date <= today]
    if kecamatan_ids is not None:
        rec_filter.append(Recipient.kecamatan_id.in_(list(kecamatan_ids)))
    # On the connection (plain rows, no ORM loading) and with the driver's values: at 100,000 recipients the
    # per-value conversions of SQLAlchemy's types cost more than the query.
    connection = await session.connection()
    recipients = await connection.execute(
        select(
            Recipient.id,
            _raw(Recipient.aid_date),
            Recipient.business_status,
            _raw(Recipient.business_status_since),
            _raw(Recipient.first_stopped_at),
            _raw(Recipient.last_known_at),
            Recipient.business_type,
            Recipient.sex,
            type_coerce(Recipient.pkh, Integer),
            Recipient.kecamatan_id,
            *(col.label(f"extra_{i}") for i, col in enumerate(extra_columns.values())),
        ).where(*rec_filter)
    )
    kabupaten_of = kabupaten_of or {}
    tksk_of = tksk_of or {}
    return [
        Subject(  # positional, in the order of the fields: cheaper at 100,000 rows
            rid,
            _day(aid_date),
            status,
            _utc(since) if since is not None else None,
            _utc(stop) if stop is not None else None,
            _utc(known) if known is not None else None,
            btype,
            sex,
            bool(pkh),
            kec,
            kabupaten_of.get(kec, 0),
            tksk_of.get(kec),
            dict(zip(extra_columns, rest, strict=True)) if extra_columns else {},
        )
        for rid, aid_date, status, since, stop, known, btype, sex, pkh, kec, *rest in recipients.all()
    ]


def _raw(expr: Any) -> Any:
    """The driver's value as is (text on SQLite, a date or datetime on PostgreSQL): :func:`_utc` and
    :func:`_day` convert them."""
    return type_coerce(expr, String)


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _utc(value: datetime | str) -> datetime:
    """A driver's or an aggregate's value as an aware UTC datetime (SQLite gives naive UTC text)."""
    if isinstance(value, str):
        if value[-6] in "+-" or value[-1] == "Z":  # an offset after "HH:MM:SS[.ffffff]"
            return datetime.fromisoformat(value).astimezone(UTC)
        return datetime.fromisoformat(value + "+00:00")  # one parse; several times cheaper than .replace()
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if value.utcoffset() == _ZERO else value.astimezone(UTC)


__all__ = [
    "HORIZONS_MONTHS",
    "MONTH_DAYS",
    "Estimate",
    "GroupSurvival",
    "KMCurve",
    "KMStep",
    "Observation",
    "Rules",
    "Subject",
    "Verdict",
    "estimate_at",
    "figure_interval",
    "fixed_zone",
    "group_survival",
    "horizon_days",
    "kaplan_meier",
    "load_subjects",
    "log_log_interval",
    "observe",
    "sort_by_survival",
    "survival_by",
    "z_value",
]
