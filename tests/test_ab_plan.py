"""Sample sizes: the two-proportion size against the textbook formula, the design effect
measured from visitors, and `recommender ab plan` with and without a past experiment."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats as sps

from recommender.analysis import fetch_counts, plan
from recommender.cli import main
from recommender.events import EventStore


def textbook(p1: float, p2: float, power: float, alpha: float) -> float:
    # Fleiss, Statistical Methods for Rates and Proportions, unpooled normal approximation.
    z = sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power)
    return z * z * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2


def test_independent_impressions_need_the_textbook_sample() -> None:
    got = plan.visitors_needed(0.05, 0.05, power=0.8, alpha=0.05)
    assert got.visitors == got.impressions
    assert got.impressions == pytest.approx(textbook(0.0525, 0.05, 0.8, 0.05), rel=0.01)
    stricter = plan.visitors_needed(0.05, 0.05, power=0.9, alpha=0.01)
    assert stricter.visitors > 1.4 * got.visitors
    assert plan.visitors_needed(0.05, -0.05).visitors > 0  # a drop is as detectable


def test_design_effect_scales_visitors() -> None:
    flat = plan.visitors_needed(0.05, 0.1, impressions_per_visitor=10, icc=0.0)
    assert flat.visitors == math.ceil(flat.impressions / 10)
    clustered = plan.visitors_needed(0.05, 0.1, impressions_per_visitor=10, icc=0.1)
    assert clustered.design_effect == pytest.approx(1.9)
    assert clustered.visitors == math.ceil(flat.impressions * 1.9 / 10)
    # Unequal readers: the size-weighted mean m0 enters the design effect.
    uneven = plan.visitors_needed(0.05, 0.1, impressions_per_visitor=10, icc=0.1,
                                  weighted_size=19)
    assert uneven.design_effect == pytest.approx(2.8)
    for bad in [dict(baseline_ctr=0, mde=0.1), dict(baseline_ctr=0.5, mde=1.0),
                dict(baseline_ctr=0.05, mde=0.0)]:
        with pytest.raises(ValueError):
            plan.visitors_needed(**bad)  # type: ignore[arg-type]


def test_measured_correlation_matches_the_simulated_one() -> None:
    rng = np.random.default_rng(3)
    m = rng.geometric(1 / 12, 30_000)
    q = rng.beta(0.3, 3, 30_000)
    design = plan.design_from(rng.binomial(m, q), m)
    # Beta(a, b) propensities: correlation of two clicks of one visitor = 1 / (a + b + 1).
    assert design.icc == pytest.approx(1 / 4.3, abs=0.03)
    assert design.weighted_size == pytest.approx(float((m * m).sum() / m.sum()))
    same = plan.design_from(rng.binomial(m, 0.09), m)  # everyone alike: independent clicks
    assert abs(same.icc) < 0.01 and same.design_effect == pytest.approx(1, abs=0.1)
    with pytest.raises(ValueError):
        plan.design_from([0, 0], [3, 4])


def _past_experiment(url: str) -> None:
    rng = np.random.default_rng(5)
    rows = []
    for v in range(300):
        q = rng.beta(0.5, 4)
        for i in range(int(rng.geometric(1 / 6))):
            imp = f"i{v}-{i}"
            base = {"impression_id": imp, "experiment": "past", "variant": "control",
                    "team": None, "forced": False, "source_article_id": "s", "article_id": "a",
                    "position": 1, "visitor": f"v{v}", "served_at": 1e9 + i, "ts": 1e9 + i,
                    "received_at": 1e9 + 3600 * i}
            rows.append({"type": "served", **base})
            if rng.random() < q:
                rows.append({"type": "clicked", **base})
    EventStore(url).write(rows)


def test_cli_plan(tmp_path: Path) -> None:
    runner = CliRunner()
    plain = runner.invoke(main, ["ab", "plan", "--baseline-ctr", "0.05", "--mde", "0.05"])
    assert plain.exit_code == 0, plain.output
    expected = plan.visitors_needed(0.05, 0.05).visitors
    assert f"Visitors needed per variant: {expected:,}" in plain.output

    url = "sqlite:///" + str(tmp_path / "ev.sqlite3")
    _past_experiment(url)
    past = runner.invoke(main, ["ab", "plan", "--baseline-ctr", "0.05", "--mde", "0.05",
                                "--experiment", "past", "--events-url", url])
    assert past.exit_code == 0, past.output
    totals = fetch_counts(EventStore(url), "past", None, None).per_visitor["control"]
    design = plan.design_from(totals.clicked, totals.impressions)
    need = plan.visitors_needed(0.05, 0.05, impressions_per_visitor=design.
                                impressions_per_visitor, icc=design.icc,
                                weighted_size=design.weighted_size)
    assert f"Visitors needed per variant: {need.visitors:,}" in past.output
    assert "from experiment past: 300 visitors" in past.output
    assert need.visitors != expected


@pytest.mark.parametrize(("args", "option"), [
    (["--mde", "0.05"], "--baseline-ctr"),
    (["--baseline-ctr", "0.05", "--mde", "0"], "--mde"),
    (["--baseline-ctr", "1.5", "--mde", "0.1"], "--baseline-ctr"),
    (["--baseline-ctr", "0.05", "--mde", "0.1", "--power", "2"], "--power"),
    (["--baseline-ctr", "0.05", "--mde", "0.1", "--icc", "-0.1"], "--icc"),
    (["--baseline-ctr", "0.05", "--mde", "0.1", "--experiment", "x", "--icc", "0.1"], "--icc"),
])
def test_cli_plan_errors_name_the_option(args: list[str], option: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["ab", "plan", *args, "--models", str(tmp_path)])
    assert result.exit_code == 2 and option in result.output, result.output
    assert "Traceback" not in result.output


def test_cli_plan_without_events_is_a_clear_error(tmp_path: Path) -> None:
    url = "sqlite:///" + str(tmp_path / "empty.sqlite3")
    result = CliRunner().invoke(main, ["ab", "plan", "--mde", "0.05", "--experiment", "gone",
                                       "--events-url", url])
    assert result.exit_code == 2 and "--experiment" in result.output
    assert "no visitors" in result.output
