"""benchmarks.quality.choose: the rule's value from the tune halves, vetoed by the sample."""

from benchmarks import quality
from benchmarks.quality_parts import PartFigures


def _fig(precision: float, unrelated: float) -> PartFigures:
    return PartFigures(precision, 0.0, 1.0, precision, unrelated, 0.0)


def _point(corpus: str, settings: dict, tune: tuple[float, float],
           whole: float | None = None) -> quality.SweepPoint:
    figs = {"tune": _fig(*tune), "held-out": _fig(*tune),
            "whole": _fig(tune[0] if whole is None else whole, tune[1])}
    return quality.SweepPoint(corpus, settings, figs)


KEY = quality.RULE_KEY


def test_fewest_unrelated_within_tolerance_then_the_sample_vetoes() -> None:
    points = [_point("wiki", {KEY: 0.0}, (0.50, 0.8)),
              _point("wiki", {KEY: 0.4}, (0.499, 0.7)),
              _point("wiki", {KEY: 0.5}, (0.498, 0.6)),
              _point("wiki", {KEY: 0.6}, (0.40, 0.3))]  # too costly
    assert quality.choose(points) == 0.5
    sample = [_point("sample", quality.BEFORE, (0.95, 0.2), whole=0.95),
              _point("sample", {KEY: 0.4}, (0.96, 0.1), whole=0.96),
              _point("sample", {KEY: 0.5}, (0.94, 0.05), whole=0.94)]
    assert quality.choose(points + sample, checks=["sample"]) == 0.4
    # The sample never picks: without a tuning corpus there is no choice.
    assert quality.choose(sample, checks=["sample"]) is None


def test_each_bar_is_chosen_on_the_corpora_it_was_swept_on() -> None:
    other = quality.SECTIONLESS_KEY
    points = [_point("wiki", {KEY: 0.0}, (0.5, 0.8)), _point("wiki", {KEY: 0.4}, (0.5, 0.7)),
              _point("reuters", {other: 0.0}, (0.76, 0.49)),
              _point("reuters", {other: 0.2}, (0.758, 0.48)),
              _point("reuters", {other: 0.3}, (0.75, 0.47))]
    assert quality.choose(points, key=KEY) == 0.4
    assert quality.choose(points, key=other) == 0.2
