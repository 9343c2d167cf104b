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
* **Unknown.** Missed check-ins set the status to ``unknown``. A recipient whose *current* status is unknown
  is censored at the time of their last known running (or changed/paused) status; if they never reported
  one, they are censored at day 0 and contribute nothing to the curve. They are never counted as running:
  the report shows the number and share of recipients whose status is unknown *now* beside every curve
  (``GroupSurvival.unknown``), so a reader can see how much of the group the curve cannot vouch for.
* **"Running at m months"** is the Kaplan–Meier estimate S(t) at t = the horizon's day. It is ``None`` ("not
  enough data yet") when nobody in the group has been observed that long (unless the curve already reached
  0). ``reached[m]`` says how many recipients were observed at least that long, i.e. how much data backs the
  figure.

The pure functions (:func:`observe`, :func:`kaplan_meier`, :func:`group_survival`, :func:`survival_by`) work
on plain dataclasses and can be checked by hand; :func:`load_subjects` reads them from the database with
three aggregate queries (no per-recipient queries).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import BusinessStatus
from db.models import BusinessStatusChange, Checkin, Recipient

MONTH_DAYS = 365.25 / 12
HORIZONS_MONTHS: tuple[int, ...] = (3, 6, 12)
NOT_STOPPED = (BusinessStatus.RUNNING.value, BusinessStatus.CHANGED.value, BusinessStatus.PAUSED.value)
STATUSES = tuple(s.value for s in BusinessStatus)


def horizon_days(months: float) -> int:
    """3 → 91, 6 → 183, 12 → 365."""
    return round(months * MONTH_DAYS)


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Observation:
    days: int  # days from aid to the stop (event) or to the censoring
    stopped: bool  # True = event (business stopped); False = censored
    status: str  # current status, for the "status now" counts (unknown is reported beside the curve)


def _local_days(at: datetime, aid_date: date, tz: tzinfo) -> int:
    return (at.astimezone(tz).date() - aid_date).days


def observe(subject: Subject, *, today: date, tz: tzinfo) -> Observation:
    """Turn one recipient's history into (time, event) following the module's definitions."""
    limit = max(0, (today - subject.aid_date).days)

    def clamp(days: int) -> int:
        return min(max(days, 0), limit)

    stop_at = subject.first_stopped_at
    if stop_at is None and subject.status == BusinessStatus.STOPPED:
        stop_at = subject.status_since or subject.last_known_at
        if stop_at is None:  # stopped with no date at all: the most we know is "stopped by today"
            return Observation(limit, True, subject.status)
    if stop_at is not None:
        return Observation(clamp(_local_days(stop_at, subject.aid_date, tz)), True, subject.status)

    evidence = [subject.last_known_at] if subject.last_known_at is not None else []
    if subject.status in NOT_STOPPED and subject.status_since is not None:
        evidence.append(subject.status_since)
    if not evidence:
        return Observation(0, False, subject.status)
    return Observation(clamp(_local_days(max(evidence), subject.aid_date, tz)), False, subject.status)


@dataclass(frozen=True, slots=True)
class KMStep:
    days: int
    at_risk: int  # observed at least this long (censored on this day still count as at risk)
    events: int  # stops on this day
    censored: int  # censored on this day
    survival: float  # S(t) just after this day


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
    events: Counter[int] = Counter()
    censored: Counter[int] = Counter()
    n = 0
    for obs in observations:
        n += 1
        (events if obs.stopped else censored)[obs.days] += 1
    at_risk = n
    s = 1.0
    steps = []
    for day in sorted(events.keys() | censored.keys()):
        d, c = events[day], censored[day]
        if d:
            s *= 1.0 - d / at_risk
        steps.append(KMStep(day, at_risk, d, c, s))
        at_risk -= d + c
    return KMCurve(n, tuple(steps))


@dataclass(frozen=True, slots=True)
class GroupSurvival:
    key: str  # "all", a business type code, an id, "L"/"P", "pkh"/"non_pkh", "none"
    label: str  # a name (kabupaten, kecamatan, TKSK) or the key when the label needs translating
    n: int
    curve: KMCurve
    running_at: dict[int, float | None]  # months → Kaplan–Meier share still running
    reached: dict[int, int]  # months → recipients observed at least that long
    status_counts: dict[str, int] = field(default_factory=dict)  # current status → recipients

    @property
    def unknown(self) -> int:
        return self.status_counts.get(BusinessStatus.UNKNOWN, 0)

    @property
    def unknown_share(self) -> float:
        return self.unknown / self.n if self.n else 0.0


def group_survival(
    key: str, label: str, observations: Collection[Observation], horizons: Iterable[int] = HORIZONS_MONTHS
) -> GroupSurvival:
    curve = kaplan_meier(observations)
    counts = dict.fromkeys(STATUSES, 0)
    for obs in observations:
        counts[obs.status] = counts.get(obs.status, 0) + 1
    running_at = {m: curve.survival_at(horizon_days(m)) for m in horizons}
    reached = {m: curve.at_risk_at(horizon_days(m)) for m in horizons}
    return GroupSurvival(key, label, len(observations), curve, running_at, reached, counts)


