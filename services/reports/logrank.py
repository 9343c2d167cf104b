"""The log-rank test: do the survival curves of several groups differ by more than chance would make them?

At every day with a stop, each group's stops are compared with the share of the stops it would expect from
its number at risk; the differences are summed over the days and weighed by their covariance (the
multi-group test: χ² with k − 1 degrees of freedom, as lifelines' ``multivariate_logrank_test`` and R's
``survdiff`` compute it; for two groups it is the ordinary log-rank test).

Only groups with at least ``min_at_risk`` recipients followed beyond the aid day take part: a group too small
to show a figure cannot show a difference either, and the report says which were left out by naming how many
groups were tested.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.reports.survival import Observation


@dataclass(frozen=True, slots=True)
class LogRank:
    statistic: float  # χ²
    df: int  # groups tested − 1
    p_value: float
    groups: int  # groups tested

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha


def chi2_sf(x: float, df: int) -> float:
    """P(χ²_df ≥ x) for a whole number of degrees of freedom (the closed forms of the regularised upper
    incomplete gamma function; no SciPy needed)."""
    if x <= 0:
        return 1.0
    half = x / 2.0
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, df // 2):
            term *= half / i
            total += term
        return min(1.0, math.exp(-half) * total)
    total = math.erfc(math.sqrt(half))
    term = math.exp(-half) * math.sqrt(half) / math.gamma(1.5)  # i = 1: half^(1/2) e^-half / Γ(3/2)
    for i in range(1, (df + 1) // 2):
        total += term
        term *= half / (i + 0.5)
    return min(1.0, total)


def logrank(groups: Sequence[Sequence[Observation]]) -> LogRank | None:
    """The test over ``groups`` (each a list of observations); None with fewer than two groups or no stop."""
    groups = [g for g in groups if g]
    k = len(groups)
    if k < 2:
        return None
    times = [np.sort(np.fromiter((o.days for o in g), dtype=np.int64, count=len(g))) for g in groups]
    event_times = [
        np.sort(np.fromiter((o.days for o in g if o.stopped), dtype=np.int64)) for g in groups
    ]
    days = np.unique(np.concatenate(event_times))
    if days.size == 0:
        return None
    # n[j, t] at risk (time ≥ t) and d[j, t] stops on day t, for every group j and event day t.
    n = np.stack([t.size - np.searchsorted(t, days, side="left") for t in times]).astype(float)
    d = np.stack(
        [np.searchsorted(e, days, side="right") - np.searchsorted(e, days, side="left") for e in event_times]
    ).astype(float)
    n_all = n.sum(axis=0)
    d_all = d.sum(axis=0)
    share = n / n_all
    observed_minus_expected = (d - d_all * share).sum(axis=1)
    # Hypergeometric weight per day: d (n − d) / (n − 1); zero when only one person is at risk.
    weight = np.divide(d_all * (n_all - d_all), n_all - 1, out=np.zeros_like(n_all), where=n_all > 1)
    v = np.einsum("t,jt,kt->jk", weight, share, -share)
    v[np.diag_indices(k)] += (weight * share).sum(axis=1)
    z = observed_minus_expected[:-1]
    stat = float(z @ np.linalg.pinv(v[:-1, :-1]) @ z)
    df = k - 1
    return LogRank(stat, df, chi2_sf(stat, df), k)


__all__ = ["LogRank", "chi2_sf", "logrank"]
