"""The report's statistics against textbook values and simple invariants."""

from __future__ import annotations

import math

import pytest

from recommender.analysis import stats


def test_wilson_matches_published_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857, table I: 81/263 -> 0.2553 to 0.3662.
    low, high = stats.wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    low, high = stats.wilson(0, 10)
    assert low == 0.0 and round(high, 4) == 0.2775
    assert all(math.isnan(x) for x in stats.wilson(0, 0))


def test_wider_confidence_gives_wider_interval() -> None:
    narrow = stats.wilson(30, 100, stats.z_for(0.9))
    wide = stats.wilson(30, 100, stats.z_for(0.99))
    assert wide[0] < narrow[0] < 0.3 < narrow[1] < wide[1]


def test_two_proportion_test() -> None:
    assert stats.two_proportion_p(50, 100, 50, 100) == pytest.approx(1.0)
    # 60/100 vs 40/100: z = 2.828, two-sided p = 0.00468
    assert stats.two_proportion_p(60, 100, 40, 100) == pytest.approx(0.00468, abs=1e-4)
    assert stats.two_proportion_p(60, 100, 40, 100) == stats.two_proportion_p(40, 100, 60, 100)
    assert stats.two_proportion_p(0, 10, 0, 10) == 1.0


def test_sample_ratio_mismatch() -> None:
    _, ok = stats.sample_ratio_p({"a": 5010, "b": 4990}, {"a": 0.5, "b": 0.5})
    _, bad = stats.sample_ratio_p({"a": 5300, "b": 4700}, {"a": 0.5, "b": 0.5})
    _, uneven = stats.sample_ratio_p({"a": 9000, "b": 1000}, {"a": 0.9, "b": 0.1})
    assert ok > 0.5 and uneven > 0.5 and bad < 1e-6


def test_preference_sign_test() -> None:
    assert stats.preference_p(50, 50) == pytest.approx(1.0)
    assert stats.preference_p(70, 30) < 0.001
    assert math.isnan(stats.preference_p(0, 0))
