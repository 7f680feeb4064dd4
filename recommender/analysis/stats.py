"""Count statistics behind the A/B report (plain functions, no database, no Flask); the
visitor-level CTR statistics are in delta.py."""

from __future__ import annotations

import math
from collections.abc import Mapping

from scipy import stats
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

Z95 = 1.959963984540054


def z_for(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2))


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n independent trials (good at small n and
    near 0 or 1). The report uses it only for CTR by position, which is descriptive."""
    if n <= 0:
        return math.nan, math.nan
    low, high = proportion_confint(k, n, alpha=float(2 * stats.norm.sf(z)), method="wilson")
    return max(0.0, float(low)), min(1.0, float(high))


def two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z test, for independent trials. Not
    for impressions of visitors who each see many: the report uses delta.lift instead, and
    the calibration test keeps this one to show how wrong it goes there."""
    if min(n1, n2) <= 0:
        return math.nan
    if k1 + k2 in (0, n1 + n2):
        return 1.0  # identical all-or-nothing outcomes: no evidence of a difference
    _, p = proportions_ztest([k1, k2], [n1, n2])
    return float(p)


def sample_ratio_p(observed: Mapping[str, int], shares: Mapping[str, float]) -> tuple[float,
                                                                                        float]:
    """Chi-square goodness of fit of counts per variant (the report passes visitors, the
    unit assigned) against the configured split."""
    names = list(shares)
    total = sum(observed.get(n, 0) for n in names)
    if total == 0 or len(names) < 2:
        return math.nan, math.nan
    weight = sum(shares.values())
    expected = [total * shares[n] / weight for n in names]
    result = stats.chisquare([observed.get(n, 0) for n in names], expected)
    return float(result.statistic), float(result.pvalue)


def preference_p(wins_a: int, wins_b: int) -> float:
    """Two-sided sign test for an interleaving preference (ties left out)."""
    if wins_a + wins_b == 0:
        return math.nan
    return float(stats.binomtest(wins_a, wins_a + wins_b, 0.5).pvalue)
