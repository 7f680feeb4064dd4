"""CTR as a ratio metric over visitors, the unit that was randomised.

A visitor's impressions are not independent coin flips (some readers click far more than
others), so the variance of CTR = sum(clicked impressions) / sum(impressions) comes from the
visitors: the delta method for a ratio of two means (Deng, Knoblich and Lu, "Applying the
delta method in metric analytics", KDD 2018; Kohavi, Tang and Xu, *Trustworthy Online
Controlled Experiments*, ch. 18), and a per-visitor cluster bootstrap to check it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

# Resampled visitors held in memory at once by the bootstrap (indices are 8 bytes each).
_BOOTSTRAP_CELLS = 4_000_000


@dataclass(frozen=True)
class Ratio:
    """sum(num) / sum(den) over n visitors, with the delta-method variance of that ratio."""

    n: int
    num: float
    den: float
    value: float
    variance: float

    @property
    def se(self) -> float:
        return math.sqrt(self.variance) if self.variance >= 0 else math.nan


def ratio(num: ArrayLike, den: ArrayLike) -> Ratio:
    """Ratio of sums of per-visitor ``num`` (clicked impressions) and ``den`` (impressions).

    Var(X̄/Ȳ) ≈ (s²_x - 2 R s_xy + R² s²_y) / (n Ȳ²), with sample (co)variances; it needs at
    least two visitors. The numerator is the sample variance of x - R y (whose mean is 0),
    which is how it is computed: one pass, no 2x2 covariance matrix."""
    x = np.asarray(num, dtype=float)
    y = np.asarray(den, dtype=float)
    n = int(x.size)
    sx, sy = float(x.sum()), float(y.sum())
    if n == 0 or sy <= 0:
        return Ratio(n, sx, sy, math.nan, math.nan)
    r = sx / sy
    if n < 2:
        return Ratio(n, sx, sy, r, math.nan)
    resid = x - r * y
    mean_y = sy / n
    var = float(resid @ resid) / ((n - 1) * n * mean_y * mean_y)
    return Ratio(n, sx, sy, r, var)


def interval(est: Ratio, z: float) -> tuple[float, float]:
    """Normal interval for a proportion-like ratio, kept inside [0, 1]."""
    if math.isnan(est.variance):
        return math.nan, math.nan
    half = z * est.se
    return max(0.0, est.value - half), min(1.0, est.value + half)


def _two_sided(z: float) -> float:
    # ndtr rather than stats.norm.sf: the same tail, without the distribution object's
    # per-call overhead (calibration runs this thousands of times).
    return float(2 * special.ndtr(-abs(z)))


@dataclass(frozen=True)
class Lift:
    lift: float  # treatment / control - 1
    low: float
    high: float
    p_value: float


def lift(control: Ratio, treatment: Ratio, z: float) -> Lift:
    """Relative lift with an interval on the log ratio, and the two-sided p-value of the same
    statistic, so the interval excludes 0 exactly when p < 1 - confidence.

    Var(log R_t - log R_c) ≈ Var(R_t)/R_t² + Var(R_c)/R_c² (the arms are independent). When
    an arm has no clicks the log is undefined: the p-value then compares the difference."""
    rc, rt = control.value, treatment.value
    if math.isnan(rc) or math.isnan(rt) or math.isnan(control.variance + treatment.variance):
        return Lift(math.nan, math.nan, math.nan, math.nan)
    if rc > 0 and rt > 0:
        se = math.sqrt(treatment.variance / rt**2 + control.variance / rc**2)
        log_r = math.log(rt / rc)
        if se == 0:
            return Lift(rt / rc - 1, rt / rc - 1, rt / rc - 1, 1.0 if log_r == 0 else 0.0)
        p = _two_sided(log_r / se)
        return Lift(rt / rc - 1, math.exp(log_r - z * se) - 1, math.exp(log_r + z * se) - 1, p)
    se = math.sqrt(treatment.variance + control.variance)
    p = 1.0 if se == 0 else _two_sided((rt - rc) / se)
    return Lift(rt / rc - 1 if rc > 0 else math.nan, math.nan, math.nan, p)


@dataclass(frozen=True)
class Bootstrap:
    """Replicates of the ratio of resampled sums, one row per replicate."""

    ratios: np.ndarray

    def interval(self, confidence: float) -> tuple[float, float]:
        tail = 50 * (1 - confidence)
        finite = self.ratios[np.isfinite(self.ratios)]
        if finite.size == 0:
            return math.nan, math.nan
        low, high = np.percentile(finite, [tail, 100 - tail])
        return float(low), float(high)

    @property
    def se(self) -> float:
        finite = self.ratios[np.isfinite(self.ratios)]
        return float(finite.std(ddof=1)) if finite.size > 1 else math.nan


def bootstrap(num: ArrayLike, den: ArrayLike, replicates: int,
              rng: np.random.Generator) -> Bootstrap:
    """Cluster bootstrap: resample whole visitors (with all their impressions) with
    replacement, in chunks so memory stays bounded for large experiments."""
    x = np.asarray(num, dtype=float)
    y = np.asarray(den, dtype=float)
    n = x.size
    if n == 0 or replicates <= 0:
        return Bootstrap(np.full(max(replicates, 0), math.nan))
    out = np.empty(replicates)
    chunk = max(1, _BOOTSTRAP_CELLS // n)
    for start in range(0, replicates, chunk):
        size = min(chunk, replicates - start)
        idx = rng.integers(0, n, size=(size, n))
        with np.errstate(divide="ignore", invalid="ignore"):
            out[start:start + size] = x[idx].sum(axis=1) / y[idx].sum(axis=1)
    return Bootstrap(out)


def bootstrap_lift(control: Bootstrap, treatment: Bootstrap) -> Bootstrap:
    """Replicates of the relative lift; arms were resampled independently, as assigned."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return Bootstrap(treatment.ratios / control.ratios - 1)
