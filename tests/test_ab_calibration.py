"""The visitor-level statistics on simulated experiments like a news site's: visitors see a
geometric number of impressions (mean 12) and each has their own click propensity
(Beta(0.3, 3), mean 9%), so impressions of one visitor are correlated. Fixed seeds; numpy
draws all experiments at once and each goes through the report's statistics functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recommender.analysis import delta, plan, stats

Z = stats.z_for(0.95)
MEAN_CTR = 0.3 / 3.3  # E[q]; impressions per visitor are drawn independently of q


def population(rng: np.random.Generator, experiments: int, visitors: int,
               lift: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(impressions, clicked impressions, in treatment) per visitor, one row per experiment;
    visitors are assigned by a fair coin, as the salted hash does."""
    m = rng.geometric(1 / 12, (experiments, visitors))
    q = rng.beta(0.3, 3, (experiments, visitors))
    treated = rng.random((experiments, visitors)) < 0.5
    q = np.where(treated, np.minimum(1.0, q * (1 + lift)), q)
    return m, rng.binomial(m, q), treated


def arms(m: np.ndarray, k: np.ndarray, treated: np.ndarray) -> tuple[delta.Ratio, delta.Ratio]:
    return delta.ratio(k[~treated], m[~treated]), delta.ratio(k[treated], m[treated])


def test_aa_experiments_look_like_aa_experiments() -> None:
    m, k, treated = population(np.random.default_rng(20261201), 1000, 4000)
    false_pos = srm_alarms = naive_pos = covered = 0
    for e in range(m.shape[0]):
        c, t = arms(m[e], k[e], treated[e])
        false_pos += delta.lift(c, t, Z).p_value < 0.05
        low, high = delta.interval(c, Z)
        covered += low <= MEAN_CTR <= high
        visitors = {"control": int((~treated[e]).sum()), "treatment": int(treated[e].sum())}
        _, p_srm = stats.sample_ratio_p(visitors, {"control": 0.5, "treatment": 0.5})
        srm_alarms += p_srm < 0.001
        naive_pos += stats.two_proportion_p(int(t.num), int(t.den), int(c.num),
                                            int(c.den)) < 0.05
    runs = m.shape[0]
    assert 0.03 <= false_pos / runs <= 0.07
    assert srm_alarms / runs <= 0.01
    assert 0.93 <= covered / runs <= 0.97
    # The same experiments analysed per impression: the miscalibration this replaces.
    assert naive_pos / runs > 0.25


def test_a_true_lift_is_found_with_the_planned_sample() -> None:
    rng = np.random.default_rng(7)
    pilot_m, pilot_k, _ = population(rng, 1, 20_000)
    design = plan.design_from(pilot_k[0], pilot_m[0])
    need = plan.visitors_needed(MEAN_CTR, 0.10, power=0.8, alpha=0.05,
                                impressions_per_visitor=design.impressions_per_visitor,
                                icc=design.icc, weighted_size=design.weighted_size)
    assert need.design_effect > 3  # heavy, correlated readers: far fewer effective impressions
    m, k, treated = population(rng, 300, 2 * need.visitors, lift=0.10)
    found = 0
    for e in range(m.shape[0]):
        d = delta.lift(*arms(m[e], k[e], treated[e]), Z)
        found += d.p_value < 0.05 and d.low > 0
    # Planned for 80%; the binomial noise of 300 runs is about 2.3 points.
    assert 0.72 <= found / m.shape[0] <= 0.88
    # Sized as if impressions were independent, the same experiment is badly underpowered.
    naive = math.ceil(need.impressions / design.impressions_per_visitor)
    m, k, treated = population(rng, 300, 2 * naive, lift=0.10)
    weak = sum(delta.lift(*arms(m[e], k[e], treated[e]), Z).p_value < 0.05
               for e in range(m.shape[0]))
    assert weak / m.shape[0] < 0.5


@pytest.mark.parametrize("seed", [1, 2])
def test_delta_method_agrees_with_a_cluster_bootstrap(seed: int) -> None:
    m, k, treated = population(np.random.default_rng(seed), 1, 3000, lift=0.2)
    m, k, treated = m[0], k[0], treated[0]
    c, t = arms(m, k, treated)
    rng = np.random.default_rng(seed + 100)
    bc = delta.bootstrap(k[~treated], m[~treated], 2000, rng)
    bt = delta.bootstrap(k[treated], m[treated], 2000, rng)
    assert c.se == pytest.approx(bc.se, rel=0.1)
    assert t.se == pytest.approx(bt.se, rel=0.1)
    d = delta.lift(c, t, Z)
    low, high = delta.bootstrap_lift(bc, bt).interval(0.95)
    width = d.high - d.low
    assert abs(low - d.low) < 0.15 * width and abs(high - d.high) < 0.15 * width


def test_one_impression_per_visitor_is_the_binomial_variance() -> None:
    k = np.array([1] * 30 + [0] * 70)
    est = delta.ratio(k, np.ones_like(k))
    # With one impression each the visitors are the coin flips (sample variance: n - 1).
    assert est.value == pytest.approx(0.3)
    assert est.variance == pytest.approx(0.3 * 0.7 / 99)


def test_degenerate_inputs_give_nan_not_errors() -> None:
    assert math.isnan(delta.ratio([], []).value)
    assert math.isnan(delta.ratio([1], [3]).variance)
    assert math.isnan(delta.interval(delta.ratio([1], [3]), Z)[0])
    none = delta.ratio([0, 0, 0], [2, 3, 1])
    some = delta.ratio([1, 0, 2], [2, 3, 4])
    d = delta.lift(none, some, Z)  # control without clicks: no ratio, a difference test
    assert math.isnan(d.lift) and 0 < d.p_value < 1
    assert delta.lift(none, none, Z).p_value == 1.0
    assert math.isnan(delta.bootstrap([], [], 10, np.random.default_rng(0)).se)
