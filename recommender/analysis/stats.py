"""The statistics behind the A/B report (plain functions, no database, no Flask)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from scipy import stats

Z95 = 1.959963984540054


def z_for(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2))


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials (good at small n and near 0 or 1)."""
    if n <= 0:
        return math.nan, math.nan
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def relative_lift(k_c: int, n_c: int, k_t: int, n_t: int,
                  z: float = Z95) -> tuple[float, float, float]:
    """Relative lift of treatment over control (p_t / p_c - 1) with a log-ratio (Katz)
    interval. A zero count gets the usual 0.5 continuity correction."""
    if min(n_c, n_t) <= 0:
        return math.nan, math.nan, math.nan
    if k_c == 0 or k_t == 0:
        k_c, k_t, n_c, n_t = k_c + 0.5, k_t + 0.5, n_c + 0.5, n_t + 0.5  # type: ignore[assignment]
    ratio = (k_t / n_t) / (k_c / n_c)
    se = math.sqrt(max(0.0, 1 / k_t - 1 / n_t + 1 / k_c - 1 / n_c))
    log_r = math.log(ratio)
    return ratio - 1, math.exp(log_r - z * se) - 1, math.exp(log_r + z * se) - 1


def two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z test."""
    if min(n1, n2) <= 0:
        return math.nan
    pooled = (k1 + k2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return 1.0  # identical all-or-nothing outcomes: no evidence of a difference
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (k1 / n1 - k2 / n2) / se
    return float(2 * stats.norm.sf(abs(z)))


def sample_ratio_p(observed: Mapping[str, int], shares: Mapping[str, float]) -> tuple[float,
                                                                                        float]:
    """Chi-square goodness of fit of impressions per variant against the configured split."""
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
