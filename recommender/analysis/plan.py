"""How many visitors an experiment needs: the impressions a two-proportion test needs,
inflated by the design effect of visitors who see many correlated impressions.

With cluster sizes m_i (impressions per visitor) and intra-visitor correlation rho, the
variance of CTR is the binomial one times the design effect 1 + (m0 - 1) rho, where
m0 = sum(m_i^2) / sum(m_i) (Kish's effect for unequal clusters): heavy readers weigh more.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from statsmodels.stats.proportion import samplesize_proportions_2indep_onetail

from recommender.analysis.delta import ratio


@dataclass(frozen=True)
class Design:
    """What a past experiment says about its visitors."""

    ctr: float
    visitors: int
    impressions_per_visitor: float
    weighted_size: float  # m0 = sum(m^2) / sum(m)
    design_effect: float  # measured: delta-method variance / binomial variance
    icc: float  # intra-visitor correlation implied by the measured design effect


def design_from(clicked: ArrayLike, impressions: ArrayLike) -> Design:
    """Measure the design effect of per-visitor (clicked impressions, impressions)."""
    x = np.asarray(clicked, dtype=float)
    m = np.asarray(impressions, dtype=float)
    est = ratio(x, m)
    if math.isnan(est.variance) or est.value in (0.0, 1.0):
        raise ValueError("need at least two visitors, and some impressions with and some "
                         "without a click, to measure the design effect")
    binomial = est.value * (1 - est.value) / est.den
    deff = est.variance / binomial
    m0 = float((m * m).sum() / m.sum())
    icc = (deff - 1) / (m0 - 1) if m0 > 1 else 0.0
    return Design(est.value, est.n, float(m.mean()), m0, deff, icc)


@dataclass(frozen=True)
class Plan:
    visitors: int  # per variant
    impressions: int  # per variant, as if impressions were independent
    design_effect: float
    treatment_ctr: float


def visitors_needed(baseline_ctr: float, mde: float, *, power: float = 0.8,
                    alpha: float = 0.05, impressions_per_visitor: float = 1.0,
                    icc: float = 0.0, weighted_size: float | None = None) -> Plan:
    """Visitors per variant (equal split, two-sided test) to detect a relative lift ``mde``.

    ``weighted_size`` is m0; without it visitors are assumed to see the same number of
    impressions (m0 = impressions_per_visitor). A negative correlation is taken as 0, so a
    noisy estimate never shrinks the sample below the independent-impressions one."""
    if not 0 < baseline_ctr < 1:
        raise ValueError(f"baseline CTR must be between 0 and 1, got {baseline_ctr}")
    treated = baseline_ctr * (1 + mde)
    if mde == 0 or not 0 < treated < 1:
        raise ValueError(f"the lift {mde} must be non-zero and keep the CTR between 0 and 1")
    if impressions_per_visitor < 1:
        raise ValueError("impressions per visitor must be at least 1")
    n_imp = float(samplesize_proportions_2indep_onetail(
        treated - baseline_ctr, baseline_ctr, power, alpha=alpha, alternative="two-sided"))
    m0 = impressions_per_visitor if weighted_size is None else weighted_size
    deff = 1 + max(0.0, m0 - 1) * max(0.0, icc)
    return Plan(visitors=math.ceil(n_imp * deff / impressions_per_visitor),
                impressions=math.ceil(n_imp), design_effect=deff, treatment_ctr=treated)


def pooled_design(totals: Iterable[tuple[np.ndarray, np.ndarray]]) -> Design:
    """The design effect over all variants' visitors, as (clicked, impressions) arrays."""
    pairs = list(totals)
    if not pairs:
        raise ValueError("no visitors in these events")
    return design_from(np.concatenate([c for c, _ in pairs]),
                       np.concatenate([m for _, m in pairs]))


def format_plan(plan: Plan, *, baseline_ctr: float, mde: float, power: float, alpha: float,
                impressions_per_visitor: float, icc: float,
                design: Design | None = None, source: str | None = None) -> str:
    lines = [f"Visitors needed per variant: {plan.visitors:,} "
             f"({2 * plan.visitors:,} for two variants at equal shares)",
             f"  baseline CTR {baseline_ctr:.2%} -> {plan.treatment_ctr:.2%} "
             f"(relative lift {mde:+.1%}), power {power:.0%}, alpha {alpha:g} two-sided",
             f"  impressions per variant if impressions were independent: {plan.impressions:,}"]
    if design is not None:
        lines.append(f"  from {source}: {design.visitors:,} visitors, CTR {design.ctr:.2%}, "
                     f"{design.impressions_per_visitor:.2f} impressions per visitor "
                     f"(size-weighted {design.weighted_size:.2f}), intra-visitor "
                     f"correlation {design.icc:.3f}")
    else:
        lines.append(f"  assumed: {impressions_per_visitor:g} impressions per visitor, "
                     f"intra-visitor correlation {icc:g}"
                     + ("" if icc or impressions_per_visitor != 1 else
                        " (pass --experiment with a past experiment's events for real values)"))
    lines.append(f"  design effect {plan.design_effect:.2f}: each visitor counts as "
                 f"{impressions_per_visitor / plan.design_effect:.2f} independent impressions")
    lines.append("Run until every variant has that many visitors, then decide once; stopping "
                 "early at the first p < alpha inflates false positives.")
    return "\n".join(lines) + "\n"