def survival_by(
    pairs: Iterable[tuple[Subject, Observation]],
    key: Callable[[Subject], str],
    labels: Mapping[str, str] | None = None,
) -> list[GroupSurvival]:
    """One :class:`GroupSurvival` per value of ``key``, largest group first (ties by label)."""
    groups: dict[str, list[Observation]] = defaultdict(list)
    for subject, obs in pairs:
        groups[key(subject)].append(obs)
    labels = labels or {}
    result = [group_survival(k, labels.get(k, k), obs) for k, obs in groups.items()]
    result.sort(key=lambda g: (-g.n, g.label))
    return result


BREAKDOWNS: dict[str, Callable[[Subject], str]] = {
    "business_type": lambda s: s.business_type,
    "kabupaten": lambda s: str(s.kabupaten_id),
    "kecamatan": lambda s: str(s.kecamatan_id),
    "sex": lambda s: s.sex,
    "pkh": lambda s: "pkh" if s.pkh else "non_pkh",
    "tksk": lambda s: str(s.tksk_id) if s.tksk_id is not None else "none",
}


async def load_subjects(
    session: AsyncSession,
    *,
    today: date,
    kecamatan_ids: Collection[int] | None = None,
    kabupaten_of: Mapping[int, int] | None = None,
    tksk_of: Mapping[int, int] | None = None,
) -> list[Subject]:
    """Every recipient with aid delivered by ``today``, with their history condensed by aggregate SQL:
    one query over recipients, one GROUP BY over the status history, one over the check-ins."""
    rec_filter = [Recipient.aid_date.is_not(None), Recipient.aid_date <= today]
    if kecamatan_ids is not None:
        rec_filter.append(Recipient.kecamatan_id.in_(list(kecamatan_ids)))
    recipients = (
        await session.execute(
            select(
                Recipient.id,
                Recipient.aid_date,
                Recipient.business_status,
                Recipient.business_status_since,
                Recipient.business_type,
                Recipient.sex,
                Recipient.pkh,
                Recipient.kecamatan_id,
            ).where(*rec_filter)
        )
    ).all()
    if not recipients:
        return []
    in_scope = select(Recipient.id).where(*rec_filter).scalar_subquery()

    def scoped(col: Any) -> list[Any]:
        # Without a scope, rows of recipients not in the analysis are simply never looked up.
        return [col.in_(in_scope)] if kecamatan_ids is not None else []

    bsc = BusinessStatusChange
    history = await session.execute(
        select(
            bsc.recipient_id,
            func.min(case((bsc.status == BusinessStatus.STOPPED.value, bsc.changed_at), else_=None)),
            func.max(case((bsc.status.in_(NOT_STOPPED), bsc.changed_at), else_=None)),
        )
        .where(*scoped(bsc.recipient_id))
        .group_by(bsc.recipient_id)
    )
    first_stop: dict[int, datetime] = {}
    last_known: dict[int, datetime] = {}
    for rid, stop, known in history:
        if stop is not None:
            first_stop[rid] = _utc(stop)
        if known is not None:
            last_known[rid] = _utc(known)

    checkins = await session.execute(
        select(
            Checkin.recipient_id,
            func.min(
                case((Checkin.status == BusinessStatus.STOPPED.value, Checkin.submitted_at), else_=None)
            ),
            func.max(case((Checkin.status.in_(NOT_STOPPED), Checkin.submitted_at), else_=None)),
        )
        .where(*scoped(Checkin.recipient_id))
        .group_by(Checkin.recipient_id)
    )
    for rid, stop, known in checkins:
        if stop is not None:
            stop = _utc(stop)
            if rid not in first_stop or stop < first_stop[rid]:
                first_stop[rid] = stop
        if known is not None:
            known = _utc(known)
            if rid not in last_known or known > last_known[rid]:
                last_known[rid] = known

    kabupaten_of = kabupaten_of or {}
    tksk_of = tksk_of or {}
    return [
        Subject(
            recipient_id=rid,
            aid_date=aid_date,
            status=status,
            status_since=since,
            first_stopped_at=first_stop.get(rid),
            last_known_at=last_known.get(rid),
            business_type=btype,
            sex=sex,
            pkh=bool(pkh),
            kecamatan_id=kec,
            kabupaten_id=kabupaten_of.get(kec, 0),
            tksk_id=tksk_of.get(kec),
        )
        for rid, aid_date, status, since, btype, sex, pkh, kec in recipients
    ]


def _utc(value: datetime | str) -> datetime:
    """Aggregates over a CASE may come back as text on SQLite; normalise to aware UTC."""
    if isinstance(value, datetime) and value.tzinfo is UTC:
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


__all__ = [
    "BREAKDOWNS",
    "HORIZONS_MONTHS",
    "MONTH_DAYS",
    "GroupSurvival",
    "KMCurve",
    "KMStep",
    "Observation",
    "Subject",
    "group_survival",
    "horizon_days",
    "kaplan_meier",
    "load_subjects",
    "observe",
    "survival_by",
]
